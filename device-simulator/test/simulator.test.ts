import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { SimulatedDevice } from '../src/device';
import { Farm } from '../src/farm';
import { collect, connectAs, createDeviceClient, deleteDeviceClient, mqttEnv, sleep, uniqueId, until, testRoot } from './support';

jest.setTimeout(30_000);
const env = mqttEnv();
const command = (value: number, over: Record<string, unknown> = {}) => ({
  commandId: randomUUID(),
  sensorId: 'sensor-1',
  parameter: 'temperature',
  action: 'set',
  value,
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
  ...over,
});

describe('SimulatedDevice on its own credentials', () => {
  const id = uniqueId('simdev');
  let device: SimulatedDevice;
  let platform: MqttClient; // plays the adapter (svc-adapter account)
  let seen: ReturnType<typeof collect>;

  beforeAll(async () => {
    const password = await createDeviceClient(id);
    platform = await connectAs(env.adapterUsername, env.adapterPassword);
    seen = collect(platform);
    await platform.subscribeAsync([`${testRoot}/${id}/replies`, `${testRoot}/${id}/telemetry`, `${testRoot}/${id}/status`], { qos: 1 });
    device = new SimulatedDevice({ topicRoot: testRoot, id, password, mqttUrl: env.url, telemetryMs: 100, sessionExpirySec: 60 });
    await device.start();
  });

  afterAll(async () => {
    await device.stop();
    await platform.endAsync();
    await deleteDeviceClient(id);
  });

  const replies = () => seen.filter((m) => m.topic.endsWith('/replies')).map((m) => JSON.parse(m.text) as { commandId: string; status: string; value?: number; reason?: string });

  it('announces itself online (retained)', async () => {
    await until('online status', () => seen.some((m) => m.topic === `${testRoot}/${id}/status` && m.text === 'online'));
  });

  it('accepts 21.5 and reports it in telemetry afterwards', async () => {
    const c = command(21.5);
    await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(c), { qos: 1 });
    const reply = await until('the reply', () => replies().find((r) => r.commandId === c.commandId));
    expect(reply).toMatchObject({ status: 'accepted', value: 21.5 });
    const after = seen.length;
    const t = await until('telemetry after the reply', () =>
      seen.slice(after).find((m) => m.topic === `${testRoot}/${id}/telemetry`),
    );
    const temperature = (JSON.parse(t.text) as { values: { temperature: number } }).values.temperature;
    expect(Math.abs(temperature - 21.5)).toBeLessThanOrEqual(0.2);
  });

  it('refuses 74.4 with the demo profile', async () => {
    const c = command(74.4);
    await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(c), { qos: 1 });
    const reply = await until('the reply', () => replies().find((r) => r.commandId === c.commandId));
    expect(reply).toMatchObject({ status: 'refused', reason: 'above hardware limit 70' });
  });

  it('answers a commandId once', async () => {
    const c = command(22);
    await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(c), { qos: 1 });
    await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(c), { qos: 1 });
    await until('the first reply', () => replies().find((r) => r.commandId === c.commandId));
    await sleep(500);
    expect(replies().filter((r) => r.commandId === c.commandId)).toHaveLength(1);
  });

  it('ignores a command past its expiresAt', async () => {
    const c = command(23, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const ignored = new Promise((resolve) => device.on('command', (cmd, decision) => cmd.commandId === c.commandId && resolve(decision)));
    await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(c), { qos: 1 });
    expect(await ignored).toEqual({ kind: 'ignored', why: 'expired' });
    await sleep(300);
    expect(replies().some((r) => r.commandId === c.commandId)).toBe(false);
  });

  it('gets a command sent while it was offline when it comes back (persistent session)', async () => {
    await device.goOffline();
    await until('offline status', () => seen.at(-1)?.text === 'offline' || seen.some((m) => m.topic.endsWith('/status') && m.text === 'offline'));
    const c = command(24);
    await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(c), { qos: 1 });
    await device.goOnline();
    const reply = await until('the reply', () => replies().find((r) => r.commandId === c.commandId));
    expect(reply).toMatchObject({ status: 'accepted', value: 24 });
  });
});

describe('Farm on the simulator service account', () => {
  it('answers for a device id it has never seen, and announces it online', async () => {
    const origin = uniqueId('origin');
    const farm = new Farm({ topicRoot: testRoot,
      mqttUrl: env.url,
      username: env.simulatorUsername,
      password: env.simulatorPassword,
      clientId: uniqueId('farm'),
      origin,
      telemetryMs: 100,
      sessionExpirySec: 60,
    });
    await farm.start();
    // plays its adapter: MQTT 5, each command stamped with the farm's origin
    const platform = await mqtt.connectAsync(env.url, { username: env.adapterUsername, password: env.adapterPassword, clientId: uniqueId('test'), protocolVersion: 5 });
    const properties = { userProperties: { 'devicesaga-origin': origin } };
    try {
      const seen = collect(platform);
      const id = uniqueId('farmdev');
      await platform.subscribeAsync([`${testRoot}/${id}/replies`, `${testRoot}/${id}/status`, `${testRoot}/${id}/telemetry`], { qos: 1 });
      const c = command(30);
      await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(c), { qos: 1, properties });
      const reply = await until('the reply', () => seen.find((m) => m.topic === `${testRoot}/${id}/replies`));
      expect(JSON.parse(reply.text)).toMatchObject({ commandId: c.commandId, status: 'accepted', value: 30 });
      await until('online status', () => seen.some((m) => m.topic === `${testRoot}/${id}/status` && m.text === 'online'));
      await until('telemetry', () => seen.some((m) => m.topic === `${testRoot}/${id}/telemetry`));
      const refused = command(80);
      await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(refused), { qos: 1, properties });
      const second = await until('the refusal', () =>
        seen.find((m) => m.topic === `${testRoot}/${id}/replies` && m.text.includes(refused.commandId)),
      );
      expect(JSON.parse(second.text)).toMatchObject({ status: 'refused', reason: 'above hardware limit 70' });
      await farm.stop();
      await until('offline status', () => seen.some((m) => m.topic === `${testRoot}/${id}/status` && m.text === 'offline'));
      // clear the retained status this test left behind
      await platform.endAsync();
    } finally {
      await farm.stop();
      if (platform.connected) await platform.endAsync();
    }
  });
});
