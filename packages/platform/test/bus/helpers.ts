import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { DataSource } from 'typeorm';
import type { PayloadOf } from '@devicesaga/contracts';
import {
  busMigrations,
  createBus,
  createKafkaClient,
  type BusInstance,
  type BusOptions,
  type KafkaClient,
  type KafkaClientName,
  type RawMessage,
} from '../../src/bus';

/** Reads infra/.run/env when present (KEY=VALUE lines), else the documented defaults. */
function infraEnv(): Record<string, string> {
  try {
    const text = readFileSync(join(__dirname, '../../../../infra/.run/env'), 'utf8');
    const out: Record<string, string> = {};
    for (const line of text.split('\n')) {
      const m = /^: "\$\{([A-Z0-9_]+):=([^}$]*)\}"/.exec(line.trim()) ?? /^(?:export\s+)?([A-Z0-9_]+)=["']?([^"'$]*)["']?$/.exec(line.trim());
      if (m) out[m[1]!] = m[2]!;
    }
    return out;
  } catch {
    return {};
  }
}
const env = { ...infraEnv(), ...process.env };

export const brokers = (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const registryUrl = env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
export const pgUrl = env.BUS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/ds_test';
export const logger = pino({ level: process.env.BUS_TEST_LOG ?? 'fatal' });
export const adapters: KafkaClientName[] = ['kafkajs', 'platformatic'];

export const uid = () => randomUUID().replace(/-/g, '').slice(0, 10);

/** A DataSource on its own schema of ds_test (search_path), migrated, plus an `effects` table for handlers. */
export async function testDataSource(schema = `bus_${uid()}`): Promise<DataSource> {
  const admin = new DataSource({ type: 'postgres', url: pgUrl });
  await admin.initialize();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await admin.destroy();
  const ds = await testDataSourceOn(schema);
  await ds.runMigrations();
  await ds.query(`CREATE TABLE IF NOT EXISTS effects (message_id uuid NOT NULL, key text NOT NULL, value double precision)`);
  return ds;
}

/** A DataSource on an existing schema. */
export async function testDataSourceOn(schema: string): Promise<DataSource> {
  const ds = new DataSource({
    type: 'postgres',
    url: pgUrl,
    migrations: busMigrations,
    extra: { options: `-c search_path=${schema}`, max: 10 },
  });
  await ds.initialize();
  return ds;
}

export async function dropSchema(ds: DataSource): Promise<void> {
  const [row] = await ds.query<{ s: string }[]>('SELECT current_schema() AS s');
  if (row?.s?.startsWith('bus_')) await ds.query(`DROP SCHEMA ${row.s} CASCADE`);
  await ds.destroy();
}

export function testBus(adapter: KafkaClientName | KafkaClient, ds: DataSource | undefined, prefix: string, extra: Partial<BusOptions> = {}): BusInstance {
  return createBus({
    serviceName: 'bus-test',
    client: adapter,
    brokers,
    registryUrl,
    dataSource: ds,
    logger,
    topicPrefix: prefix,
    partitions: 3,
    relay: { pollMs: 100, lockRetryMs: 100 },
    metrics: false,
    // a short session so a killed member leaves the group quickly (the broker's minimum is 6 s)
    clientOptions: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500 },
    ...extra,
  });
}

export function measure(deviceId: string, n: number): PayloadOf<'adapter.measure_received'> {
  return { deviceId, ts: new Date().toISOString(), values: { n } };
}

export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A raw consumer (own client and group) that keeps every message of some topics. */
export async function collect(adapter: KafkaClientName, topics: string[]) {
  const client = createKafkaClient(adapter, { clientId: `collector-${uid()}`, brokers, logger });
  await client.ensureTopics(topics.map((name) => ({ name, partitions: 3 })));
  const consumer = await client.consumer({ groupId: `collector-${uid()}`, topics, fromBeginning: true });
  const messages: RawMessage[] = [];
  await consumer.run((batch) => {
    messages.push(...batch.messages);
    return Promise.resolve();
  });
  return {
    messages,
    async stop() {
      await consumer.stop();
      await client.close();
    },
  };
}

export async function effectsOf(ds: DataSource, messageId: string): Promise<number> {
  const [row] = await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM effects WHERE message_id = $1', [messageId]);
  return row?.n ?? 0;
}
