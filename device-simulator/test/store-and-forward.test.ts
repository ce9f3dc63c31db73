import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { SimulatedDevice } from '../src/device';
import { Farm } from '../src/farm';
import { TelemetryStore } from '../src/store/telemetry-store';
import { brokerProxy, collect, connectAs, createDeviceClient, deleteDeviceClient, mqttEnv, sleep, uniqueId, until, testRoot } from './support';

jest.setTimeout(60_000);
const env = mqttEnv();
const dir = mkdtempSync(join(tmpdir(), 'simstore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the platform receives of one device's telemetry: the `n` of each reading, in arrival order. */
async function listen(deviceId: string): Promise<{ platform: MqttClient; received: number[] }> {
  const platform = await connectAs(env.adapterUsername, env.adapterPassword);
  const received: number[] = [];
  platform.on('message', (_topic, payload) => received.push((JSON.parse(payload.toString()) as { values: { n: number } }).values.n));
  await platform.subscribeAsync(`${testRoot}/${deviceId}/telemetry`, { qos: 1 });
  return { platform, received };
}

const reading = (n: number) => ({ ts: new Date().toISOString(), values: { n } });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('the simulator stores and forwards telemetry', () => {
  it('keeps readings through a broker outage and a restart of the simulator, then sends them in order, none lost', async () => {
    const id = uniqueId('snf');
    const password = await createDeviceClient(id);
    const proxy = await brokerProxy();
    const { platform, received } = await listen(id);
    const path = join(dir, `${id}.sqlite`);
    const options = { id, password, mqttUrl: proxy.url, telemetryMs: 0, sessionExpirySec: 60 };
    try {
      let device = new SimulatedDevice({ topicRoot: testRoot, ...options, store: new TelemetryStore(path) });
      await device.start();
      for (const n of range(0, 50)) device.record(reading(n));
      await until('the first 50 at the platform', () => received.length >= 50);

      proxy.down(); // the broker is unreachable
      for (const n of range(50, 150)) device.record(reading(n));
      await sleep(500);
      expect(device.unsent).toBe(100);
      await device.stop(); // …and the simulator restarts meanwhile
      device.store.close();

      device = new SimulatedDevice({ topicRoot: testRoot, ...options, store: new TelemetryStore(path) });
      expect(device.unsent).toBe(100);
      const restarted = device.start(); // connects once the broker is back
      for (const n of range(150, 200)) device.record(reading(n));
      await sleep(300);
      proxy.up();
      await restarted;
      for (const n of range(200, 250)) device.record(reading(n));
      await until('every reading at the platform', () => new Set(received).size === 250, 20_000);
      await until('every reading deleted once acknowledged', () => device.unsent === 0);
      // in order; a reading may come twice (acknowledged, not yet deleted when the simulator stopped), none is lost
      const firstSeen = received.filter((n, i) => received.indexOf(n) === i);
      expect(firstSeen).toEqual(range(0, 250));
      await device.stop();
      device.store.close();
    } finally {
      await platform.endAsync();
      await proxy.close();
      await deleteDeviceClient(id);
    }
  });

  it('a device profile at 1,000 readings/s is forwarded completely', async () => {
    const id = uniqueId('fast');
    const password = await createDeviceClient(id);
    const platform = await connectAs(env.adapterUsername, env.adapterPassword);
    let count = 0;
    platform.on('message', () => count++);
    await platform.subscribeAsync(`${testRoot}/${id}/telemetry`, { qos: 1 });
    const device = new SimulatedDevice({ topicRoot: testRoot, id, password, mqttUrl: env.url, telemetryPerSecond: 1000, sessionExpirySec: 60 });
    try {
      await device.start();
      const t0 = Date.now();
      await sleep(3000);
      const produced = device.stats.telemetrySent + device.unsent;
      const seconds = (Date.now() - t0) / 1000;
      expect(produced / seconds).toBeGreaterThan(800); // the generator keeps the rate (timer granularity aside)
      await device.stop();
      await until('every acknowledged reading at the platform', () => count >= device.stats.telemetrySent);
      expect(device.stats.telemetrySent).toBeGreaterThan(2000);
    } finally {
      await platform.endAsync();
      await deleteDeviceClient(id);
    }
  });
});

describe('the simulator farm of one stack', () => {
  it('answers its own adapter’s commands and leaves another stack’s alone', async () => {
    const origin = uniqueId('origin');
    const farm = new Farm({ topicRoot: testRoot, mqttUrl: env.url, username: env.simulatorUsername, password: env.simulatorPassword, clientId: uniqueId('farm'), origin, telemetryMs: 0, sessionExpirySec: 60 });
    const id = uniqueId('farmdev');
    const handled: string[] = [];
    farm.on('command', (deviceId, c) => deviceId === id && handled.push(c.commandId));
    await farm.start();
    // MQTT 5, as the adapter: user properties exist only there
    const platform = await mqtt.connectAsync(env.url, { username: env.adapterUsername, password: env.adapterPassword, clientId: uniqueId('test'), protocolVersion: 5 });
    try {
      const seen = collect(platform);
      await platform.subscribeAsync(`${testRoot}/${id}/replies`, { qos: 1 });
      const command = (value: number) => ({ commandId: crypto.randomUUID(), sensorId: 's', parameter: 'temperature', action: 'set', value, expiresAt: new Date(Date.now() + 60_000).toISOString() });
      const foreign = command(25);
      await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(foreign), { qos: 1, properties: { userProperties: { 'devicesaga-origin': 'some-other-stack' } } });
      const own = command(26);
      await platform.publishAsync(`${testRoot}/${id}/commands`, JSON.stringify(own), { qos: 1, properties: { userProperties: { 'devicesaga-origin': origin } } });
      await until('the reply to its own stack', () => seen.find((m) => m.text.includes(own.commandId)));
      await sleep(300);
      // (another stack's farm on this broker may answer the foreign one: this farm did not)
      expect(handled).toEqual([own.commandId]);
      expect(farm.foreignCommands).toBeGreaterThanOrEqual(1);
    } finally {
      await platform.endAsync();
      await farm.stop();
    }
  });
});
