import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';
import type { RawRecord } from './types';
import type { RunnerMetrics } from './consumer-runner';

export interface BusMetricsOptions {
  /** Defaults to prom-client's global registry. */
  registry?: Registry;
}

export interface BusMetrics extends RunnerMetrics {
  published(records: RawRecord[]): void;
  /** Reports the outbox's backlog when scraped (one count query per scrape, none while nobody scrapes). */
  watchOutbox(count: () => Promise<number>): void;
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
  const age =
    (registry.getSingleMetric('bus_event_age_seconds') as Histogram | undefined) ??
    new Histogram({
      name: 'bus_event_age_seconds',
      help: 'Time from an event being produced (occurredAt) to its handler committing, per topic and consumer group: the latency of each saga stage',
      labelNames: ['topic', 'group'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  let outboxCount: (() => Promise<number>) | undefined;
  if (!registry.getSingleMetric('bus_outbox_backlog')) {
    new Gauge({
      name: 'bus_outbox_backlog',
      help: 'Events in the outbox not yet acknowledged by Kafka',
      registers: [registry],
      async collect() {
        if (outboxCount) this.set(await outboxCount().catch(() => -1));
      },
    });
  }
  return {
    published(records) {
      const byTopic = new Map<string, number>();
      for (const r of records) byTopic.set(r.topic, (byTopic.get(r.topic) ?? 0) + 1);
      for (const [topic, n] of byTopic) published.inc({ topic }, n);
    },
    handled: (topic, n) => handled.inc({ topic }, n),
    aged: (topic, group, seconds) => age.observe({ topic, group }, seconds),
    watchOutbox: (count) => {
      outboxCount = count;
    },
    retried: (topic) => retried.inc({ topic }),
    deadLettered: (topic, reason, n) => dead.inc({ topic, reason }, n),
  };
}
