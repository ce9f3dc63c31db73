/**
 * Writes the JSON Schemas the chart tests validate rendered objects against (charts/test/schemas/), from upstream
 * sources listed in charts/test/schemas/SOURCES.md:
 *
 *   tsx scripts/vendor-chart-schemas.ts --kubernetes <swagger.json> <crd.yaml>...
 *
 * Kubernetes: the definitions reachable from the kinds the chart renders (KINDS below), descriptions dropped.
 * CRDs: each served version's openAPIV3Schema, descriptions and CEL rules dropped. Both are made strict the way the
 * API server (field validation "Strict", kubectl's default) treats objects: an object schema that lists its
 * properties rejects any other field unless it says `x-kubernetes-preserve-unknown-fields`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

const out = path.resolve(__dirname, '..', 'charts', 'test', 'schemas');

/** The built-in kinds the chart may render; a rendered kind missing here fails the chart test. */
const KINDS = [
  'io.k8s.api.apps.v1.Deployment',
  'io.k8s.api.apps.v1.StatefulSet',
  'io.k8s.api.batch.v1.Job',
  'io.k8s.api.core.v1.ConfigMap',
  'io.k8s.api.core.v1.Secret',
  'io.k8s.api.core.v1.Service',
  'io.k8s.api.core.v1.ServiceAccount',
  'io.k8s.api.core.v1.PersistentVolumeClaim',
  'io.k8s.api.networking.v1.Ingress',
  'io.k8s.api.networking.v1.NetworkPolicy',
  'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
  'io.k8s.api.policy.v1.PodDisruptionBudget',
  'io.k8s.api.rbac.v1.Role',
  'io.k8s.api.rbac.v1.RoleBinding',
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
];

/** Drops descriptions, CEL rules and other annotations that do not constrain; makes listed-property objects strict. */
function tighten(node: Json, inPropertiesMap = false): Json {
  if (Array.isArray(node)) return node.map((n) => tighten(n));
  if (node === null || typeof node !== 'object') return node;
  const res: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    if (inPropertiesMap) {
      res[k] = tighten(v);
      continue;
    }
    if (k === 'description' && typeof v === 'string') continue;
    if (k === 'x-kubernetes-validations' || k === 'x-kubernetes-list-map-keys' || k === 'x-kubernetes-list-type') continue;
    if (k === 'x-kubernetes-map-type' || k === 'x-kubernetes-patch-merge-key' || k === 'x-kubernetes-patch-strategy') continue;
    if (k === 'x-kubernetes-group-version-kind' || k === 'x-kubernetes-unions' || k === 'x-kubernetes-embedded-resource') continue;
    res[k] = tighten(v, k === 'properties' || k === 'definitions' || k === 'patternProperties');
  }
  if (inPropertiesMap) return res;
  if (res['x-kubernetes-int-or-string'] === true) {
    delete res['x-kubernetes-int-or-string'];
    if (!res.anyOf && !res.oneOf) res.type = ['integer', 'string'];
  }
  const preserve = res['x-kubernetes-preserve-unknown-fields'] === true;
  delete res['x-kubernetes-preserve-unknown-fields'];
  if (res.properties && res.additionalProperties === undefined && !preserve) res.additionalProperties = false;
  return res;
}

function refsOf(node: Json, acc: Set<string>): void {
  if (Array.isArray(node)) node.forEach((n) => refsOf(n, acc));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') acc.add(v.replace('#/definitions/', ''));
      else refsOf(v, acc);
    }
  }
}

function vendorKubernetes(file: string): string {
  const swagger = JSON.parse(readFileSync(file, 'utf8')) as { definitions: Record<string, Schema>; info: Json };
  const keep = new Set<string>();
  const queue = [...KINDS];
  while (queue.length) {
    const name = queue.pop()!;
    if (keep.has(name)) continue;
    const def = swagger.definitions[name];
    if (!def) throw new Error(`no definition ${name} in ${file}`);
    keep.add(name);
    const refs = new Set<string>();
    refsOf(def, refs);
    queue.push(...refs);
  }
  const definitions: Record<string, Json> = {};
  const kinds: Record<string, string> = {};
  for (const name of [...keep].sort()) {
    const def = swagger.definitions[name]!;
    for (const gvk of (def['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined) ?? []) {
      if (KINDS.includes(name)) kinds[`${gvk.group ? `${gvk.group}/` : ''}${gvk.version}/${gvk.kind}`] = name;
    }
    definitions[name] = tighten(def);
  }
  // Kubernetes encodes these as strings with a format; YAML gives numbers for `port: 8080` and `cpu: 1`.
  definitions['io.k8s.apimachinery.pkg.util.intstr.IntOrString'] = { type: ['integer', 'string'] };
  definitions['io.k8s.apimachinery.pkg.api.resource.Quantity'] = { type: ['string', 'number'] };
  const target = path.join(out, 'kubernetes.json');
  writeFileSync(target, JSON.stringify({ kinds, definitions }) + '\n');
  return `${target}: ${Object.keys(kinds).length} kinds, ${keep.size} definitions`;
}

interface Crd {
  spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema?: { openAPIV3Schema: Schema } }[] };
}

function vendorCrd(file: string): string[] {
  const crd = yaml.load(readFileSync(file, 'utf8')) as Crd;
  return crd.spec.versions
    .filter((v) => v.served && v.schema)
    .map((v) => {
      const schema = tighten(v.schema!.openAPIV3Schema) as Schema;
      // metadata is validated against the built-in ObjectMeta; status is never rendered by a chart
      const props = schema.properties as Schema;
      props.metadata = { type: 'object' };
      delete props.status;
      const target = path.join(out, 'crds', `${crd.spec.group}_${v.name}_${crd.spec.names.kind}.json`);
      writeFileSync(target, JSON.stringify(schema) + '\n');
      return target;
    });
}

function main(args: string[]) {
  const k8sAt = args.indexOf('--kubernetes');
  if (k8sAt < 0 || !args[k8sAt + 1]) throw new Error('usage: vendor-chart-schemas.ts --kubernetes <swagger.json> <crd.yaml>...');
  console.log(vendorKubernetes(args[k8sAt + 1]!));
  const crds = args.filter((_, i) => i !== k8sAt && i !== k8sAt + 1);
  for (const f of crds) for (const t of vendorCrd(f)) console.log(t);
}

if (require.main === module) main(process.argv.slice(2));
