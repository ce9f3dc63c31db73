import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { escapeLiteral } from 'pg';
import { dlqTopic, isTopic, type EventOf, type Topic } from '@devicesaga/contracts';
import type { BatchHandler, ConsumerOptions, Handler, RawBatch, RawMessage, RawProducer, RawRecord, TxContext } from './types';
import type { SchemaCodec } from './schema-codec';
import { sleep } from './client-common';
import { runTransaction, type RelayLink } from './transaction';
import { startSpan, type Span } from '../tracing';

export interface RunnerDeps {
  serviceName: string;
  dataSource: DataSource;
  codec: SchemaCodec;
  producer: RawProducer;
  logger: Logger;
  /** Catalog topic of a Kafka topic name (undoes the bus's topic prefix); null when it is not one of ours. */
  catalogTopic: (kafkaTopic: string) => Topic | null;
  metrics?: RunnerMetrics;
  /**
   * This process's outbox relay, if started. While it holds the relay lock, a batch's outbox rows are written without
   * NOTIFY and the relay is woken directly after the commit (no round trip through PostgreSQL).
   */
  relay?: () => RelayLink | undefined;
}

export interface RunnerMetrics {
  handled(topic: string, n: number): void;
  /** How long after it was produced a message's handling committed. */
  aged(topic: string, group: string, seconds: number): void;
  deadLettered(topic: string, reason: 'invalid' | 'failed', n: number): void;
  retried(topic: string): void;
}

interface Valid {
  raw: RawMessage;
  topic: Topic;
  event: EventOf<Topic>;
}

const compareKeys = (a: string | null, b: string | null) => (a === b ? 0 : (a ?? '') < (b ?? '') ? -1 : 1);

const errorText = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 1000);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Turns the handler map into the `onBatch` of a raw consumer. Per batch: undecodable/invalid messages go to the DLQ;
 * valid ones run in ONE transaction: BEGIN travels with the inbox insert (a duplicate is a no-op), each topic's
 * handler gets the batch's new messages of its topic, emitted events go to the outbox with the COMMIT — so a batch
 * costs its handlers' statements plus two round trips. If the batch transaction fails, the batch is replayed one
 * transaction per message, each retried with exponential backoff up to `maxAttempts`, then dead-lettered (and recorded
 * in the inbox). `onBatch` resolves only after every transaction committed, so the adapter commits the offset after
 * the database.
 */
