import { randomUUID } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type { EventOf, PayloadOf, Topic } from '@devicesaga/contracts';
import { createLogger, ensureDatabase as ensureDatabaseOn, handleOnce, openDataSource, type BatchHandlerSpec, type Handler, type OutgoingEvent, type TxContext } from '@devicesaga/platform';
import { deviceDataSource } from '../src/db/data-source';

export const logger = createLogger('device-service-test', process.env.LOG_LEVEL ?? 'silent');

export const dbSettings = {
  DATABASE_HOST: process.env.DATABASE_HOST ?? '127.0.0.1',
  DATABASE_PORT: Number(process.env.DATABASE_PORT ?? 5432),
  DATABASE_USER: process.env.DATABASE_USER ?? 'postgres',
  DATABASE_PASSWORD: process.env.DATABASE_PASSWORD ?? '',
};

/** Creates the database when missing (tests own `ds_test_device*`). */
export function ensureDatabase(name: string): Promise<void> {
  return ensureDatabaseOn(dbSettings, name);
}

export async function openTestDataSource(name: string): Promise<DataSource> {
  await ensureDatabase(name);
  return openDataSource(deviceDataSource(dbSettings, name), logger);
}

export async function truncateAll(ds: DataSource): Promise<void> {
  await ds.query(`TRUNCATE queued_commands, sagas, sensors, devices, grants, memberships, user_groups, device_groups, outbox, inbox`);
  await ds.query(`DELETE FROM parameters WHERE name NOT IN ('temperature', 'enabled')`);
}

/** A device with one temperature sensor (value 20), in a group granted to `userId`. */
export async function seedDevice(ds: DataSource, userId: string, opts: { value?: number | null; parameter?: string } = {}) {
  const deviceGroupId = randomUUID();
  const userGroupId = randomUUID();
  const deviceId = randomUUID();
  const sensorId = randomUUID();
  await ds.query(`INSERT INTO device_groups (id, name, created_by) VALUES ($1, 'g', $2)`, [deviceGroupId, userId]);
  await ds.query(`INSERT INTO user_groups (id, name, created_by) VALUES ($1, 'u', $2)`, [userGroupId, userId]);
  await ds.query(`INSERT INTO memberships (user_group_id, user_id) VALUES ($1, $2)`, [userGroupId, userId]);
  await ds.query(`INSERT INTO grants (user_group_id, device_group_id, created_by) VALUES ($1, $2, $3)`, [userGroupId, deviceGroupId, userId]);
  await ds.query(`INSERT INTO devices (id, name, group_id, created_by, mqtt_password_hash) VALUES ($1, 'd', $2, $3, 'x')`, [deviceId, deviceGroupId, userId]);
  await ds.query(`INSERT INTO sensors (id, device_id, parameter, value) VALUES ($1, $2, $3, $4)`, [
    sensorId,
    deviceId,
    opts.parameter ?? 'temperature',
    opts.value === undefined ? 20 : opts.value,
  ]);
  return { deviceGroupId, userGroupId, deviceId, sensorId };
}

export interface Emitted {
  topic: Topic;
  key: string;
  correlationId: string;
  causationId: string | null | undefined;
  payload: Record<string, unknown>;
}

export function envelope<T extends Topic>(topic: T, payload: PayloadOf<T>, correlationId: string): EventOf<T> {
  return { id: randomUUID(), type: topic, occurredAt: new Date().toISOString(), correlationId, causationId: null, producer: 'test', payload };
}

/** A HandlerContext on a real transaction whose `emit` (and the outbox seam) collect events. */
export function collector() {
  const emitted: Emitted[] = [];
  const emit = (e: OutgoingEvent) => {
    emitted.push({ topic: e.topic, key: e.key, correlationId: e.correlationId, causationId: e.causationId, payload: e.payload });
  };
  const run = <T extends Topic>(ds: DataSource, handler: Handler<T> | BatchHandlerSpec<T>, events: EventOf<T> | EventOf<T>[]) =>
    handleOnce(ds, handler, events, { logger, emit });
  /** `bus.transaction` on the test database, its events collected. */
  const transaction =
    (ds: DataSource) =>
    <R>(work: (tx: TxContext) => Promise<R>): Promise<R> =>
      ds.transaction((manager) => work({ manager, logger, emit, afterCommit: (fn) => fn() }));
  return { emitted, emit, run, transaction };
}

/** MQTT_ADMIN_* etc. from the environment, else from infra's generated credentials file. */
export function infraCredentials(): Record<string, string> {
  const out: Record<string, string> = {};
  const file = join(__dirname, '..', '..', 'infra', '.run', 'credentials.env');
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (m?.[1] && m[2] !== undefined) out[m[1]] = m[2];
    }
  }
  for (const k of Object.keys(out)) if (process.env[k]) out[k] = process.env[k];
  return out;
}
