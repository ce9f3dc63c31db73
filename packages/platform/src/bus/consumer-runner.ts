import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { dlqTopic, isTopic, type EventOf, type PayloadOf, type Topic } from '@devicesaga/contracts';
import type { ConsumerOptions, HandlerContext, RawBatch, RawMessage, RawProducer, RawRecord } from './types';
import type { SchemaCodec } from './schema-codec';
import { buildRow, insertOutboxRows, type OutboxRow } from './outbox';
import { sleep } from './client-common';

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
  relay?: () => { readonly active: boolean; kick(): void } | undefined;
}

export interface RunnerMetrics {
  handled(topic: string, n: number): void;
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

/**
 * Turns the handler map into the `onBatch` of a raw consumer. Per batch: undecodable/invalid messages go to the DLQ;
 * valid ones run in ONE transaction (inbox insert first: a duplicate is a no-op), emitted events go to the outbox in
 * that same transaction. If the batch transaction fails, the batch is replayed one transaction per message, each
 * retried with exponential backoff up to `maxAttempts`, then dead-lettered (and recorded in the inbox). `onBatch`
 * resolves only after every transaction committed, so the adapter commits the offset after the database.
 */
export function createBatchHandler<T extends Topic>(deps: RunnerDeps, options: ConsumerOptions<T>): (batch: RawBatch) => Promise<void> {
  const { dataSource, codec, producer, serviceName, catalogTopic } = deps;
  const groupId = options.groupId;
  const maxAttempts = options.maxAttempts ?? 5;
  const retryBaseMs = options.retryBaseMs ?? 50;
  const handlers = options.handlers as unknown as Record<string, (event: EventOf<Topic>, ctx: HandlerContext) => Promise<void>>;
  const logger = deps.logger.child({ group: groupId });

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

  /** Records message ids in the inbox; answers the ids that were new (not seen by this group before). */
  const recordInbox = async (manager: EntityManager, ids: string[], outcome = 'processed'): Promise<Set<string>> => {
    const rows = await manager.query<{ id: string }[]>(
      `INSERT INTO inbox (consumer_group, message_id, outcome)
       SELECT $1, id, $3 FROM unnest($2::uuid[]) AS t(id)
       ON CONFLICT DO NOTHING RETURNING message_id::text AS id`,
      [groupId, ids, outcome],
    );
    return new Set(rows.map((r) => r.id));
  };

  /** What a transaction collects from its handlers: outbox rows (written before commit), callbacks (run after). */
  interface TxWork {
    outbox: OutboxRow[];
    afterCommit: (() => void)[];
  }
  const newWork = (): TxWork => ({ outbox: [], afterCommit: [] });

  /** Runs one message's handler; its emitted events are collected and written to the outbox with the transaction. */
  const runHandler = async (manager: EntityManager, v: Valid, work: TxWork): Promise<void> => {
    const handler = handlers[v.topic];
    if (!handler) throw new Error(`no handler for ${v.topic}`);
    const event = v.event;
    let childLogger: Logger | undefined;
    const ctx: HandlerContext = {
      manager,
      headers: v.raw.headers,
      // built on first use only: a pino child per message costs more than most handlers
      get logger() {
        return (childLogger ??= logger.child({ correlationId: event.correlationId, messageId: event.id, topic: v.topic }));
      },
      // a throw in the executor (schema rejects the payload) rejects the promise
      emit: <E extends Topic>(topic: E, key: string, payload: PayloadOf<E>) =>
        new Promise<void>((resolve) => {
          work.outbox.push(
            buildRow(
              serviceName,
              { topic, key, payload, correlationId: event.correlationId, causationId: event.id },
              v.raw.headers.traceparent,
            ),
          );
          resolve();
        }),
      afterCommit: (fn) => {
        work.afterCommit.push(fn);
      },
    };
    await handler(event, ctx);
  };

  /** Writes a transaction's outbox rows: without NOTIFY when this process's relay is the active one. */
  const writeOutbox = async (manager: EntityManager, outbox: OutboxRow[]): Promise<boolean> => {
    if (outbox.length === 0) return false;
    const local = deps.relay?.()?.active === true;
    await insertOutboxRows(manager, outbox, { notify: !local });
    return true;
  };
  /** After a commit that wrote outbox rows: hand them to this process's relay at once. */
  const kickRelay = () => deps.relay?.()?.kick();

  const runAfterCommit = (work: TxWork) => {
    for (const fn of work.afterCommit) {
      try {
        fn();
      } catch (err) {
        logger.error({ err }, 'afterCommit callback failed');
      }
    }
  };

  /**
   * The fast path: every valid message of the batch in one transaction, in key order. Handlers lock the rows of their
   * message's key (a device's sensors, its commands), so concurrent lanes that each go through their keys in the same
   * order cannot deadlock on each other. The sort is stable: messages of one key keep their partition order, and
   * messages of different keys never had an order to keep.
   */
  const runBatchTx = async (batchMessages: Valid[], failed: { id?: string }): Promise<void> => {
    const valid = [...batchMessages].sort((a, b) => compareKeys(a.raw.key, b.raw.key));
    const handled: Valid[] = [];
    let wrote = false;
    const work = newWork();
    await dataSource.transaction(async (manager) => {
      const fresh = await recordInbox(manager, valid.map((v) => v.event.id));
      for (const v of valid) {
        if (!fresh.delete(v.event.id)) continue; // duplicate (already handled, or twice in this batch)
        try {
          await runHandler(manager, v, work);
        } catch (err) {
          failed.id = v.event.id; // that run counts as its first attempt
          throw err;
        }
        handled.push(v);
      }
      wrote = await writeOutbox(manager, work.outbox);
    });
    if (wrote) kickRelay();
    runAfterCommit(work);
    if (deps.metrics) {
      const byTopic = new Map<string, number>();
      for (const v of handled) byTopic.set(v.raw.topic, (byTopic.get(v.raw.topic) ?? 0) + 1);
      for (const [t, n] of byTopic) deps.metrics.handled(t, n);
    }
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
          let handled = false;
          let wrote = false;
          const work = newWork();
          await dataSource.transaction(async (manager) => {
            const fresh = await recordInbox(manager, [v.event.id]);
            if (fresh.size === 0) return;
            await runHandler(manager, v, work);
            wrote = await writeOutbox(manager, work.outbox);
            handled = true;
          });
          done = true;
          if (wrote) kickRelay();
          if (handled) {
            runAfterCommit(work);
            deps.metrics?.handled(v.raw.topic, 1);
          }
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
      await dataSource.transaction((manager) => recordInbox(manager, [v.event.id], 'dead-lettered'));
      deps.metrics?.deadLettered(v.raw.topic, 'failed', 1);
    }
  };

  /** One batch on its own: one transaction, or if that fails, one transaction per message (retries, DLQ). */
  const runAlone = async (batch: RawBatch, valid: Valid[]): Promise<void> => {
    const failed: { id?: string; error?: unknown } = {};
    try {
      await runBatchTx(valid, failed);
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
  const lanes = Math.max(1, options.transactionLanes ?? 4);
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
          await runBatchTx(
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
