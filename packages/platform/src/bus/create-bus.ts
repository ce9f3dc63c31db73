import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { dlqTopic, isTopic, type Topic } from '@devicesaga/contracts';
import type { Bus, ConsumerHandle, ConsumerOptions, KafkaClient, OutgoingEvent, RawProducer, TxContext } from './types';
import { createKafkaClient, type KafkaClientName } from './client-factory';
import type { ClientOptions } from './client-common';
import { SchemaCodec } from './schema-codec';
import { buildRow, OutboxRelay, type RelayOptions } from './outbox';
import { runTransaction } from './transaction';
import { createBatchHandler } from './consumer-runner';
import { createBusMetrics, type BusMetricsOptions } from './metrics';

export interface BusOptions {
  serviceName: string;
  /** A client adapter, or its name (`KAFKA_CLIENT`). */
  client: KafkaClient | KafkaClientName;
  brokers: string[];
  registryUrl: string;
  /** The service's database (outbox, inbox); required for `transaction`, `startRelay` and `consume`. */
  dataSource?: DataSource;
  logger: Logger;
  /** Prefix of every Kafka topic name (namespacing for tests and benchmarks); default none. */
  topicPrefix?: string;
  /** Prefix of the topics this bus publishes to (relay and `publish`); defaults to `topicPrefix`. */
  publishTopicPrefix?: string;
  /** Partitions of topics the bus creates when missing (default 3). */
  partitions?: number;
  relay?: Pick<RelayOptions, 'batchSize' | 'pollMs' | 'lockRetryMs' | 'afterSend' | 'inboxRetentionMs' | 'retention' | 'pruneEveryMs'>;
  clientOptions?: Omit<ClientOptions, 'clientId' | 'brokers' | 'logger'>;
  /** prom-client counters (default: the global registry); `false` disables them. */
  metrics?: BusMetricsOptions | false;
}

/** The bus plus a few handles for tests, benchmarks and health checks. */
export interface BusInstance extends Bus {
  readonly client: KafkaClient;
  readonly codec: SchemaCodec;
  /** The running relay, once `startRelay()` was called. */
  readonly relay: OutboxRelay | undefined;
  /** Kafka topic name of a catalog topic for publishing (with the prefix). */
  publishTopic(topic: Topic): string;
  /** Kafka topic name of a catalog topic for consuming (with the prefix). */
  consumeTopic(topic: Topic): string;
}

