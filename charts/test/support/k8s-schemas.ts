import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';

/** A rendered Kubernetes object (what `helm template` prints, one YAML document). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

const schemasDir = path.join(__dirname, '..', 'schemas');

/**
 * Validates objects against the vendored Kubernetes 1.36 and CRD schemas (charts/test/schemas, strict about unknown
 * fields). An object whose apiVersion/kind has no schema is an error, so nothing passes unvalidated.
 */
export class K8sSchemas {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: goRegExp } });
  private readonly byKind = new Map<string, ValidateFunction>();
  private readonly objectMeta: ValidateFunction;

  constructor() {
    const k8s = JSON.parse(readFileSync(path.join(schemasDir, 'kubernetes.json'), 'utf8')) as { kinds: Record<string, string>; definitions: object };
    this.ajv.addSchema({ $id: 'k8s', definitions: k8s.definitions });
    for (const [gvk, def] of Object.entries(k8s.kinds)) this.byKind.set(gvk, this.ajv.compile({ $ref: `k8s#/definitions/${def}` }));
    this.objectMeta = this.ajv.compile({ $ref: 'k8s#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' });
    for (const file of readdirSync(path.join(schemasDir, 'crds'))) {
      const [group, version, kind] = path.basename(file, '.json').split('_');
      const schema = JSON.parse(readFileSync(path.join(schemasDir, 'crds', file), 'utf8')) as object;
      this.byKind.set(`${group}/${version}/${kind}`, this.ajv.compile(schema));
    }
  }

  /** Kinds this validator knows, as `apiVersion/kind`. */
  get kinds(): string[] {
    return [...this.byKind.keys()];
  }

  /** Problems of one object, each as `<kind>/<name><path>: <message>`; empty when valid. */
  validate(obj: K8sObject): string[] {
    const where = `${obj.kind}/${obj.metadata?.name ?? '?'}`;
    const validate = this.byKind.get(`${obj.apiVersion}/${obj.kind}`);
    if (!validate) return [`${where}: no schema for ${obj.apiVersion} ${obj.kind}`];
    const problems: string[] = [];
    if (!validate(obj)) problems.push(...format(where, '', validate.errors));
    if (!this.objectMeta(obj.metadata)) problems.push(...format(where, '/metadata', this.objectMeta.errors));
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(obj.metadata?.name ?? '')) problems.push(`${where}: metadata.name is not a DNS subdomain`);
    return problems;
  }
}

/** CRD patterns are Go (RE2) expressions: an inline `(?i)` means case-insensitive, which JavaScript says as a flag. */
function goRegExp(source: string, flags: string): RegExp {
  return source.includes('(?i)') ? new RegExp(source.replaceAll('(?i)', ''), `${flags}i`) : new RegExp(source, flags);
}
goRegExp.code = 'goRegExp';

function format(where: string, prefix: string, errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
    return `${where}${prefix}${e.instancePath}: ${e.message ?? e.keyword}${extra}`;
  });
}
