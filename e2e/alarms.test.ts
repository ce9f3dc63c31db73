import mqtt, { type MqttClient } from 'mqtt';
import type { AlarmTypeView, AlarmView, TelemetrySeries } from '@devicesaga/contracts';
import { ApiUser, type Device } from './support/api';

/**
 * Telemetry and alarms through the whole stack: a device publishes readings over MQTT (QoS 1, its own credentials),
 * the adapter forwards them to Kafka, alarm-service stores them and evaluates the alarm types; users read history and
 * alarms through the gateway.
 */
const mqttUrl = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884';

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('telemetry history and alarms, from MQTT to the REST API', () => {
  let alice: ApiUser;
  let bob: ApiUser;
  let device: Device;
  let firmware: MqttClient;
  const t0 = Date.now() - 60_000;

  beforeAll(async () => {
    [alice, bob] = await Promise.all([ApiUser.register('alice'), ApiUser.register('bob')]);
    device = await alice.createDevice('alarm e2e thermometer', ['temperature']);
    firmware = await mqtt.connectAsync(mqttUrl, { username: device.mqtt.username, password: device.mqtt.password, clientId: `e2e-${device.id}`, protocolVersion: 5 });
  });
  afterAll(async () => {
    await firmware?.endAsync();
  });

  const send = (seconds: number, temperature: number) =>
    firmware.publishAsync(`devices/${device.id}/telemetry`, JSON.stringify({ ts: new Date(t0 + seconds * 1000).toISOString(), values: { temperature } }), { qos: 1 });
  const alarms = async (user: ApiUser, query = `deviceId=${device.id}`) => {
    const res = await user.call<{ items: AlarmView[] }>('GET', `/api/v1/alarms?${query}`);
    expect(res.status).toBe(200);
    return res.body.items;
  };

  it('readings crossing 40, then 50, then back below 40 raise and clear High and Critical; the history has each reading once', async () => {
    const types = await alice.call<{ items: AlarmTypeView[] }>('GET', '/api/v1/alarm-types');
    expect(types.status).toBe(200);
    expect(types.body.items.map((t) => t.name)).toEqual(expect.arrayContaining(['High temperature', 'Critical temperature']));

    for (const [s, v] of [
      [0, 20],
      [1, 45],
      [2, 47],
      [3, 55],
      [4, 35],
      [4, 35], // the device sends one reading twice
    ] as const) {
      await send(s, v);
    }
    const cleared = await until('both alarms raised and cleared', async () => {
      const list = await alarms(alice);
      return list.length === 2 && list.every((a) => a.status === 'CLEARED_UNACK') && list;
    });
    expect(cleared.map((a) => [a.name, a.severity, a.firstValue, a.lastValue, a.occurrences, a.raisedAt])).toEqual([
      ['Critical temperature', 'CRITICAL', 55, 55, 1, new Date(t0 + 3000).toISOString()],
      ['High temperature', 'MAJOR', 45, 47, 2, new Date(t0 + 1000).toISOString()],
    ]);

    const sensorId = device.sensors[0]!.id;
    const history = await alice.call<TelemetrySeries>(
      'GET',
      `/api/v1/devices/${device.id}/telemetry?sensorId=${sensorId}&from=${new Date(t0).toISOString()}&to=${new Date(t0 + 10_000).toISOString()}`,
    );
    expect(history.status).toBe(200);
    expect(history.body.points).toEqual([20, 45, 47, 55, 35].map((value, s) => ({ ts: new Date(t0 + s * 1000).toISOString(), value })));
    const buckets = await alice.call<TelemetrySeries>(
      'GET',
      `/api/v1/devices/${device.id}/telemetry?sensorId=${sensorId}&from=${new Date(t0).toISOString()}&to=${new Date(t0 + 10_000).toISOString()}&bucket=1d`,
    );
    const total = buckets.body.points.reduce((n, p) => n + ('count' in p ? p.count : 0), 0);
    expect([total, Math.max(...buckets.body.points.map((p) => ('max' in p ? p.max : 0)))]).toEqual([5, 55]);
  });

  it('an active alarm is acknowledged by its owner, then cleared by the value; another user never sees it or the history', async () => {
    await send(10, 48);
    const [active] = await until('High temperature active', async () => {
      const list = await alarms(alice, `deviceId=${device.id}&status=ACTIVE_UNACK`);
      return list.length === 1 && list;
    });
    expect(active!.name).toBe('High temperature');

    expect((await bob.call('POST', `/api/v1/alarms/${active!.id}/ack`)).status).toBe(404);
    expect((await bob.call('GET', `/api/v1/devices/${device.id}/telemetry?sensorId=${device.sensors[0]!.id}`)).status).toBe(404);
    expect(await alarms(bob, '')).toEqual([]);

    const acked = await alice.call<AlarmView>('POST', `/api/v1/alarms/${active!.id}/ack`);
    expect(acked.body.status).toBe('ACTIVE_ACK');
    await send(11, 20);
    const done = await until('cleared by the value', async () => {
      const res = await alice.call<AlarmView>('GET', `/api/v1/alarms/${active!.id}`);
      return res.body.status === 'CLEARED_ACK' && res.body;
    });
    expect(done).toMatchObject({ clearedBy: null, ackBy: alice.id, lastValue: 48 });
  });
});
