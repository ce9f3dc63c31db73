import { Counter, register as globalRegistry, type Registry } from 'prom-client';
import type { RawRecord } from './types';
import type { RunnerMetrics } from './consumer-runner';

export interface BusMetricsOptions {
  /** Defaults to prom-client's global registry. */
  registry?: Registry;
}

export interface BusMetrics extends RunnerMetrics {
  published(records: RawRecord[]): void;
}

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/** Counters of the bus: records published, messages handled, retries, dead-lettered messages. */
export function createBusMetrics(options: BusMetricsOptions): BusMetrics {
  const registry = options.registry ?? globalRegistry;
  const published = counter(registry, 'bus_messages_published_total', 'Records sent to Kafka by the bus', ['topic']);
  const handled = counter(registry, 'bus_messages_handled_total', 'Messages handled and committed', ['topic']);
  const retried = counter(registry, 'bus_handler_retries_total', 'Handler attempts that failed and were retried', ['topic']);
  const dead = counter(registry, 'bus_messages_dead_lettered_total', 'Messages sent to a DLQ', ['topic', 'reason']);
  return {
    published(records) {
      const byTopic = new Map<string, number>();
      for (const r of records) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + 1);
      for (const [topic, n] of byTopic) published.inc({ topic }, n);
    },
    handled: (topic, n) => handled.inc({ topic }, n),
    retried: (topic) => retried.inc({ topic }),
    deadLettered: (topic, reason, n) => dead.inc({ topic, reason }, n),
  };
}
