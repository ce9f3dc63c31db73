import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from '@devicesaga/platform';
import type { DeviceEdge } from './edge';

const sizes = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** Batch-size histograms, observed by the edge as batches are recorded. */
export function batchObservers(metrics: Metrics) {
  const replyBatch = new Histogram({ name: 'adapter_reply_batch_size', help: 'Device replies recorded per transaction', buckets: sizes, registers: [metrics.registry] });
  const telemetryBatch = new Histogram({ name: 'adapter_telemetry_batch_size', help: 'Readings per Kafka publish', buckets: sizes, registers: [metrics.registry] });
  return { replyBatch: (n: number) => replyBatch.observe(n), telemetryBatch: (n: number) => telemetryBatch.observe(n) };
}

/** The edge's counters, read when /metrics is scraped (the hot paths only bump plain numbers). */
export function registerEdgeMetrics(metrics: Metrics, edge: DeviceEdge): void {
  const counters: [string, string, () => number][] = [
    ['adapter_commands_published_total', 'Commands published to devices', () => edge.publisher.stats.published],
    ['adapter_commands_republished_total', 'Open commands published again (restart, device back online, redelivered approval)', () => edge.publisher.stats.republished],
    ['adapter_commands_closed_by_deadline_total', 'Commands closed TIMEOUT or EXPIRED by this replica', () => edge.stats.closedByDeadline],
    ['adapter_replies_received_total', 'Device replies received', () => edge.replyStats.received],
    ['adapter_replies_invalid_total', 'Device replies that failed their schema, dropped', () => edge.replyStats.invalid],
    ['adapter_replies_closed_total', 'Replies that closed their command', () => edge.replyStats.closed],
    ['adapter_replies_ignored_total', 'Replies to a closed or unknown command', () => edge.replyStats.ignored],
    ['adapter_reply_batches_total', 'Transactions recording replies', () => edge.replyStats.batches],
    ['adapter_status_invalid_total', 'Status messages that are neither online nor offline, dropped', () => edge.stats.invalidStatus],
    ['adapter_telemetry_messages_total', 'MQTT telemetry messages received', () => edge.telemetryStats.messages],
    ['adapter_telemetry_readings_total', 'Readings received in well-formed telemetry', () => edge.telemetryStats.readings],
    ['adapter_telemetry_acked_total', 'Readings acknowledged by Kafka and then PUBACKed', () => edge.telemetryStats.acked],
    ['adapter_telemetry_dropped_total', 'Malformed telemetry messages, dropped', () => edge.telemetryStats.dropped],
    ['adapter_mqtt_pubacks_control_total', 'PUBACKs sent on the control connection (replies, status)', () => edge.pubacksSent.control],
    ['adapter_mqtt_pubacks_telemetry_total', 'PUBACKs sent on the telemetry connection', () => edge.pubacksSent.telemetry],
  ];
  for (const [name, help, read] of counters) {
    new Counter({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
  new Gauge({ name: 'adapter_deadlines_watched', help: 'Open commands whose deadlines this replica watches', registers: [metrics.registry], collect() { this.set(edge.deadlines.size); } });
}
