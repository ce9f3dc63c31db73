import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { DataSource } from 'typeorm';
import type { EventOf } from '@devicesaga/contracts';
import { busMigrations, createDataSource, createLogger, handleOnce, openDataSource, testDatabaseName, type Bus, type OutgoingEvent } from '@devicesaga/platform';
import { DeviceEdge } from '../src/edge';
import { entities, PendingCommand } from '../src/db/entities';
import { adapterMigrations } from '../src/db/migrations';
import { adapterHandlers } from '../src/handlers';
import { SimulatedDevice } from '../../device-simulator/src/device';
import { collect, connectAs, createDeviceClient, deleteDeviceClient, mqttEnv, sleep, uniqueId, until, testRoot } from '../../device-simulator/test/support';

jest.setTimeout(30_000);
const env = mqttEnv();
const logger = createLogger('adapter-test', process.env.LOG_LEVEL ?? 'warn');

/** Outbox events (bus.transaction and ctx.emit) and direct publishes, collected. */
const enqueued: OutgoingEvent[] = [];
const published: OutgoingEvent[] = [];
const bus: Pick<Bus, 'transaction' | 'publish'> = {
  transaction: (work) => {
    const emitted: OutgoingEvent[] = [];
    const after: (() => void)[] = [];
    return dataSource
      .transaction((manager) => work({ manager, logger, emit: (e) => void emitted.push(e), afterCommit: (fn) => void after.push(fn) }))
      .then((value) => {
        enqueued.push(...emitted);
        for (const fn of after) fn();
        return value;
      });
  },
  publish: (events) => {
    published.push(...events);
    return Promise.resolve();
  },
};

let dataSource: DataSource;
let edge: DeviceEdge;
const tag = randomUUID().slice(0, 8);

function edgeDeps(): ConstructorParameters<typeof DeviceEdge>[0] {
  return {
    dataSource,
    bus,
    logger,
    config: {
      MQTT_URL: env.url,
      MQTT_ADAPTER_USERNAME: env.adapterUsername,
      MQTT_ADAPTER_PASSWORD: env.adapterPassword,
      MQTT_CLIENT_ID: `adapter-test-${tag}`,
      MQTT_SHARE_GROUP: `adaptertest${tag}`,
      MQTT_SESSION_EXPIRY_S: 30,
      MQTT_RECEIVE_MAXIMUM: 1000,
      MQTT_COMMAND_ORIGIN: `adapter-test-${tag}`,
      MQTT_TOPIC_ROOT: testRoot,
      REPLY_TIMEOUT_MS: 1000,
      REPLY_BATCH_MS: 1,
      REPLY_BATCH_MAX: 500,
      TELEMETRY_BATCH_MS: 5,
      TELEMETRY_BATCH_MAX: 500,
    },
  };
}
const created: string[] = [];
const stoppers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  dataSource = createDataSource(
    { DATABASE_HOST: process.env.DATABASE_HOST ?? '127.0.0.1', DATABASE_PORT: Number(process.env.DATABASE_PORT ?? 5432), DATABASE_USER: process.env.DATABASE_USER ?? 'postgres', DATABASE_PASSWORD: process.env.DATABASE_PASSWORD ?? '' },
    { database: testDatabaseName('ds_test_adapter'), entities, migrations: [...busMigrations, ...adapterMigrations] },
  );
  await openDataSource(dataSource, logger);
  await dataSource.query('TRUNCATE pending_command, device_presence');
  edge = new DeviceEdge(edgeDeps());
  await edge.start();
});

afterAll(async () => {
  for (const stop of stoppers) await stop().catch(() => undefined);
  await edge?.stop();
  await dataSource?.destroy();
  for (const id of created) await deleteDeviceClient(id);
});

async function newDevice(prefix = 'dev'): Promise<{ id: string; password: string }> {
  const id = uniqueId(prefix);
  created.push(id);
  return { id, password: await createDeviceClient(id) };
}