export function createBus(options: BusOptions): BusInstance {
  const { serviceName, logger: rootLogger, dataSource } = options;
  const logger = rootLogger.child({ component: 'bus' });
  const client =
    typeof options.client === 'string'
      ? createKafkaClient(options.client, { clientId: serviceName, brokers: options.brokers, logger, ...options.clientOptions })
      : options.client;
  const codec = new SchemaCodec(options.registryUrl);
  const prefix = options.topicPrefix ?? '';
  const publishPrefix = options.publishTopicPrefix ?? prefix;
  const partitions = options.partitions ?? 3;
  const metrics = options.metrics === false ? undefined : createBusMetrics(options.metrics ?? {});
  const consumers = new Set<ConsumerHandle>();
  const ensured = new Set<string>();
  let producerP: Promise<RawProducer> | undefined;
  let relay: OutboxRelay | undefined;
  let stopped = false;

  const publishTopic = (t: Topic) => `${publishPrefix}${t}`;
  const consumeTopic = (t: Topic) => `${prefix}${t}`;
  const catalogTopic = (kafkaTopic: string): Topic | null => {
    if (!kafkaTopic.startsWith(prefix)) return null;
    const name = kafkaTopic.slice(prefix.length);
    return isTopic(name) ? name : null;
  };

  const ensureTopics = async (names: string[]) => {
    const missing = [...new Set(names)].filter((n) => !ensured.has(n));
    if (missing.length === 0) return;
    await client.ensureTopics(missing.map((name) => ({ name, partitions })));
    for (const n of missing) ensured.add(n);
  };

  const producer = () => {
    if (!producerP) {
      producerP = client.producer();
      producerP.catch(() => (producerP = undefined));
    }
    return producerP;
  };

  /** The relay's producer makes sure a topic exists before its first record goes there. */
  const ensuringProducer = async (): Promise<RawProducer> => {
    const p = await producer();
    return {
      send: async (records) => {
        await ensureTopics(records.map((r) => r.topic));
        await p.send(records);
        metrics?.published(records);
      },
      close: () => p.close(),
    };
  };

  const requireDb = (what: string): DataSource => {
    if (!dataSource) throw new Error(`bus: ${what} needs a dataSource`);
    return dataSource;
  };

  return {
    client,
    codec,
    get relay() {
      return relay;
    },
    publishTopic,
    consumeTopic,

    async transaction<R>(work: (ctx: TxContext) => Promise<R>): Promise<R> {
      const ds = requireDb('transaction');
      const { value } = await runTransaction({ dataSource: ds, serviceName, logger, relay: () => relay }, work);
      return value;
    },

    async publish(events: OutgoingEvent[], publishOptions?: { prevalidated?: boolean }) {
      if (events.length === 0) return;
      await codec.init();
      const validate = publishOptions?.prevalidated !== true;
      const rows = events.map((e) => buildRow(serviceName, e, undefined, validate));
      const p = await ensuringProducer();
      // buildRow validated each envelope: encode without validating again
      await p.send(
        rows.map((r) => ({ topic: publishTopic(r.topic), key: r.key, value: codec.encodeJson(r.topic, JSON.stringify(r.envelope)), headers: r.headers })),
      );
    },

    async startRelay() {
      if (relay) return;
      const ds = requireDb('startRelay');
      await codec.init();
      relay = new OutboxRelay({
        dataSource: ds,
        producer: await ensuringProducer(),
        codec,
        topicName: publishTopic,
        logger: logger.child({ component: 'outbox-relay' }),
        ...options.relay,
      });
      relay.start();
      metrics?.watchOutbox(async () => {
        const [row] = await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM outbox');
        return row?.n ?? 0;
      });
    },

    async consume<T extends Topic>(consumerOptions: ConsumerOptions<T>): Promise<ConsumerHandle> {
      if (stopped) throw new Error('bus stopped');
      const ds = requireDb('consume');
      const topics = (Object.keys(consumerOptions.handlers) as T[]).map(consumeTopic);
      if (topics.length === 0) throw new Error('consume: no handlers');
      // A broker or registry that has just started (fresh topics, group coordinator still loading) refuses for a
      // moment: retry the start-up instead of failing the service.
      const consumer = await withStartupRetries(logger, `consumer ${consumerOptions.groupId}`, async () => {
        await codec.init();
        await ensureTopics([...topics, ...topics.map(dlqTopic)]);
        const onBatch = createBatchHandler(
          { serviceName, dataSource: ds, codec, producer: await ensuringProducer(), logger, catalogTopic, metrics, relay: () => relay },
          consumerOptions,
        );
        const started = await client.consumer({ groupId: consumerOptions.groupId, topics, fromBeginning: consumerOptions.fromBeginning ?? true });
        try {
          await started.run(onBatch);
        } catch (err) {
          await started.stop().catch(() => undefined);
          throw err;
        }
        return started;
      });
      logger.info({ group: consumerOptions.groupId, topics, client: client.name }, 'consumer started');
      const handle: ConsumerHandle = {
        stop: async () => {
          consumers.delete(handle);
          await consumer.stop();
        },
      };
      consumers.add(handle);
      return handle;
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([...consumers].map((c) => c.stop()));
      await relay?.stop({ drain: true });
      if (producerP) await (await producerP).close().catch(() => undefined);
      await client.close();
    },
  };
}

/** Runs a start-up step until it succeeds: up to 8 attempts, backing off from 500 ms to 5 s. */
async function withStartupRetries<T>(logger: Logger, what: string, step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (attempt >= 8) throw err;
      const delayMs = Math.min(500 * 2 ** (attempt - 1), 5_000);
      logger.warn({ err, attempt, delayMs }, `${what}: start-up failed, retrying`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
