import type { EntityManager } from 'typeorm';
import type { EventOf, PayloadOf, Topic } from '@devicesaga/contracts';
import type { Logger } from 'pino';

/* ---------- the client-adapter seam: kafkajs and @platformatic/kafka each implement KafkaClient ---------- */

export interface RawRecord {
  topic: string;
  key: string;
  value: Buffer;
  headers: Record<string, string>;
}

export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Messages of one partition, in offset order. */
export interface RawBatch {
  topic: string;
  partition: number;
  messages: RawMessage[];
}

export interface RawProducer {
  /** Resolves once every record is acknowledged by all in-sync replicas (acks=all). Order per key is kept. */
  send(records: RawRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface RawConsumer {
  /**
   * Delivers batches; when `onBatch` resolves, the adapter commits the offset after the batch's last message.
   * When `onBatch` rejects, nothing is committed and the batch is delivered again.
   */
  run(onBatch: (batch: RawBatch) => Promise<void>): Promise<void>;
  /** Stops fetching, waits for the batch in flight, commits, leaves the group. */
  stop(): Promise<void>;
}

export interface KafkaClient {
  readonly name: 'kafkajs' | 'platformatic';
  producer(): Promise<RawProducer>;
  consumer(options: { groupId: string; topics: string[]; fromBeginning?: boolean }): Promise<RawConsumer>;
  ensureTopics(topics: { name: string; partitions: number }[]): Promise<void>;
  listTopics(): Promise<string[]>;
  deleteTopics(names: string[]): Promise<void>;
  close(): Promise<void>;
}

/* ---------- the bus services use ---------- */

export interface OutgoingEvent<T extends Topic = Topic> {
  topic: T;
  key: string;
  payload: PayloadOf<T>;
  correlationId: string;
  causationId?: string | null;
  /** Defaults to a new uuid. */
  id?: string;
  /**
   * The span this event continues (W3C traceparent), when the producer knows better than the transaction: e.g. the
   * adapter's MQTT round trip, begun by an earlier message. By default: the consumer span of the message its causation
   * names, or the current request's span.
   */
  traceparent?: string;
}

/**
 * A transaction with the outbox as its door to Kafka — the same for a consumer's batch, an HTTP request's write, a
 * timer's sweep (`bus.transaction`).
 */
export interface TxContext {
  /** The transaction; do every state change through it. */
  manager: EntityManager;
  /**
   * Adds an event to this transaction's outbox (validated now: a payload its schema rejects throws). Events keep the
   * order of the calls. The event names its own correlation and causation ids; when the causation is a message this
   * transaction handles, the event continues that message's trace.
   */
  emit: <E extends Topic>(event: OutgoingEvent<E>) => void;
  logger: Logger;
  /**
   * Runs `fn` once the transaction has committed (never if it rolls back): side effects outside the database — an
   * MQTT publish, a Redis notification — that must not happen for work that is undone.
   */
  afterCommit: (fn: () => void) => void;
  /** The consumer span (traceparent) of a message this transaction handles; undefined for any other id. */
  trace?: (eventId: string) => string | undefined;
}

/** What a per-message handler gets: the transaction plus the message's Kafka headers. */
export interface HandlerContext extends TxContext {
  headers: Record<string, string>;
}

/** A per-message handler (cold paths): called once per message of the batch, in the batch's transaction. */
export type Handler<T extends Topic> = (event: EventOf<T>, ctx: HandlerContext) => Promise<void>;

/**
 * A batch handler (hot paths): called once with every new message of its topic in the batch — already deduplicated by
 * the inbox, in partition order per key — inside one transaction. It does its work with set-based SQL (one statement
 * per kind of write), decisions in plain TypeScript between one read and one write. When it throws, the transaction
 * rolls back and each message is handled again alone (a batch of one, with retries and then the DLQ), so one
 * message's failure never loses or duplicates the others.
 */
export type BatchHandler<T extends Topic> = (events: EventOf<T>[], ctx: TxContext) => Promise<void>;

export interface BatchHandlerSpec<T extends Topic> {
  batch: BatchHandler<T>;
}

/** Marks a handler as batch-native. */
export function batch<T extends Topic>(fn: BatchHandler<T>): BatchHandlerSpec<T> {
  return { batch: fn };
}

/** A typed handler map: a consumer lists its topics once, and a missing handler fails to compile. */
export type HandlerMap<T extends Topic> = { [K in T]: Handler<K> | BatchHandlerSpec<K> };

export interface ConsumerOptions<T extends Topic> {
  groupId: string;
  handlers: HandlerMap<T>;
  fromBeginning?: boolean;
  /** Attempts before the DLQ (default 5), with exponential backoff from `retryBaseMs` (default 50). */
  maxAttempts?: number;
  retryBaseMs?: number;
  /**
   * Transactions run at the same time (default 1 when every handler is batch-native, else 4), each merging the
   * batches queued while the others run (group commit). Batches of one partition never run concurrently, so per-key
   * order holds. Batch handlers do a few statements per batch whatever its size, so one lane keeps them busy without
   * lock-order deadlocks between lanes; per-message handlers, a few round trips per message, need more.
   */
  transactionLanes?: number;
}

export interface ConsumerHandle {
  stop(): Promise<void>;
}

export interface Bus {
  /**
   * Runs `work` in one transaction of the service's database; what it emits goes to the outbox with the commit, and
   * the relay publishes it after (the door for writes that are not a consumer's: HTTP requests, timers).
   */
  transaction<R>(work: (ctx: TxContext) => Promise<R>): Promise<R>;
  /**
   * Publishes at once, without the outbox (for producers with no database state, e.g. telemetry). `prevalidated`: the
   * caller built every payload from input it checked against the same contract (the adapter's telemetry), so the
   * per-event schema check is skipped — at thousands of events a second it is most of the cost.
   */
  publish(events: OutgoingEvent[], options?: { prevalidated?: boolean }): Promise<void>;
  /** Starts the outbox relay of this service's database (one active relay per database, by advisory lock). */
  startRelay(): Promise<void>;
  consume<T extends Topic>(options: ConsumerOptions<T>): Promise<ConsumerHandle>;
  /** Drains: stops consumers (finishing in-flight work), flushes the relay, closes clients. */
  stop(): Promise<void>;
}
