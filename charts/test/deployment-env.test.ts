/**
 * Docker does not run here, so the deployment files are kept honest by reading them: for every platform service
 * (scripts/stack/services.ts), the Helm chart and the root docker-compose.yml must run it, on its port, with every
 * environment variable its configuration schema requires — the list is derived from the services' own zod schemas,
 * and the environment each file gives is parsed by that schema exactly as the service does at start-up.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { services } from '../../scripts/stack/services';
import { byKind, render } from './support/helm';
import type { K8sObject } from './support/k8s-schemas';
import { serviceConfig } from './support/service-config';

const root = path.resolve(__dirname, '..', '..');
const fullname = 'ds-devicesaga';
const SECRET = 'secret-from-a-kubernetes-secret-0123456789';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
}
interface Container {
  ports: { containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string } }[];
}
type Workload = K8sObject & { spec: { template: { spec: { containers: Container[] } } } };

/** The environment a chart container gets: its ConfigMaps, its values, a stand-in for each Secret and field. */
function chartEnvironment(objects: K8sObject[], container: Container): Record<string, string> {
  const maps = byKind<K8sObject & { data: Record<string, string> }>(objects, 'ConfigMap');
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const map = maps.get(from.configMapRef?.name ?? '');
    if (!map) throw new Error(`envFrom names a ConfigMap the chart does not render: ${from.configMapRef?.name}`);
    Object.assign(env, map.data);
  }
  for (const v of container.env ?? []) {
    if (v.value !== undefined) env[v.name] = v.value.replace(/\$\((\w+)\)/g, (_, ref: string) => env[ref] ?? '');
    else if (v.valueFrom?.secretKeyRef) env[v.name] = SECRET;
    else if (v.valueFrom?.fieldRef) env[v.name] = 'devicesaga-adapter-0';
  }
  return env;
}

interface ComposeService {
  build?: { args?: Record<string, string> };
  environment?: Record<string, string>;
  ports?: string[];
}

/** `${VAR:-default}` as compose resolves it with VAR unset. */
function interpolate(value: unknown): string {
  return String(value).replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, _name: string, fallback?: string) => fallback ?? SECRET);
}

const compose = yaml.load(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as { include?: string[]; services: Record<string, ComposeService> };
const infraCompose = yaml.load(readFileSync(path.join(root, 'infra', 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };
const objects = render();
const workloads = new Map([...byKind<Workload>(objects, 'Deployment'), ...byKind<Workload>(objects, 'StatefulSet')]);

describe.each(services.map((s) => [s.name, s] as const))('%s in the chart and in docker-compose.yml', (name, spec) => {
  const config = serviceConfig(name, spec.port!);
  const container = workloads.get(`${fullname}-${name}`)?.spec.template.spec.containers[0];
  const composed = compose.services[name];

  it('is deployed by both', () => {
    expect(container).toBeDefined();
    expect(composed).toBeDefined();
  });

  it('gets every variable its configuration requires, and its configuration accepts what it gets', () => {
    const chartEnv = chartEnvironment(objects, container!);
    const composeEnv = Object.fromEntries(Object.entries(composed!.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));
    for (const variable of config.required) {
      expect({ file: 'chart', variable, present: variable in chartEnv }).toEqual({ file: 'chart', variable, present: true });
      expect({ file: 'docker-compose.yml', variable, present: variable in composeEnv }).toEqual({ file: 'docker-compose.yml', variable, present: true });
    }
    for (const env of [chartEnv, composeEnv]) {
      const parsed = config.parse(env);
      expect(parsed.PORT).toBe(spec.port);
      expect(parsed.NODE_ENV).toBe('production');
      if (spec.database) expect(parsed.DATABASE_NAME).toBe(spec.database);
    }
  });

  it('listens on the port the stack gives it, in the pod and in the image', () => {
    expect(container!.ports.map((p) => p.containerPort)).toEqual([spec.port]);
    expect(composed!.build?.args).toEqual({ SERVICE: name, PORT: String(spec.port) });
  });
});

describe('the deployment files as a whole', () => {
  it('derives required variables from the schemas (device-service and adapter need their MQTT secrets)', () => {
    expect(serviceConfig('device-service', 8101).required).toEqual(['MQTT_ADMIN_PASSWORD', 'MQTT_ADMIN_USERNAME']);
    expect(serviceConfig('adapter', 8106).required).toEqual(['MQTT_ADAPTER_PASSWORD']);
  });

  it('names no service the stack does not have, and includes the infrastructure compose file', () => {
    const platform = services.map((s) => s.name).sort();
    expect(Object.keys(compose.services).sort()).toEqual(platform);
    expect(compose.include).toEqual(['infra/docker-compose.yml']);
    expect(Object.keys(infraCompose.services).sort()).toEqual(['kafka', 'mosquitto', 'mosquitto-init', 'mosquitto-provision', 'postgres', 'redis', 'schema-registry']);
    const deployed = [...workloads.keys()].filter((k) => !/-(registry|redis|mosquitto)$/.test(k)).map((k) => k.slice(fullname.length + 1)).sort();
    expect(deployed).toEqual(platform);
  });

  it('points the gateway at every service it proxies, in the chart and in compose', () => {
    const common = byKind<K8sObject & { data: Record<string, string> }>(objects, 'ConfigMap').get(`${fullname}-common`)!.data;
    for (const s of services.filter((x) => x.urlVariable)) {
      expect(common[s.urlVariable!]).toBe(`http://${fullname}-${s.name}:${String(s.port)}`);
      expect(compose.services.gateway!.environment?.[s.urlVariable!]).toBe(`http://${s.name}:${String(s.port)}`);
    }
  });

  it('builds every workspace in the Dockerfile, on the Node major the project pins, as a non-root user with a health check', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[]; devDependencies: Record<string, string> };
    for (const ws of pkg.workspaces) expect(dockerfile).toContain(`COPY ${ws}/package.json ${ws}/`);
    const major = pkg.devDependencies.node!.split('.')[0];
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_IMAGE=node:${major!}[-.]`, 'm'));
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "-e", ".*\/health\/live/m);
    expect(dockerfile).toMatch(/^CMD \["node", "--conditions=devicesaga-compiled", "--enable-source-maps", "dist\/main\.js"\]$/m);
  });
});
