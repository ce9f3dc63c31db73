/**
 * The alerts (PrometheusRule) and the Grafana dashboard must query metrics that exist: every metric they name is
 * either exported by the services' code (its name appears as a string literal in a src/ folder), a standard metric of
 * prom-client or of a component the chart deploys (Kafka Exporter, CloudNativePG, kube-state-metrics), or one of the
 * metrics issue 12 announces, which the rules and the dashboard mark as PLANNED.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { byKind, chartDir, productionValues, render } from './support/helm';
import type { K8sObject } from './support/k8s-schemas';

const root = path.resolve(__dirname, '..', '..');

const fromComponents = [
  /^kafka_consumergroup_lag$/, // Strimzi Kafka Exporter
  /^kafka_brokers$/,
  /^cnpg_/, // CloudNativePG exporter, incl. the chart's own outbox query (cnpg_devicesaga_outbox_*)
  /^kube_/, // kube-state-metrics
  /^up$/,
  /^(process|nodejs)_/, // prom-client default metrics (collectDefaultMetrics in createMetrics)
  /^http_request_duration_seconds$/, // createHttpApp, packages/platform/src/metrics.ts
];
const planned = ['saga_stage_seconds', 'kafka_consumer_lag', 'ws_connections'];

function sourceText(): string {
  const dirs = readdirSync(root)
    .map((d) => path.join(root, d, 'src'))
    .concat(path.join(root, 'packages', 'platform', 'src'));
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  for (const d of dirs) {
    try {
      if (statSync(d).isDirectory()) walk(d);
    } catch {
      // a folder without src/
    }
  }
  return files.map((f) => readFileSync(f, 'utf8')).join('\n');
}

/** Metric names in PromQL: every query here selects by namespace, so a name is what stands before `{`. */
function metricNames(promql: string[]): Set<string> {
  const names = new Set<string>();
  for (const q of promql) for (const m of q.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)) names.add(m[1]!.replace(/_(bucket|count|sum)$/, ''));
  return names;
}

describe('metric names in the alerts and the dashboard', () => {
  const objects = render({ valuesFiles: [productionValues] });
  const rule = [...byKind<K8sObject & { spec: { groups: { name: string; rules: { alert: string; expr: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] } }>(objects, 'PrometheusRule').values()][0]!;
  const alerts = rule.spec.groups.flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name })));
  const dashboard = JSON.parse(readFileSync(path.join(chartDir, 'dashboards', 'devicesaga.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
  const panels = dashboard.panels.filter((p) => p.targets);
  const code = sourceText();

  it('every metric is exported by the code, by a deployed component, or announced as planned', () => {
    const names = metricNames([...alerts.map((a) => a.expr), ...panels.flatMap((p) => p.targets!.map((t) => t.expr))]);
    expect(names.size).toBeGreaterThan(15);
    const unknown = [...names].filter((n) => !fromComponents.some((re) => re.test(n)) && !planned.includes(n) && !code.includes(`'${n}'`));
    expect(unknown).toEqual([]);
    // the service metrics really are found in the code (the check above is not vacuous)
    for (const n of ['saga_stuck_total', 'bus_messages_dead_lettered_total', 'adapter_telemetry_dropped_total']) expect(code).toContain(`'${n}'`);
  });

  it('marks alerts and panels on planned metrics as planned', () => {
    for (const a of alerts) if (planned.some((p) => a.expr.includes(p))) expect(a.labels.planned).toBe('true');
    for (const p of panels) if (p.targets!.some((t) => planned.some((m) => t.expr.includes(m)))) expect(p.title).toContain('PLANNED');
  });

  it('alerts on consumer lag, outbox backlog, DLQ growth, STUCK sagas, WebSocket drops, broker and database down', () => {
    const names = alerts.map((a) => a.alert);
    for (const a of [
      'DevicesagaConsumerLagHigh',
      'DevicesagaOutboxBacklog',
      'DevicesagaDeadLetters',
      'DevicesagaSagaStuck',
      'DevicesagaWebSocketDrop',
      'DevicesagaKafkaBrokersMissing',
      'DevicesagaPostgresDown',
      'DevicesagaWalArchivingStale',
    ]) {
      expect(names).toContain(a);
    }
    const runbook = readFileSync(path.join(root, 'docs', 'runbook.md'), 'utf8');
    for (const a of alerts) {
      const anchor = /#([a-z0-9-]+)$/.exec(a.annotations.runbook_url ?? '')?.[1];
      expect({ alert: a.alert, anchor, inRunbook: anchor !== undefined && runbook.includes(`<a id="${anchor}"></a>`) }).toEqual({ alert: a.alert, anchor, inRunbook: true });
    }
  });
});
