/**
 * One hop of the benchmark chain, in its own process. `bare`: consume → produce with the raw client (no database,
 * no decoding; stamps a header). `full`: the real bus — idempotent consumer (inbox) + handler + outbox in one
 * transaction + relay — on its own PostgreSQL database; stamps the payload.
 */
import { DataSource } from 'typeorm';
import { busMigrations, createBus, createKafkaClient, type RawRecord } from '../../packages/platform/src/bus';
import { ensureDatabase, logger, now, TOPIC, type HopConfig } from './common';

async function bare(cfg: HopConfig): Promise<() => Promise<void>> {
  const client = createKafkaClient(cfg.adapter, { clientId: `bench-hop${cfg.index}`, brokers: cfg.brokers, logger });
  const producer = await client.producer();
  const out = `${cfg.outTopicPrefix}${TOPIC}`;
  await client.ensureTopics([{ name: `${cfg.inTopicPrefix}${TOPIC}`, partitions: 3 }, { name: out, partitions: 3 }]);
  const consumer = await client.consumer({ groupId: cfg.groupId, topics: [`${cfg.inTopicPrefix}${TOPIC}`], fromBeginning: true });
  const stamp = `x-t${cfg.index}`;
  await consumer.run(async (batch) => {
    const t = String(now());
    const records: RawRecord[] = batch.messages.map((m) => ({ topic: out, key: m.key ?? '', value: m.value!, headers: { ...m.headers, [stamp]: t } }));
    await producer.send(records);
  });
  return async () => {
    await consumer.stop();
    await client.close();
  };
}

async function full(cfg: HopConfig): Promise<() => Promise<void>> {
  const url = await ensureDatabase(`bench_bus_hop${cfg.index}`);
  const ds = new DataSource({ type: 'postgres', url, migrations: busMigrations, extra: { max: 8 } });
  await ds.initialize();
  await ds.runMigrations();
  await ds.query('TRUNCATE outbox, inbox');
  const bus = createBus({
    serviceName: `bench-hop${cfg.index}`,
    client: cfg.adapter,
    brokers: cfg.brokers,
    registryUrl: cfg.registryUrl,
    dataSource: ds,
    logger,
    topicPrefix: cfg.inTopicPrefix,
    publishTopicPrefix: cfg.outTopicPrefix,
    metrics: false,
  });
  await bus.consume({
    groupId: cfg.groupId,
    handlers: {
      [TOPIC]: (event, ctx) => {
        const p = event.payload;
        const t = Array.isArray(p.payload.t) ? (p.payload.t as number[]) : [];
        ctx.emit({ topic: TOPIC, key: p.userId, payload: { ...p, payload: { ...p.payload, t: [...t, now()] } }, correlationId: event.correlationId, causationId: event.id });
        return Promise.resolve();
      },
    },
  });
  await bus.startRelay();
  return async () => {
    await bus.stop();
    await ds.destroy();
  };
}

async function main() {
  const cfg = JSON.parse(process.env.BENCH_HOP ?? '{}') as HopConfig;
  const stop = cfg.mode === 'bare' ? await bare(cfg) : await full(cfg);
  process.on('message', (msg) => {
    if (msg === 'stop') {
      void stop()
        .catch((err: unknown) => logger.error({ err }, 'stop failed'))
        .finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0)); // the orchestrator is gone
  process.send?.('ready');
}

main().catch((err: unknown) => {
  logger.error({ err }, 'hop failed');
  process.exit(1);
});
