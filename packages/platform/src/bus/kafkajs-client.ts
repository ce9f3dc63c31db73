import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type IHeaders, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaClient, RawBatch, RawConsumer, RawMessage, RawProducer, RawRecord } from './types';
import { chunkRecords, retryUntilDone, type ClientOptions } from './client-common';

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (first === undefined) continue;
    out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

function logCreator(logger: Logger | undefined) {
  return () =>
    ({ level, log }: LogEntry) => {
      if (!logger) return;
      const { message, ...extra } = log;
      // our send() failures are retried by the relay / redelivery anyway; the warning is noise
      if (message.startsWith('Limiting retries for the idempotent producer')) return;
      if (level <= logLevel.ERROR) logger.error({ kafkajs: extra }, message);
      else if (level === logLevel.WARN) logger.warn({ kafkajs: extra }, message);
    };
}

/** The kafkajs 2.2 adapter: idempotent acks=all producer, eachBatch consumer with explicit offset commits. */
export class KafkajsClient implements KafkaClient {
  readonly name = 'kafkajs' as const;
  private readonly kafka: Kafka;
  private readonly closers = new Set<() => Promise<void>>();

  constructor(private readonly options: ClientOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      logCreator: logCreator(options.logger),
      retry: { initialRetryTime: 100, retries: 8 },
    });
  }

  async producer(): Promise<RawProducer> {
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      this.closers.delete(close);
      await producer.disconnect();
    };
    this.closers.add(close);
    return {
      async send(records: RawRecord[]) {
        for (const chunk of chunkRecords(records)) {
          // One request per chunk, records in order: kafka keeps them in order per partition (idempotent producer).
          const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
          for (const r of chunk) {
            let list = byTopic.get(r.topic);
            if (!list) byTopic.set(r.topic, (list = []));
            list.push({ key: r.key, value: r.value, headers: r.headers });
          }
          await producer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
          });
        }
      },
      close,
    };
  }

  async consumer(options: { groupId: string; topics: string[]; fromBeginning?: boolean }): Promise<RawConsumer> {
    const consumer: Consumer = this.kafka.consumer({
      groupId: options.groupId,
      maxWaitTimeInMs: this.options.maxWaitMs ?? 500,
      minBytes: 1,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? 3_000,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 100, retries: 8 },
    });
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning ?? true });
    let stopping = false;
    let stopped = false;
    let inFlight: Promise<void> = Promise.resolve();
    const logger = this.options.logger;
    /**
     * Offset commits, chained per partition (so they reach the broker in order) and not awaited by the batch: the
     * partition's next batch is fetched at once. The commit is still issued only after the batch's database
     * transactions committed; a commit lost to a crash or rebalance means a redelivery the inbox dedupes.
     */
    const commitChains = new Map<string, Promise<void>>();
    const commitAfter = (topic: string, partition: number, offset: string) => {
      const key = `${topic}\u0000${partition}`;
      const next = (commitChains.get(key) ?? Promise.resolve())
        .then(() => consumer.commitOffsets([{ topic, partition, offset }]))
        .catch((err: unknown) => logger?.warn({ err, topic, partition }, 'offset commit failed'));
      commitChains.set(key, next);
      void next.then(() => {
        if (commitChains.get(key) === next) commitChains.delete(key);
      });
    };

    const stop = async () => {
      if (stopped) return;
      stopping = true;
      stopped = true;
      this.closers.delete(stop);
      await inFlight.catch(() => undefined);
      await Promise.all([...commitChains.values()]);
      // disconnect() waits for the running eachBatch, then leaves the group.
      await consumer.disconnect();
    };
    this.closers.add(stop);

    return {
      run: async (onBatch: (batch: RawBatch) => Promise<void>) => {
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: this.options.partitionsConcurrency ?? 8,
          eachBatch: async (payload) => {
            const { batch } = payload;
            const heartbeat = () => payload.heartbeat();
            const isRunning = () => payload.isRunning();
            const isStale = () => payload.isStale();
            if (stopping || !isRunning() || isStale() || batch.messages.length === 0) return;
            const messages: RawMessage[] = batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key ? m.key.toString('utf8') : null,
              value: m.value,
              headers: headersToStrings(m.headers),
            }));
            const work = (async () => {
              const done = await retryUntilDone(
                () => onBatch({ topic: batch.topic, partition: batch.partition, messages }),
                () => stopping || !isRunning() || isStale(),
                logger,
                heartbeat,
              );
              if (!done) return; // stopping or partition revoked: nothing committed, the batch is redelivered
              const last = batch.messages[batch.messages.length - 1]!;
              payload.resolveOffset(last.offset);
              commitAfter(batch.topic, batch.partition, (BigInt(last.offset) + 1n).toString());
              await heartbeat().catch(() => undefined);
            })();
            inFlight = work;
            await work;
          },
        });
      },
      stop,
    };
  }

  /** Runs `work` on an admin connection opened for it. */
  private async withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  }

  ensureTopics(topics: { name: string; partitions: number }[]): Promise<void> {
    return this.withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length === 0) return;
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: -1 })),
        });
      } catch (err) {
        // another process created some of them meanwhile (TOPIC_ALREADY_EXISTS): fine if they all exist now
        const now = new Set(await admin.listTopics());
        if (!missing.every((t) => now.has(t.name))) throw err;
      }
    });
  }

  listTopics(): Promise<string[]> {
    return this.withAdmin((admin) => admin.listTopics());
  }

  async deleteTopics(names: string[]): Promise<void> {
    if (names.length === 0) return;
    await this.withAdmin((admin) => admin.deleteTopics({ topics: names, timeout: 60_000 }));
  }

  async close(): Promise<void> {
    for (const close of [...this.closers]) await close().catch(() => undefined);
  }
}
