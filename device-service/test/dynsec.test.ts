import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { DynsecClient } from '../src/mqtt/dynsec';
import { infraCredentials, logger } from './helpers';

const creds = infraCredentials();
const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884';

const connect = (username: string, password: string) =>
  mqtt.connectAsync(url, { username, password, clientId: `t-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0, connectTimeout: 3000 });

describe('per-device MQTT credentials (real Mosquitto + dynamic security)', () => {
  let dynsec: DynsecClient;
  let adapter: MqttClient;
  const received: { topic: string; payload: string }[] = [];
  const deviceA = randomUUID();
  const deviceB = randomUUID();
  const secretA = `a-${randomUUID()}`;

  beforeAll(async () => {
    dynsec = new DynsecClient({ url, username: creds.MQTT_ADMIN_USERNAME!, password: creds.MQTT_ADMIN_PASSWORD!, logger });
    await dynsec.connect();
    adapter = await connect(creds.MQTT_ADAPTER_USERNAME!, creds.MQTT_ADAPTER_PASSWORD!);
    adapter.on('message', (topic, payload) => received.push({ topic, payload: payload.toString() }));
    await adapter.subscribeAsync(['devices/+/telemetry', 'devices/+/replies'], { qos: 1 });
    await dynsec.createDeviceClient(deviceA, secretA);
    await dynsec.createDeviceClient(deviceB, `b-${randomUUID()}`);
  });
  afterAll(async () => {
    await dynsec.deleteDeviceClient(deviceA);
    await dynsec.deleteDeviceClient(deviceB);
    await adapter.endAsync();
    await dynsec.close();
  });

  const waitFor = async (pred: () => boolean, ms = 3000) => {
    const until = Date.now() + ms;
    while (!pred() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    return pred();
  };

  it('a created device can connect and publish to its own telemetry topic', async () => {
    const dev = await connect(deviceA, secretA);
    await dev.publishAsync(`devices/${deviceA}/telemetry`, JSON.stringify({ values: { temperature: 21 } }), { qos: 1 });
    expect(await waitFor(() => received.some((m) => m.topic === `devices/${deviceA}/telemetry`))).toBe(true);
    await dev.endAsync();
  });

  it('a wrong password cannot connect', async () => {
    await expect(connect(deviceA, 'wrong')).rejects.toThrow();
  });

  it("publishing to another device's topic is not delivered", async () => {
    const dev = await connect(deviceA, secretA);
    await dev.publishAsync(`devices/${deviceB}/telemetry`, JSON.stringify({ values: { temperature: 99 } }), { qos: 1 }).catch(() => undefined);
    await dev.publishAsync(`devices/${deviceA}/replies`, JSON.stringify({ marker: 1 }), { qos: 1 });
    // the marker on its own topic arrives; the forged one never does
    expect(await waitFor(() => received.some((m) => m.topic === `devices/${deviceA}/replies`))).toBe(true);
    expect(received.some((m) => m.topic === `devices/${deviceB}/telemetry`)).toBe(false);
    await dev.endAsync();
  });

  it('after rotation the old secret fails and the new one connects', async () => {
    const fresh = `r-${randomUUID()}`;
    await dynsec.setDevicePassword(deviceA, fresh);
    await expect(connect(deviceA, secretA)).rejects.toThrow();
    const dev = await connect(deviceA, fresh);
    await dev.endAsync();
  });

  it('a deleted device can no longer connect', async () => {
    const id = randomUUID();
    await dynsec.createDeviceClient(id, 'secret-x');
    await (await connect(id, 'secret-x')).endAsync();
    await dynsec.deleteDeviceClient(id);
    await expect(connect(id, 'secret-x')).rejects.toThrow();
    await dynsec.deleteDeviceClient(id); // idempotent
  });

  it("deleting a device clears its retained status, so new subscribers no longer see it", async () => {
    const id = randomUUID();
    await dynsec.createDeviceClient(id, 'secret-y');
    const dev = await connect(id, 'secret-y');
    await dev.publishAsync(`devices/${id}/status`, 'offline', { qos: 1, retain: true });
    await dev.endAsync();
    const retainedNow = async () => {
      const seen: string[] = [];
      const watcher = await connect(creds.MQTT_ADAPTER_USERNAME!, creds.MQTT_ADAPTER_PASSWORD!);
      watcher.on('message', (_t, payload) => seen.push(payload.toString()));
      await watcher.subscribeAsync(`devices/${id}/status`, { qos: 1 });
      await new Promise((r) => setTimeout(r, 300));
      await watcher.endAsync();
      return seen;
    };
    expect(await retainedNow()).toEqual(['offline']);
    await dynsec.deleteDeviceClient(id);
    expect(await retainedNow()).toEqual([]);
  });
});
