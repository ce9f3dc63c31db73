/**
 * The chart as Kubernetes will see it: `helm lint --strict`, then `helm template` with the default values and with
 * values-production.yaml, every rendered object validated against the Kubernetes 1.36 and Strimzi / CloudNativePG /
 * barman-cloud / prometheus-operator schemas (charts/test/schemas, strict about unknown fields), and the properties
 * the platform needs from each workload checked one by one.
 */
import { services as stackServices } from '../../scripts/stack/services';
import { byKind, helm, chartDir, productionValues, render } from './support/helm';
import { K8sSchemas, type K8sObject } from './support/k8s-schemas';

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  command?: string[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
}
type Workload = K8sObject & {
  spec: {
    strategy?: { type: string; rollingUpdate?: { maxSurge: number; maxUnavailable: number } };
    template: { spec: PodSpec };
  };
};

const schemas = new K8sSchemas();
const fullname = 'ds-devicesaga';
const platformServices = stackServices.map((s) => s.name).sort();

const renders = {
  default: () => render(),
  production: () => render({ valuesFiles: [productionValues] }),
};

describe.each(Object.keys(renders) as (keyof typeof renders)[])('the chart rendered with the %s values', (variant) => {
  const objects = renders[variant]();
  const workloads = new Map([...byKind<Workload>(objects, 'Deployment'), ...byKind<Workload>(objects, 'StatefulSet')]);

  it('passes helm lint --strict', () => {
    const r = helm(['lint', chartDir, '--strict', ...(variant === 'production' ? ['--values', productionValues] : [])]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it('renders only objects that are valid against their Kubernetes or CRD schema', () => {
    expect(objects.length).toBeGreaterThan(60);
    const problems = objects.flatMap((o) => schemas.validate(o));
    expect(problems).toEqual([]);
    // kinds that must be there (a template that renders nothing would otherwise pass)
    const kinds = new Set(objects.map((o) => `${o.apiVersion}/${o.kind}`));
    for (const k of [
      'apps/v1/Deployment',
      'apps/v1/StatefulSet',
      'v1/Service',
      'v1/ConfigMap',
      'v1/Secret',
      'batch/v1/Job',
      'networking.k8s.io/v1/Ingress',
      'autoscaling/v2/HorizontalPodAutoscaler',
      'policy/v1/PodDisruptionBudget',
      'monitoring.coreos.com/v1/ServiceMonitor',
      'monitoring.coreos.com/v1/PrometheusRule',
      'kafka.strimzi.io/v1/Kafka',
      'kafka.strimzi.io/v1/KafkaNodePool',
      'kafka.strimzi.io/v1/KafkaTopic',
      'postgresql.cnpg.io/v1/Cluster',
      'postgresql.cnpg.io/v1/Database',
    ]) {
      expect(kinds).toContain(k);
    }
  });

  it('has a workload, a Service, a PodDisruptionBudget and a ServiceMonitor for every platform service', () => {
    for (const name of platformServices) {
      const id = `${fullname}-${name}`;
      expect(workloads.has(id)).toBe(true);
      expect(byKind(objects, 'Service').has(id)).toBe(true);
      expect(byKind(objects, 'PodDisruptionBudget').has(id)).toBe(true);
      expect(byKind(objects, 'ServiceMonitor').has(id)).toBe(true);
    }
  });

  it('probes /health/live and /health/ready on the service port, with resources and a locked-down security context', () => {
    for (const name of platformServices) {
      const w = workloads.get(`${fullname}-${name}`)!;
      const pod = w.spec.template.spec;
      const c = pod.containers[0]!;
      const port = stackServices.find((s) => s.name === name)!.port;
      expect(c.ports).toEqual([expect.objectContaining({ name: 'http', containerPort: port })]);
      expect(c.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(c.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
      expect(Object.keys(c.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(c.resources?.limits ?? {})).toContain('memory');
      expect(pod.securityContext).toEqual(expect.objectContaining({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }));
      expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    }
  });

  it('rolls Deployments with surge and never below the wanted replicas; the adapter is a StatefulSet (stable MQTT client ids)', () => {
    for (const [id, w] of workloads) {
      if (!platformServices.some((s) => id === `${fullname}-${s}`)) continue;
      if (id.endsWith('-adapter')) {
        expect(w.kind).toBe('StatefulSet');
        continue;
      }
      expect(w.kind).toBe('Deployment');
      expect(w.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    }
  });

  it('scales the gateway, command-service and device-service with HorizontalPodAutoscalers on the right targets', () => {
    const hpas = byKind<K8sObject & { spec: { scaleTargetRef: { kind: string; name: string } } }>(objects, 'HorizontalPodAutoscaler');
    for (const name of ['gateway', 'command-service', 'device-service']) {
      const hpa = hpas.get(`${fullname}-${name}`);
      expect(hpa?.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: `${fullname}-${name}` });
    }
    for (const hpa of hpas.values()) expect(workloads.get(hpa.spec.scaleTargetRef.name)?.kind).toBe(hpa.spec.scaleTargetRef.kind);
  });

  it('runs one migration hook Job per service database, with the service image and its dist/migrate.js', () => {
    const jobs = byKind<K8sObject & { spec: { template: { spec: PodSpec } } }>(objects, 'Job');
    for (const s of stackServices.filter((x) => x.database)) {
      const job = jobs.get(`${fullname}-${s.name}-migrate`);
      expect(job?.metadata.annotations?.['helm.sh/hook']).toBe('post-install,pre-upgrade');
      const c = job!.spec.template.spec.containers[0]!;
      expect(c.image).toMatch(new RegExp(`/${s.name}:`));
      expect(c.command).toEqual(['node', '--conditions=devicesaga-compiled', '--enable-source-maps', 'dist/migrate.js']);
    }
  });

  it('routes / and the WebSocket /ws of the ingress to the gateway', () => {
    const ingress = byKind<K8sObject & { spec: { rules: { http: { paths: { path: string; backend: { service: { name: string } } }[] } }[] } }>(objects, 'Ingress').get(
      `${fullname}-gateway`,
    )!;
    const paths = ingress.spec.rules[0]!.http.paths.map((p) => [p.path, p.backend.service.name]);
    expect(paths).toEqual([
      ['/ws', `${fullname}-gateway`],
      ['/', `${fullname}-gateway`],
    ]);
    expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
  });
});

describe('the validation itself', () => {
  const objects = render();

  it('rejects a misspelt field, a wrong type and an unknown kind (so a clean result means something)', () => {
    const deployment = structuredClone([...byKind<Workload>(objects, 'Deployment').values()][0]!);
    (deployment.spec.template.spec.containers[0] as unknown as Record<string, unknown>).livenesProbe = {};
    const kafka = structuredClone([...byKind(objects, 'Kafka').values()][0]!) as K8sObject & { spec: { kafka: { listeners: { tls: unknown }[] } } };
    kafka.spec.kafka.listeners[0]!.tls = 'no';
    expect(schemas.validate(deployment)).toEqual([expect.stringContaining('must NOT have additional properties (livenesProbe)')]);
    expect(schemas.validate(kafka)).toEqual([expect.stringContaining('/spec/kafka/listeners/0/tls: must be boolean')]);
    expect(schemas.validate({ apiVersion: 'example.com/v1', kind: 'Thing', metadata: { name: 'x' } })).toEqual(['Thing/x: no schema for example.com/v1 Thing']);
  });

  it('with backups on, the Cluster archives WAL through the barman-cloud plugin and a ScheduledBackup runs every 6 hours', () => {
    const prod = render({ valuesFiles: [productionValues] });
    const cluster = [...byKind<K8sObject & { spec: Record<string, unknown> }>(prod, 'Cluster').values()][0]!;
    expect(cluster.spec.plugins).toEqual([expect.objectContaining({ name: 'barman-cloud.cloudnative-pg.io', isWALArchiver: true })]);
    expect((cluster.spec.postgresql as { parameters: Record<string, string> }).parameters.archive_timeout).toBe('5min');
    const scheduled = [...byKind<K8sObject & { spec: Record<string, unknown> }>(prod, 'ScheduledBackup').values()][0]!;
    expect(scheduled.spec).toEqual(expect.objectContaining({ schedule: '0 0 */6 * * *', method: 'plugin' }));
    expect(byKind(prod, 'ObjectStore').size).toBe(1);
  });

  it('a restore drill renders a Cluster bootstrapped from the object store to a point in time', () => {
    const drill = render({
      valuesFiles: [productionValues],
      set: {
        'postgresql.cnpg.recovery.enabled': 'true',
        'postgresql.cnpg.recovery.sourceServerName': 'ds-devicesaga-pg',
        'postgresql.cnpg.recovery.targetTime': '2026-11-01T10:00:00Z',
        'postgresql.cnpg.backup.serverName': 'ds-devicesaga-pg-restored-1',
      },
    });
    expect(drill.flatMap((o) => schemas.validate(o))).toEqual([]);
    const cluster = [...byKind<K8sObject & { spec: Record<string, unknown> }>(drill, 'Cluster').values()][0]!;
    expect(cluster.spec.bootstrap).toEqual({ recovery: { source: 'origin', recoveryTarget: { targetTime: '2026-11-01T10:00:00Z' } } });
    expect(cluster.spec.externalClusters).toEqual([
      { name: 'origin', plugin: { name: 'barman-cloud.cloudnative-pg.io', parameters: { barmanObjectName: 'ds-devicesaga-pg-backups', serverName: 'ds-devicesaga-pg' } } },
    ]);
    const [archiver] = cluster.spec.plugins as { parameters: Record<string, string> }[];
    expect(archiver?.parameters.serverName).toBe('ds-devicesaga-pg-restored-1');
  });

  it('with external Kafka, PostgreSQL, registry, Redis and MQTT it renders no operator resources and points the services there', () => {
    const external = render({
      set: {
        'kafka.mode': 'external',
        'kafka.external.bootstrapServers': 'kafka-1.example:9092\\,kafka-2.example:9092',
        'postgresql.mode': 'external',
        'postgresql.external.host': 'pg.example',
        'postgresql.external.existingSecrets.gateway': 'gw-db',
        'postgresql.external.existingSecrets.command-service': 'cmd-db',
        'postgresql.external.existingSecrets.device-service': 'dev-db',
        'postgresql.external.existingSecrets.adapter': 'adp-db',
        'postgresql.external.existingSecrets.alarm-service': 'alm-db',
        'registry.mode': 'external',
        'redis.mode': 'external',
        'mqtt.mode': 'external',
        'mqtt.existingSecret': 'mqtt-creds',
      },
    });
    expect(external.flatMap((o) => schemas.validate(o))).toEqual([]);
    const kinds = new Set(external.map((o) => o.kind));
    for (const k of ['Kafka', 'KafkaTopic', 'KafkaUser', 'Cluster', 'Database', 'ObjectStore']) expect(kinds).not.toContain(k);
    // no Mosquitto, Redis or registry of its own: the adapter is the one StatefulSet, the services the only Deployments
    expect([...byKind(external, 'StatefulSet').keys()]).toEqual([`${fullname}-adapter`]);
    expect([...byKind(external, 'Deployment').keys()].sort()).toEqual(platformServices.filter((s) => s !== 'adapter').map((s) => `${fullname}-${s}`));
    const common = byKind<K8sObject & { data: Record<string, string> }>(external, 'ConfigMap').get(`${fullname}-common`)!;
    expect(common.data).toEqual(expect.objectContaining({ KAFKA_BROKERS: 'kafka-1.example:9092,kafka-2.example:9092', DATABASE_HOST: 'pg.example' }));
    const jobs = byKind(external, 'Job');
    expect(jobs.get(`${fullname}-gateway-migrate`)?.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
  });
});
