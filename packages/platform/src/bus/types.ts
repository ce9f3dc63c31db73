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
}

export interface HandlerContext {
  /** The transaction the message id is recorded in; do every state change through it. */
  manager: EntityManager;
  /** Writes events to the outbox in this same transaction; causation = the message being handled. */
  emit<T extends Topic>(topic: T, key: string, payload: PayloadOf<T>): Promise<void>;
  logger: Logger;
  headers: Record<string, string>;
  /**
   * Runs `fn` once this message's transaction has committed (never if it rolls back): side effects outside the
   * database — an MQTT publish, a Redis notification — that must not happen for work that is undone.
   */
  afterCommit(fn: () => void): void;
}

export type Handler<T extends Topic> = (event: EventOf<T>, ctx: HandlerContext) => Promise<void>;

/** A typed handler map: a consumer lists its topics once, and a missing handler fails to compile. */
export type HandlerMap<T extends Topic> = { [K in T]: Handler<K> };

export interface ConsumerOptions<T extends Topic> {
  groupId: string;
  handlers: HandlerMap<T>;
  fromBeginning?: boolean;
  /** Attempts before the DLQ (default 5), with exponential backoff from `retryBaseMs` (default 50). */
  maxAttempts?: number;
  retryBaseMs?: number;
  /**
   * Transactions run at the same time (default 4), each merging the batches queued for it (group commit). Batches of
   * one partition never run concurrently, so per-key order holds; handlers that do several round trips per message
   * (the saga's steps) need the lanes, or every partition waits behind one connection.
   */
  transactionLanes?: number;
}

export interface ConsumerHandle {
  stop(): Promise<void>;
}

export interface Bus {
  /** Adds events to the outbox inside the caller's transaction; the relay publishes them after commit. */
  enqueue(manager: EntityManager, events: OutgoingEvent[]): Promise<void>;
  /** Publishes at once, without the outbox (for producers with no database state, e.g. telemetry). */
  publish(events: OutgoingEvent[]): Promise<void>;
  /** Starts the outbox relay of this service's database (one active relay per database, by advisory lock). */
  startRelay(): Promise<void>;
  consume<T extends Topic>(options: ConsumerOptions<T>): Promise<ConsumerHandle>;
  /** Drains: stops consumers (finishing in-flight work), flushes the relay, closes clients. */
  stop(): Promise<void>;
}
