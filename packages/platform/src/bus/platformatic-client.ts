import type { KafkaClient, RawBatch, RawConsumer, RawMessage, RawProducer, RawRecord } from './types';
import { chunkRecords, retryUntilDone, type ClientOptions } from './client-common';

/** @platformatic/kafka is ESM-only: load it lazily (the CommonJS build keeps dynamic imports). */
import type * as PlatformaticKafka from '@platformatic/kafka' with { 'resolution-mode': 'import' };
type Platformatic = typeof PlatformaticKafka;
let loaded: Promise<Platformatic> | undefined;
const load = () => (loaded ??= import('@platformatic/kafka'));

type PMessage = PlatformaticKafka.Message<string, Buffer, string, string>;

/**
 * The @platformatic/kafka adapter: idempotent acks=all producer (Java-compatible murmur2 partitioner, same partition
 * per key as kafkajs), a paused message stream read in batches with autocommit off and explicit commits.
 */
export class PlatformaticClient implements KafkaClient {
  readonly name = 'platformatic' as const;
  private readonly closers = new Set<() => Promise<void>>();

  constructor(private readonly options: ClientOptions) {}

  async producer(): Promise<RawProducer> {
    const k = await load();
    const producer = new k.Producer<string, Buffer, string, string>({
      clientId: this.options.clientId,
      bootstrapBrokers: this.options.brokers,
      idempotent: true,
      acks: k.ProduceAcks.ALL,
      autocreateTopics: false,
      partitioner: k.compatibilityPartitioner,
      serializers: { key: k.stringSerializer, headerKey: k.stringSerializer, headerValue: k.stringSerializer },
    });
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      this.closers.delete(close);
      await producer.close();
    };
    this.closers.add(close);
    return {
      async send(records: RawRecord[]) {
        for (const chunk of chunkRecords(records)) {
          await producer.send({
            messages: chunk.map((r) => ({ topic: r.topic, key: r.key, value: r.value, headers: r.headers })),
          });
        }
      },
      close,
    };
  }

  async consumer(options: { groupId: string; topics: string[]; fromBeginning?: boolean }): Promise<RawConsumer> {
    const k = await load();
    const logger = this.options.logger;
    const consumer = new k.Consumer<string, Buffer, string, string>({
      clientId: this.options.clientId,
      bootstrapBrokers: this.options.brokers,
      groupId: options.groupId,
      autocommit: false,
      maxWaitTime: this.options.maxWaitMs ?? 500,
      minBytes: 1,
      sessionTimeout: this.options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: this.options.heartbeatIntervalMs ?? 3_000,
      highWaterMark: 2048,
      deserializers: { key: k.stringDeserializer, headerKey: k.stringDeserializer, headerValue: k.stringDeserializer },
    });
    const stream = await consumer.consume({
      topics: options.topics,
      autocommit: false,
      mode: k.MessagesStreamModes.COMMITTED,
      fallbackMode: options.fromBeginning === false ? k.MessagesStreamFallbackModes.LATEST : k.MessagesStreamFallbackModes.EARLIEST,
    });
    let stopping = false;
    let wake: (() => void) | undefined;
    let loop: Promise<void> | undefined;
    let stopped = false;
    const commits = new Set<Promise<void>>();
    const concurrency = this.options.partitionsConcurrency ?? 8;
    stream.on('error', (err) => logger?.error({ err }, 'platformatic consumer stream error'));
    // A permanent 'readable' listener keeps the stream in paused (pull) mode. With none, Node resets
    // readableFlowing to null and the library's fetch loop stops ("nobody is consuming").
    stream.on('readable', () => wake?.());

    const readAvailable = (): PMessage[] => {
      const out: PMessage[] = [];
      for (;;) {
        const m = stream.read() as PMessage | null;
        if (m === null) return out;
        out.push(m);
        if (out.length >= 5000) return out;
      }
    };

    const processBatch = async (
      onBatch: (batch: RawBatch) => Promise<void>,
      messages: PMessage[],
    ): Promise<void> => {
      const first = messages[0]!;
      const raw: RawMessage[] = messages.map((m) => ({
        topic: m.topic,
        partition: m.partition,
        offset: m.offset.toString(),
        key: m.key ?? null,
        value: m.value ?? null,
        headers: Object.fromEntries(m.headers),
      }));
      const done = await retryUntilDone(
        () => onBatch({ topic: first.topic, partition: first.partition, messages: raw }),
        () => stopping,
        logger,
      );
      if (!done) return;
      // commit() of the last message commits its offset + 1 for the partition.
      // The commit is issued only now (after the batch's transactions committed) but not awaited: the next batch
      // starts at once and the library merges commits per partition (monotonic). stop() awaits the last ones.
      const commit = Promise.resolve(messages[messages.length - 1]!.commit()).catch((err: unknown) => {
        // e.g. the partition was revoked by a rebalance: its new owner redelivers, the inbox dedupes.
        logger?.warn({ err, topic: first.topic, partition: first.partition }, 'offset commit failed');
      });
      commits.add(commit);
      void commit.finally(() => commits.delete(commit));
    };

    const stop = async () => {
      if (stopped) return;
      stopped = true;
      stopping = true;
      this.closers.delete(stop);
      wake?.();
      await loop?.catch(() => undefined);
      await Promise.all([...commits]);
      await stream.close().catch(() => undefined);
      await consumer.close(true).catch(() => undefined);
    };
    this.closers.add(stop);

    /**
     * Each partition is its own pipeline: the messages read from the stream queue per partition, and a partition whose
     * previous batch is done takes everything queued for it at once — without waiting for the other partitions of the
     * same read (no head-of-line blocking; the runner merges what arrives meanwhile into its next transaction). One
     * batch per partition at a time keeps per-key order; at most `concurrency` partitions run at once; reading pauses
     * while `maxQueued` messages wait, so a slow handler holds the fetch back instead of filling memory.
     */
    const queues = new Map<string, PMessage[]>();
    const busy = new Set<string>();
    const inFlight = new Set<Promise<void>>();
    let queued = 0;
    const maxQueued = 5_000;
    const schedule = (onBatch: (batch: RawBatch) => Promise<void>) => {
      for (const [key, list] of queues) {
        if (busy.size >= concurrency || stopping) return;
        if (busy.has(key) || list.length === 0) continue;
        queues.delete(key);
        queued -= list.length;
        busy.add(key);
        const work = processBatch(onBatch, list)
          .catch((err: unknown) => logger?.error({ err }, 'platformatic consumer batch error'))
          .finally(() => {
            busy.delete(key);
            inFlight.delete(work);
            schedule(onBatch);
            wake?.();
          });
        inFlight.add(work);
      }
    };

    return {
      run: async (onBatch) => {
        loop = (async () => {
          while (!stopping) {
            const messages = queued < maxQueued ? readAvailable() : [];
            if (messages.length === 0) {
              await new Promise<void>((resolve) => {
                wake = resolve;
              });
              wake = undefined;
              continue;
            }
            for (const m of messages) {
              const key = `${m.topic}\u0000${m.partition}`;
              let list = queues.get(key);
              if (!list) queues.set(key, (list = []));
              list.push(m);
            }
            queued += messages.length;
            schedule(onBatch);
          }
          await Promise.all([...inFlight]);
        })();
        await Promise.resolve();
      },
      stop,
    };
  }

  /** Runs `work` on an admin client created for it. */
  private async withAdmin<T>(work: (admin: PlatformaticKafka.Admin) => Promise<T>): Promise<T> {
    const k = await load();
    const admin = new k.Admin({ clientId: `${this.options.clientId}-admin`, bootstrapBrokers: this.options.brokers });
    try {
      return await work(admin);
    } finally {
      await admin.close();
    }
  }

  ensureTopics(topics: { name: string; partitions: number }[]): Promise<void> {
    return this.withAdmin(async (admin) => {
      const existing = new Set(await admin.listTopics());
      for (const t of topics) {
        if (existing.has(t.name)) continue;
        try {
          await admin.createTopics({ topics: [t.name], partitions: t.partitions, replicas: -1 });
        } catch (err) {
          // another process created it meanwhile (TOPIC_ALREADY_EXISTS): fine
          if (!(await admin.listTopics()).includes(t.name)) throw err;
        }
      }
    });
  }

  listTopics(): Promise<string[]> {
    return this.withAdmin((admin) => admin.listTopics());
  }

  async deleteTopics(names: string[]): Promise<void> {
    if (names.length === 0) return;
    await this.withAdmin((admin) => admin.deleteTopics({ topics: names }));
  }

  async close(): Promise<void> {
    for (const close of [...this.closers]) await close().catch(() => undefined);
  }
}
