import { randomUUID } from 'node:crypto';
import type { Bus, Logger, OutgoingEvent } from '@devicesaga/platform';
import { MicroBatcher } from '../batching/micro-batcher';
import { parseTelemetry } from '../domain/protocol';
import type { Settle } from '../mqtt/puback-order';
import type { EntryPoint } from './entry-point';

type Measurement = OutgoingEvent<'adapter.measure_received'>;

interface ReceivedTelemetry {
  events: Measurement[];
  settle: Settle;
}

export interface TelemetryStats {
  /** MQTT telemetry messages received. */
  messages: number;
  /** Readings (one `{ts, values}` each) taken from them. */
  readings: number;
  /** Readings in Kafka and PUBACKed. */
  acked: number;
  /** Malformed messages, dropped. */
  dropped: number;
  batches: number;
}

export interface TelemetryDeps {
  bus: Pick<Bus, 'publish'>;
  logger: Logger;
  batchMs: number;
  batchMax: number;
  onBatch?: (readings: number) => void;
}

/**
 * `devices/+/telemetry` → `adapter.measure_received`, one event per reading, published to Kafka in batches (acks=all)
 * with no database in between; a message is PUBACKed only once Kafka has acknowledged its readings, so the broker
 * redelivers whatever was not (nothing acknowledged is ever lost; a redelivery can duplicate readings, which carry the
 * device's timestamp for the telemetry store to deduplicate). Malformed telemetry is counted, logged and dropped.
 */
export function telemetryEntryPoint(deps: TelemetryDeps): EntryPoint & { stats: TelemetryStats } {
  const stats: TelemetryStats = { messages: 0, readings: 0, acked: 0, dropped: 0, batches: 0 };
  const { logger } = deps;
  const complaints = rateLimitedWarn(logger, 10);

  const batcher = new MicroBatcher<ReceivedTelemetry>({
    name: 'telemetry',
    // payloads built from telemetry parsed by the contract's schema (domain/protocol.ts): not checked a second time
    flush: (batch) => deps.bus.publish(batch.length === 1 ? batch[0]!.events : batch.flatMap((t) => t.events), { prevalidated: true }),
    done: (batch) => {
      let readings = 0;
      for (const t of batch) {
        readings += t.events.length;
        t.settle();
      }
      stats.acked += readings;
      stats.batches++;
      deps.onBatch?.(readings);
    },
    maxWaitMs: deps.batchMs,
    maxItems: deps.batchMax,
    logger,
  });

  return {
    stats,
    receive(deviceId, payload, settle) {
      stats.messages++;
      const parsed = parseTelemetry(payload, new Date());
      if (!parsed.ok) {
        stats.dropped++;
        complaints({ deviceId, error: parsed.error, bytes: payload.length }, 'malformed telemetry dropped');
        settle();
        return;
      }
      if (parsed.value.length === 0) {
        settle();
        return;
      }
      const events = parsed.value.map((m): Measurement => {
        const id = randomUUID();
        return { id, topic: 'adapter.measure_received', key: deviceId, correlationId: id, payload: { deviceId, ts: m.ts, values: m.values } };
      });
      stats.readings += events.length;
      batcher.add({ events, settle });
    },
    drain: () => batcher.drain(),
    stop: () => batcher.stop(),
  };
}

/** A warn logger that says at most `perSecond` lines a second, then how many it held back. */
function rateLimitedWarn(logger: Logger, perSecond: number) {
  let windowStart = 0;
  let said = 0;
  let held = 0;
  return (fields: object, message: string) => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      if (held > 0) logger.warn({ suppressed: held }, `${message}: ${held} more in the last second not logged`);
      windowStart = now;
      said = 0;
      held = 0;
    }
    if (said < perSecond) {
      said++;
      logger.warn(fields, message);
    } else held++;
  };
}