async function simulated(options: { replyLatencyMs?: number } = {}): Promise<SimulatedDevice> {
  const { id, password } = await newDevice('sim');
  const device = new SimulatedDevice({ topicRoot: testRoot, id, password, mqttUrl: env.url, telemetryMs: 0, sessionExpirySec: 60, ...options });
  stoppers.push(() => device.stop());
  await device.start();
  await until(`${id} online at the adapter`, () => edge.isOnline(id));
  return device;
}

function approved(deviceId: string, over: Partial<EventOf<'dm.value_set_approved'>['payload']> = {}): EventOf<'dm.value_set_approved'> {
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
      expiresAt: new Date(Date.now() + 30_000).toISOString(),
      ...over,
    },
  };
}

/** Runs the handler in a real transaction with a context whose emit collects events. */
async function deliver(event: EventOf<'dm.value_set_approved'>, beforeCommit?: () => Promise<void>): Promise<OutgoingEvent[]> {
  const emitted: OutgoingEvent[] = [];
  await handleOnce(dataSource, adapterHandlers(edge)['dm.value_set_approved'], event, {
    logger,
    emit: (e) => void emitted.push(e),
    beforeCommit,
  });
  return emitted;
}

const outcomesOf = (commandId: string) =>
  enqueued.filter((e) => (e.topic === 'adapter.value_set_sent' || e.topic === 'adapter.value_set_error') && (e.payload as { commandId: string }).commandId === commandId);

const outcome = (commandId: string) => until(`the outcome of ${commandId}`, () => outcomesOf(commandId)[0], 15_000);