export function createBatchHandler<T extends Topic>(deps: RunnerDeps, options: ConsumerOptions<T>): (batch: RawBatch) => Promise<void> {
  const { dataSource, codec, producer, serviceName, catalogTopic } = deps;
  const groupId = options.groupId;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryBaseMs = options.retryBaseMs ?? 50;
  const logger = deps.logger.child({ group: groupId });
  const handlerEntries = Object.entries(options.handlers) as [Topic, Handler<Topic> | { batch: BatchHandler<Topic> }][];
  const allBatchNative = handlerEntries.every(([, h]) => typeof h !== 'function');

  const dlqRecord = (raw: RawMessage, error: string): RawRecord => ({
    topic: dlqTopic(raw.topic),
    key: raw.key ?? '',
    value: raw.value ?? Buffer.alloc(0),
    headers: {
      ...raw.headers,
      'x-dlq-error': error,
      'x-dlq-group': groupId,
      'x-dlq-original-topic': raw.topic,
      'x-dlq-original-partition': String(raw.partition),
      'x-dlq-original-offset': raw.offset,
      'x-dlq-at': new Date().toISOString(),
    },
  });

  /**
   * The inbox insert for a set of message ids, as a literal statement that travels with BEGIN; it answers the ids to
   * handle: new ones, and ones this group dead-lettered before (an operator redrove them from the DLQ).
   */
  const inboxSql = (ids: string[], outcome = 'processed') => {
    // ids were validated as uuids by the envelope schema; checked again because they are inlined
    for (const id of ids) if (!UUID.test(id)) throw new Error(`not a uuid: ${id}`);
    return `INSERT INTO inbox (consumer_group, message_id, outcome)
       SELECT ${escapeLiteral(groupId)}, id, ${escapeLiteral(outcome)} FROM unnest('{${[...new Set(ids)].join(',')}}'::uuid[]) AS t(id)
       ON CONFLICT (consumer_group, message_id) DO UPDATE SET outcome = EXCLUDED.outcome, processed_at = now()
         WHERE inbox.outcome = 'dead-lettered'
       RETURNING message_id::text AS id`;
  };

  /** The handlers on the messages of `valid` that the inbox found new, topic by topic in the handler map's order. */
  const runHandlers = async (ctx: TxContext, valid: Valid[], fresh: Set<string>, spans: Map<string, Span>, handled: Valid[], failed: { id?: string }) => {
    const byTopic = new Map<Topic, Valid[]>();
    for (const v of valid) {
      if (!fresh.delete(v.event.id)) continue; // duplicate (already handled, or twice in this batch)
      let list = byTopic.get(v.topic);
      if (!list) byTopic.set(v.topic, (list = []));
      list.push(v);
    }
    for (const [topic, handler] of handlerEntries) {
      const list = byTopic.get(topic);
      if (!list) continue;
      // A failing message's run counts as its first attempt (known for a per-message handler or a batch of one).
      if (typeof handler !== 'function') {
        try {
          await handler.batch(
            list.map((v) => v.event),
            ctx,
          );
        } catch (err) {
          if (list.length === 1) failed.id = list[0]!.event.id;
          throw err;
        }
      } else {
        for (const v of list) {
          try {
            await handler(v.event, { ...ctx, headers: { ...v.raw.headers, traceparent: spans.get(v.event.id)!.traceparent } });
          } catch (err) {
            failed.id = v.event.id;
            throw err;
          }
        }
      }
      handled.push(...list);
    }
  };

  /**
   * Runs the handlers on the new messages of `valid` in one transaction; answers the messages handled. Messages are
   * taken in a stable key order (lock order: concurrent lanes going through their keys in the same order cannot
   * deadlock; messages of one key keep their partition order), topic by topic in the handler map's order.
   */
  const runTx = async (batchMessages: Valid[], failed: { id?: string }): Promise<Valid[]> => {
    const valid = [...batchMessages].sort((a, b) => compareKeys(a.raw.key, b.raw.key));
    // one consumer span per message, child of the span that produced it; what its handler emits continues it
    const spans = new Map<string, Span>(valid.map((v) => [v.event.id, startSpan(`consume ${v.topic}`, v.raw.headers.traceparent, 'consumer', { 'messaging.consumer.group.name': groupId })]));
    const handled: Valid[] = [];
    const options = {
      dataSource,
      serviceName,
      logger,
      ...(deps.relay ? { relay: deps.relay } : {}),
      firstStatement: inboxSql(valid.map((v) => v.event.id)),
      parentTrace: (causationId: string | null | undefined) => (causationId ? spans.get(causationId)?.traceparent : undefined),
    };
    try {
      await runTransaction(options, (ctx, firstRows) => runHandlers(ctx, valid, new Set(firstRows.map((r) => String(r.id))), spans, handled, failed));
    } catch (err) {
      for (const span of spans.values()) span.end(err);
      throw err;
    }
    for (const span of spans.values()) span.end();
    if (deps.metrics) {
      const now = Date.now();
      const byTopic = new Map<string, number>();
      for (const v of handled) {
        byTopic.set(v.topic, (byTopic.get(v.topic) ?? 0) + 1);
        deps.metrics.aged(v.topic, groupId, (now - Date.parse(v.event.occurredAt)) / 1000);
      }
      for (const [t, n] of byTopic) deps.metrics.handled(t, n);
    }
    return handled;
  };

  /** The slow path: one transaction per message, retried with backoff, then the DLQ. */
  const runOneByOne = async (valid: Valid[], failed: { id?: string; error?: unknown }): Promise<void> => {
    for (const v of valid) {
      const failedBefore = failed.id === v.event.id;
      let lastError: unknown = failedBefore ? failed.error : undefined;
      let done = false;
      if (failedBefore && maxAttempts > 1) await sleep(retryBaseMs);
      for (let attempt = failedBefore ? 2 : 1; attempt <= maxAttempts && !done; attempt++) {
        try {
          await runTx([v], {});
          done = true;
        } catch (err) {
          lastError = err;
          logger.warn({ err, attempt, messageId: v.event.id, correlationId: v.event.correlationId, topic: v.topic }, 'handler failed');
          if (attempt < maxAttempts) {
            deps.metrics?.retried(v.raw.topic);
            await sleep(retryBaseMs * 2 ** (attempt - 1));
          }
        }
      }
      if (done) continue;
      // Before blaming the message, make sure the database itself is reachable: if not, fail the batch so the
      // adapter redelivers it later instead of dead-lettering good messages during an outage.
      await dataSource.query('SELECT 1');
      logger.error({ err: lastError, messageId: v.event.id, correlationId: v.event.correlationId, topic: v.topic }, 'handler failed for good: dead-lettered');
      await producer.send([dlqRecord(v.raw, `handler failed after ${maxAttempts} attempts: ${errorText(lastError)}`)]);
      await dataSource.query(inboxSql([v.event.id], 'dead-lettered'));
      deps.metrics?.deadLettered(v.raw.topic, 'failed', 1);
    }
  };

  /** One batch on its own: one transaction, or if that fails, one transaction per message (retries, DLQ). */
  const runAlone = async (batch: RawBatch, valid: Valid[]): Promise<void> => {
    const failed: { id?: string; error?: unknown } = {};
    try {
      await runTx(valid, failed);
    } catch (err) {
      failed.error = err;
      logger.warn({ err, topic: batch.topic, partition: batch.partition, size: valid.length }, 'batch transaction failed; one transaction per message');
      await runOneByOne(valid, failed);
    }
  };

  /**
   * Group commit: batches of different partitions that arrive while every lane's transaction is running are merged
   * into the next one (one BEGIN/inbox/outbox/COMMIT for all of them); up to `transactionLanes` run at once. Batches of one partition never run concurrently (the
   * adapters guarantee it), so order per partition — per key — is kept. If a merged transaction fails, each batch
   * runs again alone (and a failing one goes on to its one-by-one path), so one bad batch never holds up the others.
   */
  interface Queued {
    batch: RawBatch;
    valid: Valid[];
    resolve: () => void;
    reject: (err: unknown) => void;
  }
  let queue: Queued[] = [];
  const lanes = Math.max(1, options.transactionLanes ?? (allBatchNative ? 1 : 4));
  let busyLanes = 0;
  const settle = async (q: Queued, work: () => Promise<void>) => {
    try {
      await work();
      q.resolve();
    } catch (err) {
      q.reject(err);
    }
  };
  const drain = async (): Promise<void> => {
    busyLanes++;
    try {
      while (queue.length > 0) {
        const group = queue;
        queue = [];
        if (group.length === 1) {
          const q = group[0]!;
          await settle(q, () => runAlone(q.batch, q.valid));
          continue;
        }
        try {
          await runTx(
            group.flatMap((q) => q.valid),
            {},
          );
          for (const q of group) q.resolve();
        } catch (err) {
          logger.warn({ err, batches: group.length }, 'merged transaction failed; each batch on its own');
          await Promise.all(group.map((q) => settle(q, () => runAlone(q.batch, q.valid))));
        }
      }
    } finally {
      busyLanes--;
    }
  };
  const submit = (batch: RawBatch, valid: Valid[]) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ batch, valid, resolve, reject });
      if (busyLanes < lanes) void drain();
    });

  return async (batch: RawBatch): Promise<void> => {
    const valid: Valid[] = [];
    const invalid: RawRecord[] = [];
    const topic = catalogTopic(batch.topic);
    for (const raw of batch.messages) {
      if (!topic || !isTopic(topic)) {
        invalid.push(dlqRecord(raw, `no schema for topic ${raw.topic}`));
        continue;
      }
      const decoded = codec.decode(topic, raw.value);
      if (decoded.ok) valid.push({ raw, topic, event: decoded.event });
      else {
        logger.warn({ topic: raw.topic, partition: raw.partition, offset: raw.offset, error: decoded.error }, 'invalid message: dead-lettered');
        invalid.push(dlqRecord(raw, decoded.error));
      }
    }
    if (invalid.length > 0) {
      await producer.send(invalid);
      deps.metrics?.deadLettered(batch.topic, 'invalid', invalid.length);
    }
    if (valid.length === 0) return;
    await submit(batch, valid);
  };
}
