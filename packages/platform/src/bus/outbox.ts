import { randomUUID } from 'node:crypto';
import { childTraceparent } from '../tracing';
import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { Topic } from '@devicesaga/contracts';
import type { OutgoingEvent, RawProducer, RawRecord } from './types';
import { schemaOf, SchemaValidationError, type SchemaCodec } from './schema-codec';
import { sleep } from './client-common';

/* ---------------------------------------------------------------- migrations ---------------------------------------------------------------- */

export class BusOutboxInbox1767225600000 implements MigrationInterface {
  name = 'BusOutboxInbox1767225600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE IF NOT EXISTS outbox (
      seq bigserial PRIMARY KEY,
      id uuid NOT NULL UNIQUE,
      topic text NOT NULL,
      key text NOT NULL,
      envelope jsonb NOT NULL,
      headers jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE IF NOT EXISTS inbox (
      consumer_group text NOT NULL,
      message_id uuid NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT now(),
      outcome text NOT NULL DEFAULT 'processed',
      PRIMARY KEY (consumer_group, message_id)
    )`);
    await q.query(`CREATE INDEX IF NOT EXISTS inbox_processed_at ON inbox (processed_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS inbox`);
    await q.query(`DROP TABLE IF EXISTS outbox`);
  }
}

/** Add these to a service's DataSource `migrations` (they create `outbox` and `inbox` in its database). */
export const busMigrations = [BusOutboxInbox1767225600000];

/** The channel a transaction notifies (on commit) when the active relay runs in another process. */
export const OUTBOX_CHANNEL = 'devicesaga_outbox';

/* ---------------------------------------------------------------- envelopes + trace context ---------------------------------------------------------------- */

export interface OutboxRow {
  id: string;
  topic: Topic;
  key: string;
  envelope: Record<string, unknown>;
  headers: Record<string, string>;
}

/** Builds and validates the envelope (a producer never writes what its schema rejects). */
export function buildRow(serviceName: string, e: OutgoingEvent, parentTraceparent?: string | null, validate = true): OutboxRow {
  const envelope = {
    id: e.id ?? randomUUID(),
    type: e.topic,
    occurredAt: new Date().toISOString(),
    correlationId: e.correlationId,
    causationId: e.causationId ?? null,
    producer: serviceName,
    payload: e.payload,
  };
  let checked: Record<string, unknown> = envelope;
  if (validate) {
    const result = schemaOf(e.topic).safeParse(envelope);
    if (!result.success) {
      const why = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new SchemaValidationError(`invalid ${e.topic} event: ${why}`, e.topic);
    }
    checked = result.data as Record<string, unknown>;
  }
  return {
    id: envelope.id,
    topic: e.topic,
    key: e.key,
    envelope: checked,
    // the parent is the span that produced the event (its consumer span continues it); without one, a new trace
    headers: { traceparent: parentTraceparent ?? childTraceparent() },
  };
}

/**
 * The outbox insert of a transaction's rows, given as ONE json document literal (`[[id, topic, key, envelope,
 * headers], …]`, escaped by the caller): one statement whatever the number of rows, sent with the COMMIT.
 */
export function outboxInsertSql(rowsJsonLiteral: string): string {
  return `INSERT INTO outbox (id, topic, key, envelope, headers)
  SELECT (r->>0)::uuid, r->>1, r->>2, r->3, r->4 FROM jsonb_array_elements(${rowsJsonLiteral}::jsonb) WITH ORDINALITY AS t(r, n) ORDER BY n`;
}

/* ---------------------------------------------------------------- relay ---------------------------------------------------------------- */

/**
 * Advisory lock of "the outbox relay of this outbox table": (class id, hash of the schema), since advisory locks
 * are per database and a database may hold several services' schemas.
 */
export const RELAY_LOCK_CLASS = 72360011;
const LOCK_ARGS = `${RELAY_LOCK_CLASS}, hashtext(current_schema())`;

/**
 * Rows of a service's own table that may go: `where` is a condition on `table` (e.g. "state <> 'PENDING' AND
 * closed_at < now() - interval '7 days'"). Trusted SQL from the service's code, never from input.
 */
export interface RetentionRule {
  table: string;
  where: string;
}

const PRUNE_BATCH = 10_000;

export interface RelayOptions {
  dataSource: DataSource;
  producer: RawProducer;
  codec: SchemaCodec;
  /** Kafka topic of a catalog topic (a prefix in tests/benchmarks). */
  topicName: (topic: Topic) => string;
  logger: Logger;
  batchSize?: number;
  /** Polling fallback when no NOTIFY arrives (default 500 ms). */
  pollMs?: number;
  /** How often a standby relay retries the advisory lock (default 1,000 ms). */
  lockRetryMs?: number;
  /**
   * How long the inbox remembers a handled message id (default 7 days, Kafka's default retention: no replay can
   * redeliver anything older). The active relay — one per database — deletes older entries every `pruneEveryMs`
   * (default 10 minutes), with the service's own `retention` rules, so no bookkeeping table grows forever.
   */
  inboxRetentionMs?: number;
  retention?: RetentionRule[];
  pruneEveryMs?: number;
  /** Test seam: runs after a batch is acknowledged by Kafka and before its rows are deleted (throw = crash there). */
  afterSend?: (rows: { id: string; topic: string; key: string }[]) => void | Promise<void>;
}

interface SelectedRow {
  seq: string;
  id: string;
  topic: Topic;
  key: string;
  /** The envelope's JSON text as stored (validated when it was enqueued). */
  envelope: string;
  headers: Record<string, string>;
}

/**
 * One active relay per database (pg_try_advisory_lock on a dedicated connection; standbys retry). Wakes on
 * LISTEN/NOTIFY plus a polling fallback, sends unsent rows in `seq` order in batches (one send per batch, so order per
 * key holds), and deletes them with its next statement (at the latest after `pollMs`). A crash between send and
 * delete re-sends: at-least-once, consumers dedupe by id.
 */
export class OutboxRelay {
  private stopping = false;
  private drainOnStop = false;
  private loop: Promise<void> | undefined;
  private pending = false;
  private wakeUp: (() => void) | undefined;
  private client: PoolClient | undefined;
  private schema = '';
  /** Seqs sent and acknowledged by Kafka, deleted by the next statement. */
  private sentSeqs: string[] = [];
  /** True while this relay holds the lock. */
  active = false;
  /** Rows sent so far (metrics/tests). */
  sent = 0;

  constructor(private readonly options: RelayOptions) {}

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /** Stops after the batch in flight; with `drain`, first empties the outbox (when this relay is the active one). */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    this.drainOnStop = options.drain ?? false;
    this.stopping = true;
    this.wake();
    await this.loop;
  }

  /**
   * Wakes the relay at once (in-process hand-off: a consumer of this process committed outbox rows). Other processes
   * still reach it through NOTIFY, and polling covers anything missed.
   */
  kick(): void {
    if (this.active) this.wake();
  }

  private wake(): void {
    this.pending = true;
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private async wait(ms: number): Promise<void> {
    if (this.pending || this.stopping) {
      this.pending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.pending = false;
  }

  private pool(): Pool {
    return (this.options.dataSource.driver as unknown as { master: Pool }).master;
  }

  private async run(): Promise<void> {
    const { logger } = this.options;
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.session();
        failures = 0;
      } catch (err) {
        failures++;
        logger.error({ err }, 'outbox relay failed; restarting');
        await this.release(true);
        if (!this.stopping) await this.wait(Math.min(100 * 2 ** Math.min(failures, 6), 5_000));
      }
    }
    await this.release(false);
  }

  private async release(broken: boolean): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.active = false;
    if (!client) return;
    if (broken) {
      client.release(true); // destroys the connection: the advisory lock and LISTEN go with it
      return;
    }
    try {
      await client.query(`UNLISTEN ${OUTBOX_CHANNEL}`);
      await client.query(`SELECT pg_advisory_unlock(${LOCK_ARGS})`);
      client.release();
    } catch {
      client.release(true);
    }
  }

  /** Acquires the lock, then relays until stopped. */
  private async session(): Promise<void> {
    const { logger } = this.options;
    const client = (this.client = await this.pool().connect());
    client.on('notification', (n) => {
      if (!n.payload || n.payload === this.schema) this.wake();
    });
    client.on('error', (err) => logger.error({ err }, 'outbox relay connection error'));
    for (;;) {
      const { rows } = await client.query<{ locked: boolean; schema: string }>(
        `SELECT pg_try_advisory_lock(${LOCK_ARGS}) AS locked, current_schema() AS schema`,
      );
      this.schema = rows[0]?.schema ?? '';
      if (rows[0]?.locked) break;
      if (this.stopping) return;
      await sleep(this.options.lockRetryMs ?? 1_000);
      if (this.stopping) return;
    }
    this.active = true;
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    logger.info('outbox relay active');
    const batchSize = this.options.batchSize ?? 500;
    const pruneEveryMs = this.options.pruneEveryMs ?? 600_000;
    let nextPrune = Date.now() + Math.min(60_000, pruneEveryMs);
    for (;;) {
      if (Date.now() >= nextPrune) {
        await this.prune(client);
        nextPrune = Date.now() + pruneEveryMs;
      }
      const n = await this.relayBatch(client, batchSize);
      if (this.stopping && (!this.drainOnStop || n === 0)) {
        await this.deleteSent(client);
        return;
      }
      // A full batch: more rows wait, go round at once. Otherwise wait for the next commit's wake (at once if one came
      // during the send) or the poll: that round's one statement deletes the rows just sent and reads the new ones,
      // instead of an extra, empty round trip after every send.
      if (n < batchSize) await this.wait(this.options.pollMs ?? 500);
    }
  }

  /** Deletes inbox entries past their retention and the rows of the service's retention rules, 10,000 per statement. */
  private async prune(client: PoolClient): Promise<void> {
    const retentionS = (this.options.inboxRetentionMs ?? 7 * 24 * 3600_000) / 1000;
    const rules: RetentionRule[] = [
      { table: 'inbox', where: `processed_at < now() - make_interval(secs => ${Number(retentionS)})` },
      ...(this.options.retention ?? []),
    ];
    for (const rule of rules) {
      let pruned = 0;
      for (;;) {
        const { rowCount } = await client.query(
          `DELETE FROM ${rule.table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${rule.table} WHERE ${rule.where} LIMIT ${PRUNE_BATCH}))`,
        );
        pruned += rowCount ?? 0;
        if ((rowCount ?? 0) < PRUNE_BATCH || this.stopping) break;
      }
      if (pruned > 0) this.options.logger.info({ table: rule.table, pruned }, 'rows past their retention deleted');
    }
  }

  private async deleteSent(client: PoolClient): Promise<void> {
    if (this.sentSeqs.length === 0) return;
    await client.query('DELETE FROM outbox WHERE seq = ANY($1::bigint[])', [this.sentSeqs]);
    this.sentSeqs = [];
  }

  /**
   * One round trip per batch: deletes the rows of the previous batch (sent and acknowledged) and selects the next ones
   * in the same statement (same snapshot, hence the `<> ALL` filter). A crash before that statement re-sends the
   * previous batch: at-least-once.
   */
  private async relayBatch(client: PoolClient, limit: number): Promise<number> {
    const done = this.sentSeqs;
    const { rows } = await client.query<SelectedRow>(
      `WITH del AS (DELETE FROM outbox WHERE seq = ANY($2::bigint[]))
       SELECT seq::text AS seq, id::text AS id, topic, key, envelope::text AS envelope, headers
       FROM outbox WHERE seq <> ALL($2::bigint[]) ORDER BY outbox.seq LIMIT $1`,
      [limit, done],
    );
    this.sentSeqs = [];
    if (rows.length === 0) return 0;
    const { codec, topicName } = this.options;
    // The rows were validated by buildRow when enqueued: encode the stored JSON text as it is (no re-validation).
    const records: RawRecord[] = rows.map((r) => ({
      topic: topicName(r.topic),
      key: r.key,
      value: codec.encodeJson(r.topic, r.envelope),
      headers: r.headers,
    }));
    await this.options.producer.send(records);
    await this.options.afterSend?.(rows.map((r) => ({ id: r.id, topic: r.topic, key: r.key })));
    this.sentSeqs = rows.map((r) => r.seq);
    this.sent += rows.length;
    return rows.length;
  }
}