describe('adapter: dm.value_set_approved → device → one outcome', () => {
  it('when the device accepts, adapter.value_set_sent is produced and the command is closed SENT', async () => {
    const device = await simulated();
    const event = approved(device.id);
    const emitted = await deliver(event);
    expect(emitted).toEqual([]);
    const e = await outcome(event.payload.commandId);
    expect(e).toMatchObject({
      topic: 'adapter.value_set_sent',
      key: device.id,
      correlationId: event.payload.commandId,
      causationId: event.id,
      payload: { commandId: event.payload.commandId, userId: 'user-1', deviceId: device.id, sensorId: 'sensor-1', value: 21.5, deviceValue: 21.5 },
    });
    const row = await dataSource.getRepository(PendingCommand).findOneByOrFail({ commandId: event.payload.commandId });
    expect(row.state).toBe('SENT');
  });

  it('when the device refuses, adapter.value_set_error REFUSED carries its reason', async () => {
    const device = await simulated();
    const event = approved(device.id, { value: 74.4 });
    await deliver(event);
    expect(await outcome(event.payload.commandId)).toMatchObject({
      topic: 'adapter.value_set_error',
      payload: { reason: 'REFUSED', message: 'above hardware limit 70' },
    });
  });

  it('publishes a command only after its pending row commits, so the reply always finds the row', async () => {
    const device = await simulated();
    const event = approved(device.id, { value: 22 });
    const received: string[] = [];
    device.on('command', (c) => received.push(c.commandId));
    await deliver(event, async () => {
      await sleep(300); // the transaction is still open: nothing may have reached the device yet
      expect(received).toEqual([]);
    });
    expect(await outcome(event.payload.commandId)).toMatchObject({ topic: 'adapter.value_set_sent', payload: { value: 22 } });
    expect(received).toEqual([event.payload.commandId]);
    // the device's one reply found the row and closed it (an ignored reply would have left it to time out)
    const row = await dataSource.getRepository(PendingCommand).findOneByOrFail({ commandId: event.payload.commandId });
    expect(row).toMatchObject({ state: 'SENT', deviceValue: 22 });
  });

  it('on start, publishes again every open command (a crash between commit and publish loses nothing)', async () => {
    const device = await simulated();
    const event = approved(device.id, { value: 24 });
    const received: string[] = [];
    device.on('command', (c) => received.push(c.commandId));
    // The row committed, the publish never happened (as if the adapter died in between).
    await handleOnce(dataSource, adapterHandlers({ isOnline: () => true, replyTimeoutMs: 60_000, dispatch: () => undefined })['dm.value_set_approved'], event, { logger });
    await sleep(300);
    expect(received).toEqual([]);
    // A second replica (its session ends with its connection, so it takes no share of later tests' replies).
    const deps = edgeDeps();
    const restarted = new DeviceEdge({ ...deps, config: { ...deps.config, MQTT_CLIENT_ID: uniqueId('adapter-restarted'), MQTT_SESSION_EXPIRY_S: 0 } });
    await restarted.start();
    try {
      expect(await outcome(event.payload.commandId)).toMatchObject({ topic: 'adapter.value_set_sent', payload: { value: 24 } });
      expect(received).toEqual([event.payload.commandId]);
    } finally {
      await restarted.stop();
    }
  });

  it('when the device was never online and the command passes expiresAt, it fails EXPIRED', async () => {
    const { id } = await newDevice('never');
    const event = approved(id, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    await deliver(event);
    expect(await outcome(event.payload.commandId)).toMatchObject({ topic: 'adapter.value_set_error', payload: { reason: 'EXPIRED' } });
    expect(outcomesOf(event.payload.commandId)).toHaveLength(1);
  });

  it('when an online device never replies, it fails TIMEOUT', async () => {
    const { id, password } = await newDevice('mute');
    const mute = await connectAs(id, password, id);
    stoppers.push(() => mute.endAsync());
    const got = collect(mute);
    await mute.subscribeAsync(`${testRoot}/${id}/commands`, { qos: 1 });
    await mute.publishAsync(`${testRoot}/${id}/status`, 'online', { qos: 1, retain: true });
    await until('online at the adapter', () => edge.isOnline(id));
    const event = approved(id);
    await deliver(event);
    expect(await outcome(event.payload.commandId)).toMatchObject({ topic: 'adapter.value_set_error', payload: { reason: 'TIMEOUT' } });
    const sent = JSON.parse(got[0]?.text ?? '{}') as { expiresAt: string };
    expect(sent).toMatchObject({ commandId: event.payload.commandId, sensorId: 'sensor-1', parameter: 'temperature', action: 'set', value: 21.5 });
    expect(new Date(sent.expiresAt).getTime()).toBe(new Date(event.payload.expiresAt).getTime());
    await mute.publishAsync(`${testRoot}/${id}/status`, '', { qos: 1, retain: true });
  });

  it('when the device goes offline and comes back within the TTL, it gets the command and the saga succeeds', async () => {
    const device = await simulated();
    await device.goOffline();
    await until('offline at the adapter', () => !edge.isOnline(device.id));
    const event = approved(device.id, { value: 23, expiresAt: new Date(Date.now() + 20_000).toISOString() });
    await deliver(event);
    await sleep(1500); // longer than REPLY_TIMEOUT_MS: an offline device does not time out
    expect(outcomesOf(event.payload.commandId)).toHaveLength(0);
    const commands: string[] = [];
    device.on('command', (c) => commands.push(c.commandId));
    await device.goOnline();
    expect(await outcome(event.payload.commandId)).toMatchObject({ topic: 'adapter.value_set_sent', payload: { value: 23 } });
    await sleep(300);
    expect(commands.filter((c) => c === event.payload.commandId).length).toBeGreaterThanOrEqual(1); // session + republish
    expect(outcomesOf(event.payload.commandId)).toHaveLength(1);
  });

  it('duplicate replies produce one outcome; garbage replies are dropped', async () => {
    const { id, password } = await newDevice('dup');
    const raw: MqttClient = await connectAs(id, password, id);
    stoppers.push(() => raw.endAsync());
    const got = collect(raw);
    await raw.subscribeAsync(`${testRoot}/${id}/commands`, { qos: 1 });
    await raw.publishAsync(`${testRoot}/${id}/status`, 'online', { qos: 1, retain: true });
    await until('online at the adapter', () => edge.isOnline(id));
    const bad = edge.replyStats.invalid;
    await raw.publishAsync(`${testRoot}/${id}/replies`, 'not json at all', { qos: 1 });
    await raw.publishAsync(`${testRoot}/${id}/replies`, JSON.stringify({ commandId: 'nope', status: 'accepted' }), { qos: 1 });
    await until('garbage counted', () => edge.replyStats.invalid >= bad + 2);
    const event = approved(id);
    await deliver(event);
    await until('the command at the device', () => got.length > 0);
    const commandId = event.payload.commandId;
    await raw.publishAsync(`${testRoot}/${id}/replies`, JSON.stringify({ commandId, status: 'accepted', value: 21.5 }), { qos: 1 });
    await raw.publishAsync(`${testRoot}/${id}/replies`, JSON.stringify({ commandId, status: 'accepted', value: 21.5 }), { qos: 1 });
    await raw.publishAsync(`${testRoot}/${id}/replies`, JSON.stringify({ commandId, status: 'refused', reason: 'late' }), { qos: 1 });
    expect(await outcome(commandId)).toMatchObject({ topic: 'adapter.value_set_sent' });
    await sleep(500);
    expect(outcomesOf(commandId)).toHaveLength(1);
    await raw.publishAsync(`${testRoot}/${id}/status`, '', { qos: 1, retain: true });
  });

  it('a redelivered approval of a closed command is not sent again', async () => {
    const device = await simulated();
    const event = approved(device.id);
    await deliver(event);
    await outcome(event.payload.commandId);
    const before = edge.publisher.stats.published;
    await deliver(event);
    expect(edge.publisher.stats.published).toBe(before);
  });
});

describe('adapter: presence and telemetry', () => {
  it('status changes become adapter.device_status, kept in the presence table', async () => {
    const device = await simulated();
    await until('online event', () => enqueued.find((e) => e.topic === 'adapter.device_status' && e.key === device.id && (e.payload as { online: boolean }).online));
    await device.goOffline();
    await until('offline event', () => enqueued.find((e) => e.topic === 'adapter.device_status' && e.key === device.id && !(e.payload as { online: boolean }).online));
    // the event is collected inside the transaction, which may not have committed yet: wait for the row
    const row = await until('presence row offline', async () => {
      const [r] = await dataSource.query<{ online: boolean }[]>('SELECT online FROM device_presence WHERE device_id = $1', [device.id]);
      return r && !r.online ? r : undefined;
    });
    expect(row.online).toBe(false);
  });

  it("a cleared retained status (the device was deleted) makes the adapter forget the device's presence", async () => {
    const { id, password } = await newDevice('gone');
    const raw = await connectAs(id, password, id);
    stoppers.push(() => raw.endAsync());
    await raw.publishAsync(`${testRoot}/${id}/status`, 'online', { qos: 1, retain: true });
    const presenceRows = async () => (await dataSource.query<unknown[]>('SELECT 1 FROM device_presence WHERE device_id = $1', [id])).length;
    await until('the presence row', async () => (await presenceRows()) === 1);
    const bad = edge.stats.invalidStatus;
    // what device-service does when the device is deleted: an empty retained message clears the topic
    await raw.publishAsync(`${testRoot}/${id}/status`, '', { qos: 1, retain: true });
    await until('offline at the adapter', () => !edge.isOnline(id));
    await until('the presence row gone', async () => (await presenceRows()) === 0);
    expect(edge.stats.invalidStatus).toBe(bad);
  });

  it('telemetry becomes adapter.measure_received through bus.publish', async () => {
    const device = await simulated();
    device.sendTelemetry();
    const e = await until('a measurement', () => published.find((p) => p.topic === 'adapter.measure_received' && p.key === device.id));
    const payload = e.payload as { deviceId: string; values: Record<string, number> };
    expect(payload.deviceId).toBe(device.id);
    expect(typeof payload.values.temperature).toBe('number');
    expect(payload.values.enabled).toBe(1);
  });
});
