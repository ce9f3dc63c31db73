import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { EventOf } from '@devicesaga/contracts';
import { busMigrations, createDataSource, openDataSource, testDatabaseName, type Bus, type Logger, type OutgoingEvent } from '@devicesaga/platform';
import type { EdgeConfig } from '../src/config';
import { entities } from '../src/db/entities';
import { adapterMigrations } from '../src/db/migrations';
import { mqttEnv, uniqueId, testRoot } from '../../device-simulator/test/support';

/** The adapter's schema in a test database of its own (`ds_test_adapter_<name>` + TEST_DB_SUFFIX), emptied. */
export async function adapterTestDatabase(name: string, logger: Logger): Promise<DataSource> {
  const dataSource = createDataSource(
    {
      DATABASE_HOST: process.env.DATABASE_HOST ?? '127.0.0.1',
      DATABASE_PORT: Number(process.env.DATABASE_PORT ?? 5432),
      DATABASE_USER: process.env.DATABASE_USER ?? 'postgres',
      DATABASE_PASSWORD: process.env.DATABASE_PASSWORD ?? '',
    },
    { database: testDatabaseName(`ds_test_adapter_${name}`), entities, migrations: [...busMigrations, ...adapterMigrations] },
  );
  await openDataSource(dataSource, logger);
  await dataSource.query('TRUNCATE pending_command, device_presence');
  return dataSource;
}

/**
 * A bus whose transactions are real (on `dataSource`) and whose outbox events and direct publishes are collected;
 * `holdPublishes()` makes `publish` wait (Kafka not answering) until `releasePublishes()`.
 */
export function collectingBus(dataSource: () => DataSource, logger: Logger) {
  const enqueued: OutgoingEvent[] = [];
  const published: OutgoingEvent[] = [];
  /** The events each committed transaction emitted. */
  const transactions: OutgoingEvent[][] = [];
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  const bus: Pick<Bus, 'transaction' | 'publish'> = {
    transaction: (work) => {
      const emitted: OutgoingEvent[] = [];
      const after: (() => void)[] = [];
      return dataSource()
        .transaction((manager) => work({ manager, logger, emit: (e) => void emitted.push(e), afterCommit: (fn) => void after.push(fn) }))
        .then((value) => {
          enqueued.push(...emitted);
          transactions.push(emitted);
          for (const fn of after) fn();
          return value;
        });
    },
    publish: async (events) => {
      if (gate) await gate;
      published.push(...events);
    },
  };
  return {
    bus,
    enqueued,
    published,
    transactions,
    holdPublishes() {
      gate = new Promise((resolve) => (open = resolve));
    },
    releasePublishes() {
      gate = undefined;
      open?.();
    },
  };
}

/** An edge configuration with its own MQTT session and shared-subscription group. */
export function edgeConfig(over: Partial<EdgeConfig> = {}): EdgeConfig {
  const env = mqttEnv();
  const tag = uniqueId('t').slice(2);
  return {
    MQTT_URL: env.url,
    MQTT_ADAPTER_USERNAME: env.adapterUsername,
    MQTT_ADAPTER_PASSWORD: env.adapterPassword,
    MQTT_CLIENT_ID: `adapter-test-${tag}`,
    MQTT_SHARE_GROUP: `adaptertest${tag}`,
    MQTT_SESSION_EXPIRY_S: 60,
    MQTT_RECEIVE_MAXIMUM: 1000,
    MQTT_COMMAND_ORIGIN: `adapter-test-${tag}`,
    MQTT_TOPIC_ROOT: testRoot,
    REPLY_TIMEOUT_MS: 60_000,
    REPLY_BATCH_MS: 1,
    REPLY_BATCH_MAX: 1000,
    TELEMETRY_BATCH_MS: 2,
    TELEMETRY_BATCH_MAX: 1000,
    ...over,
  };
}

export function approved(deviceId: string, over: Partial<EventOf<'dm.value_set_approved'>['payload']> = {}): EventOf<'dm.value_set_approved'> {
  const commandId = randomUUID();
  return {
    id: randomUUID(),
    type: 'dm.value_set_approved',
    occurredAt: new Date().toISOString(),
    correlationId: commandId,
    causationId: randomUUID(),
    producer: 'device-service',
    payload: {
      commandId,
      userId: 'user-1',
      deviceId,
      sensorId: 'sensor-1',
      parameter: 'temperature',
      action: 'set',
      value: 21.5,
      previousValue: 20,
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      ...over,
    },
  };
}

/** The saga outcome events collected for a command. */
export const outcomesOf = (events: OutgoingEvent[], commandId: string) =>
  events.filter((e) => (e.topic === 'adapter.value_set_sent' || e.topic === 'adapter.value_set_error') && (e.payload as { commandId: string }).commandId === commandId);

/** Approves commands for a device without publishing them (the test plays the device, or wants it silent). */
export const recordOnly = { isOnline: () => true, replyTimeoutMs: 60_000, dispatch: () => undefined };
