import { randomUUID } from 'node:crypto';
import type { SimulatedDevice } from '../device-simulator/src';
import { ApiUser, type Command, type Device } from './support/api';
import { connectDevice } from './support/devices';

describe('the command saga, through the gateway, Kafka, PostgreSQL and MQTT', () => {
  let alice: ApiUser;
  let device: Device;
  let firmware: SimulatedDevice;

  beforeAll(async () => {
    alice = await ApiUser.register('alice');
    device = await alice.createDevice('saga thermostat');
    firmware = await connectDevice(device);
  });

  afterAll(async () => {
    await firmware?.stop();
  });

  it('when the device accepts a set, the command SUCCEEDS and the stored value follows', async () => {
    const sensor = alice.sensor(device, 'temperature');
    const posted = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value: 21.5 });
    expect(posted.status).toBe(202);
    expect(posted.headers.get('location')).toBe(`/api/v1/commands/${posted.body.id}`);
    expect(posted.body).toMatchObject({ status: 'PENDING', deviceId: device.id, sensorId: sensor.id, value: 21.5 });

    const done = await alice.waitTerminal(posted.body.id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.history.map((h) => h.status)).toEqual(['PENDING', 'APPROVED', 'SUCCEEDED']);
    expect(await alice.sensorValue(sensor.id)).toBe(21.5);
  });

  it('a value outside [min, max] is REJECTED with OUT_OF_RANGE and nothing changes', async () => {
    const sensor = alice.sensor(device, 'temperature');
    const before = await alice.sensorValue(sensor.id);
    const posted = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value: 150 });
    const done = await alice.waitTerminal(posted.body.id);
    expect(done.status).toBe('REJECTED');
    expect(done.reason).toBe('OUT_OF_RANGE');
    expect(await alice.sensorValue(sensor.id)).toBe(before);
  });

  it('when the device refuses 74.4, the command ends COMPENSATED and the previous value is restored', async () => {
    const sensor = alice.sensor(device, 'temperature');
    const set = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value: 30 });
    expect((await alice.waitTerminal(set.body.id)).status).toBe('SUCCEEDED');

    const refused = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value: 74.4 });
    const done = await alice.waitTerminal(refused.body.id);
    expect(done.status).toBe('COMPENSATED');
    expect(done.reason).toBe('REFUSED');
    expect(done.history.map((h) => h.status)).toEqual(['PENDING', 'APPROVED', 'FAILED', 'COMPENSATED']);
    expect(await alice.sensorValue(sensor.id)).toBe(30);
  });

  it('an add with the expected current value applies the sum; a stale expected value is REJECTED', async () => {
    const sensor = alice.sensor(device, 'temperature');
    const set = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value: 40 });
    expect((await alice.waitTerminal(set.body.id)).status).toBe('SUCCEEDED');

    const add = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'add', value: 2.5, expectedValue: 40 });
    expect((await alice.waitTerminal(add.body.id)).status).toBe('SUCCEEDED');
    expect(await alice.sensorValue(sensor.id)).toBe(42.5);

    const stale = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'add', value: 1, expectedValue: 40 });
    const rejected = await alice.waitTerminal(stale.body.id);
    expect(rejected).toMatchObject({ status: 'REJECTED', reason: 'EXPECTED_VALUE_MISMATCH' });
    expect(await alice.sensorValue(sensor.id)).toBe(42.5);
  });

  it("an offline device's command expires past its TTL and is compensated", async () => {
    const offline = await alice.createDevice('never connected');
    const sensor = alice.sensor(offline, 'temperature');
    const before = await alice.sensorValue(sensor.id);
    const posted = await alice.sendCommand({ deviceId: offline.id, sensorId: sensor.id, action: 'set', value: 25, ttlSeconds: 2 });
    const done = await alice.waitTerminal(posted.body.id);
    expect(done.status).toBe('COMPENSATED');
    expect(done.reason).toBe('EXPIRED');
    expect(done.history.map((h) => h.status)).toEqual(['PENDING', 'APPROVED', 'FAILED', 'COMPENSATED']);
    expect(await alice.sensorValue(sensor.id)).toBe(before);
  });

  it('50 concurrent commands to one sensor leave its value equal to the last SUCCEEDED one', async () => {
    const sensor = alice.sensor(device, 'temperature');
    // 60 and above 70 alternate so the device refuses about a third of them (demo profile: refuses above 70)
    const values = Array.from({ length: 50 }, (_, i) => (i % 3 === 2 ? 71 + i / 10 : 10 + i));
    const posted = await Promise.all(values.map((value) => alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value })));
    expect(posted.every((p) => p.status === 202)).toBe(true);
    const done = await Promise.all(posted.map((p) => alice.waitTerminal(p.body.id, 120_000)));

    const counts = countBy(done.map((c) => c.status));
    expect(counts.SUCCEEDED).toBeGreaterThan(0);
    expect(counts.COMPENSATED).toBeGreaterThan(0);
    expect((counts.SUCCEEDED ?? 0) + (counts.COMPENSATED ?? 0) + (counts.REJECTED ?? 0)).toBe(50);

    const lastSucceeded = done
      .filter((c) => c.status === 'SUCCEEDED')
      .map((c) => ({ value: c.value, at: Date.parse(at(c, 'SUCCEEDED')) }))
      .sort((a, b) => a.at - b.at)
      .at(-1);
    expect(await alice.sensorValue(sensor.id)).toBe(lastSucceeded?.value);
  });

  it('a retried Idempotency-Key creates one command; the same key with another body is refused', async () => {
    const sensor = alice.sensor(device, 'temperature');
    const key = randomUUID();
    const body = { deviceId: device.id, sensorId: sensor.id, action: 'set', value: 22 };
    const [first, second, third] = await Promise.all([alice.sendCommand(body, key), alice.sendCommand(body, key), alice.sendCommand(body, key)]);
    expect(new Set([first.body.id, second.body.id, third.body.id]).size).toBe(1);
    expect((await alice.waitTerminal(first.body.id)).status).toBe('SUCCEEDED');

    const list = await alice.call<{ items: Command[] }>('GET', `/api/v1/commands?deviceId=${device.id}&limit=100`);
    expect(list.body.items.filter((c) => c.id === first.body.id)).toHaveLength(1);

    const reused = await alice.sendCommand({ ...body, value: 23 }, key);
    expect(reused.status).toBe(422);
  });

  it("user B gets 404 for user A's device, sensor and command, and cannot command A's device", async () => {
    const bob = await ApiUser.register('bob');
    const sensor = alice.sensor(device, 'temperature');
    const aliceCommand = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value: 20 });

    expect((await bob.call('GET', `/api/v1/devices/${device.id}`)).status).toBe(404);
    expect((await bob.call('GET', `/api/v1/sensors/${sensor.id}`)).status).toBe(404);
    expect((await bob.call('GET', `/api/v1/commands/${aliceCommand.body.id}`)).status).toBe(404);
    const attempt = await bob.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value: 50 });
    expect(attempt.status).toBe(404);
    await alice.waitTerminal(aliceCommand.body.id);
  });

  it('malformed input answers 400 naming the field, and an unauthenticated request 401', async () => {
    const bad = await alice.sendCommand({ deviceId: device.id, sensorId: 'x', action: 'toggle', value: 'hot' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('body.action');
    const anonymous = await fetch(`${process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080'}/api/v1/devices`);
    expect(anonymous.status).toBe(401);
  });
});

function countBy(items: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

function at(command: Command, status: string): string {
  const entry = command.history.find((h) => h.status === status);
  if (!entry) throw new Error(`command ${command.id} has no ${status} in its history`);
  return entry.at;
}
