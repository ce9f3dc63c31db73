/* eslint-disable @typescript-eslint/no-unsafe-assignment -- jest's asymmetric matchers (expect.any, objectContaining) are typed any */
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { identityHeaders, loadConfig, testDatabaseName } from '@devicesaga/platform';
import { start, type Started } from '../src/main';
import { ensureDatabase, infraCredentials } from './helpers';

const DB = testDatabaseName('ds_test_device_http');
const settings = loadConfig({});
let app: Started;
let base: string;
const alice = { id: `alice-${randomUUID()}`, email: 'alice@example.com', username: 'alice' };
const bob = { id: `bob-${randomUUID()}`, email: 'bob@example.com', username: 'bob' };
const olga = { id: `olga-${randomUUID()}`, email: 'olga@example.com', username: 'olga', role: 'operator' as const };
/** Signed identities, as the gateway forwards them (services refuse requests without one). */
const identities: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  await ensureDatabase(DB);
  const creds = infraCredentials();
  app = await start({ PORT: 0, DATABASE_NAME: DB, BUS_ENABLED: 'false', LOG_LEVEL: 'silent', ...creds });
  base = `http://127.0.0.1:${app.port}/api/v1`;
  identities.alice = identityHeaders(settings, alice, 600);
  identities.bob = identityHeaders(settings, bob, 600);
  identities.olga = identityHeaders(settings, olga, 600);
});
afterAll(async () => {
  // leave no MQTT clients behind in the broker
  const left = await call('alice', 'GET', '/devices?limit=200');
  for (const d of left.body.items) await call('alice', 'DELETE', `/devices/${d.id}`);
  await app.stop();
});

interface SensorJson {
  id: string;
  deviceId: string;
  parameter: string;
  value: number | null;
  min: number;
  max: number;
  updatedAt: string;
}
/** The union of the answer shapes these tests read (each answer has some of them). */
interface Body {
  id: string;
  name: string;
  groupId: string;
  sensors: SensorJson[];
  mqtt: { username: string; password: string };
  password: string;
  items: { id: string; personal?: boolean }[];
  nextCursor: string | null;
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

async function call(who: 'alice' | 'bob' | 'olga' | null, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(who ? identities[who] : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Body };
}

describe('device-service HTTP API (in-process, real PostgreSQL and Mosquitto)', () => {
  let device: Body;

  it('without a signed identity (a request that did not come through the gateway) the API answers 401', async () => {
    expect((await call(null, 'GET', '/devices')).status).toBe(401);
    const forged = { 'x-ds-identity': identities.alice!['x-ds-identity']!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) };
    expect((await fetch(`${base}/devices`, { headers: forged })).status).toBe(401);
    expect((await fetch(`${base}/devices`, { headers: identityHeaders(settings, alice, -1) })).status).toBe(401);
    expect((await fetch(`${base}/devices`, { headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x' } })).status).toBe(401);
  });

  it('user A creates a device (with its MQTT secret, shown once) and reads it', async () => {
    const created = await call('alice', 'POST', '/devices', { name: 'boiler', sensors: [{ parameter: 'temperature' }, { parameter: 'enabled' }] });
    expect(created.status).toBe(201);
    device = created.body;
    expect(device).toMatchObject({ name: 'boiler', mqtt: { username: device.id, password: expect.any(String) } });
    expect(device.sensors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ parameter: 'temperature', value: 20, min: 0, max: 100 }),
        expect.objectContaining({ parameter: 'enabled', value: 0, min: 0, max: 1 }),
      ]),
    );
    const read = await call('alice', 'GET', `/devices/${device.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: device.id, name: 'boiler', groupId: device.groupId });
    expect(read.body.mqtt).toBeUndefined();
    const sensor = await call('alice', 'GET', `/sensors/${device.sensors[0]!.id}`);
    expect(sensor.body).toEqual({ ...device.sensors[0]!, deviceId: device.id, updatedAt: expect.any(String) });
    const list = await call('alice', 'GET', '/devices?limit=10');
    expect(list.body.items.map((d) => d.id)).toEqual([device.id]);
    expect(list.body.nextCursor).toBeNull();
  });

  it("the device's MQTT credentials connect to the broker", async () => {
    const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884';
    const c = await mqtt.connectAsync(url, { username: device.mqtt.username, password: device.mqtt.password, reconnectPeriod: 0, connectTimeout: 3000 });
    await c.endAsync();
  });

  it("user B gets 404 for A's device and sensor", async () => {
    expect((await call('bob', 'GET', `/devices/${device.id}`)).status).toBe(404);
    expect((await call('bob', 'GET', `/sensors/${device.sensors[0]!.id}`)).status).toBe(404);
    expect((await call('bob', 'PATCH', `/devices/${device.id}`, { name: 'mine' })).status).toBe(404);
    expect((await call('bob', 'DELETE', `/devices/${device.id}`)).status).toBe(404);
    expect((await call('bob', 'POST', `/devices/${device.id}/mqtt-credentials`)).status).toBe(404);
    expect((await call('bob', 'GET', '/devices')).body.items).toEqual([]);
    expect((await call('bob', 'POST', '/devices', { name: 'x', groupId: device.groupId, sensors: [] })).status).toBe(404);
  });

  it("after A grants B's user group access to A's device group, B can read it", async () => {
    const bobGroups = await call('bob', 'GET', '/user-groups');
    const bobPersonal = bobGroups.body.items.find((g) => g.personal)!;
    // A is not a member of B's personal group: A must first be in a user group that B is in. Here A creates a shared
    // user group, adds B, and grants it A's device group.
    expect((await call('alice', 'POST', `/user-groups/${bobPersonal.id}/grants`, { deviceGroupId: device.groupId })).status).toBe(404);
    const shared = await call('alice', 'POST', '/user-groups', { name: 'operators' });
    expect(shared.status).toBe(201);
    expect((await call('alice', 'POST', `/user-groups/${shared.body.id}/members`, { userId: bob.id })).status).toBe(201);
    expect((await call('bob', 'GET', `/devices/${device.id}`)).status).toBe(404);
    expect((await call('alice', 'POST', `/user-groups/${shared.body.id}/grants`, { deviceGroupId: device.groupId })).status).toBe(201);
    const read = await call('bob', 'GET', `/devices/${device.id}`);
    expect(read.status).toBe(200);
    expect(read.body.id).toBe(device.id);
    expect((await call('bob', 'GET', `/sensors/${device.sensors[0]!.id}`)).status).toBe(200);
    // B's device groups now include A's
    expect((await call('bob', 'GET', '/device-groups')).body.items.map((g) => g.id)).toContain(device.groupId);
    // revoking the grant hides it again
    expect((await call('alice', 'DELETE', `/user-groups/${shared.body.id}/grants/${device.groupId}`)).status).toBe(204);
    expect((await call('bob', 'GET', `/devices/${device.id}`)).status).toBe(404);
  });

  it('malformed input answers 400 naming the field', async () => {
    const noName = await call('alice', 'POST', '/devices', { sensors: [] });
    expect(noName.status).toBe(400);
    expect(noName.body.error.details).toEqual([expect.objectContaining({ path: 'body.name' })]);
    const unknownParam = await call('alice', 'POST', '/devices', { name: 'x', sensors: [{ parameter: 'temperature' }, { parameter: 'pressure' }] });
    expect(unknownParam.status).toBe(400);
    expect(unknownParam.body.error.message).toContain('pressure');
    expect(unknownParam.body.error.details).toEqual([expect.objectContaining({ path: 'body.sensors.1.parameter' })]);
    const badId = await call('alice', 'GET', '/devices/not-a-uuid');
    expect(badId.status).toBe(400);
    expect(badId.body.error.details).toEqual([expect.objectContaining({ path: 'params.id' })]);
    const badParam = await call('olga', 'POST', '/parameters', { name: 'pressure', min: 10, max: 5 });
    expect(badParam.status).toBe(400);
    expect(badParam.body.error.details).toEqual([expect.objectContaining({ path: 'body.max' })]);
    const badLimit = await call('alice', 'GET', '/devices?limit=0');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error.details).toEqual([expect.objectContaining({ path: 'query.limit' })]);
  });

  it('an operator adds a parameter that any user can then use on a device; a plain user may not add one (403)', async () => {
    const name = `p_${randomUUID().slice(0, 8)}`;
    const refused = await call('alice', 'POST', '/parameters', { name, unit: 'hPa', min: 900, max: 1100 });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    expect((await call('olga', 'POST', '/parameters', { name, unit: 'hPa', min: 900, max: 1100 })).status).toBe(201);
    expect((await call('olga', 'POST', '/parameters', { name, unit: 'hPa', min: 900, max: 1100 })).status).toBe(409);
    const d = await call('alice', 'POST', '/devices', { name: 'baro', sensors: [{ parameter: name }] });
    expect(d.status).toBe(201);
    expect(d.body.sensors[0]).toMatchObject({ parameter: name, value: 900, min: 900, max: 1100 });
    expect((await call('alice', 'DELETE', `/devices/${d.body.id}`)).status).toBe(204);
  });

  it('a device may be created with ids its client chose (legacy create_device); a taken id is 409 and leaves the owner untouched', async () => {
    const id = randomUUID();
    const sensorId = randomUUID();
    const created = await call('alice', 'POST', '/devices', { id, name: 'chosen', sensors: [{ id: sensorId, parameter: 'temperature' }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id, sensors: [{ id: sensorId, parameter: 'temperature' }] });
    const taken = await call('bob', 'POST', '/devices', { id, name: 'mine now', sensors: [] });
    expect(taken.status).toBe(409);
    const sensorTaken = await call('bob', 'POST', '/devices', { name: 'x', sensors: [{ id: sensorId, parameter: 'temperature' }] });
    expect(sensorTaken.status).toBe(409);
    // alice's device and its MQTT credentials are unharmed
    expect((await call('alice', 'GET', `/sensors/${sensorId}`)).body).toMatchObject({ deviceId: id });
    const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884';
    await (await mqtt.connectAsync(url, { username: id, password: created.body.mqtt.password, reconnectPeriod: 0, connectTimeout: 3000 })).endAsync();
    expect((await call('alice', 'DELETE', `/devices/${id}`)).status).toBe(204);
  });

  it('pagination walks every device once', async () => {
    const ids = [device.id];
    for (let i = 0; i < 4; i++) ids.push((await call('alice', 'POST', '/devices', { name: `d${i}`, sensors: [] })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call('alice', 'GET', `/devices?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.items.map((d) => d.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual(ids.sort());
  });

  it('rotating the MQTT secret answers a new one; the old one stops working', async () => {
    const rotated = await call('alice', 'POST', `/devices/${device.id}/mqtt-credentials`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.password).not.toBe(device.mqtt.password);
    const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884';
    await expect(mqtt.connectAsync(url, { username: device.id, password: device.mqtt.password, reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
    await (await mqtt.connectAsync(url, { username: device.id, password: rotated.body.password, reconnectPeriod: 0, connectTimeout: 3000 })).endAsync();
  });

  it('deleting a device removes it and its MQTT client', async () => {
    const pw = (await call('alice', 'POST', `/devices/${device.id}/mqtt-credentials`)).body.password;
    expect((await call('alice', 'DELETE', `/devices/${device.id}`)).status).toBe(204);
    expect((await call('alice', 'GET', `/devices/${device.id}`)).status).toBe(404);
    const url = process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884';
    await expect(mqtt.connectAsync(url, { username: device.id, password: pw, reconnectPeriod: 0, connectTimeout: 3000 })).rejects.toThrow();
  });

  it('readiness reports the database and the MQTT admin connection', async () => {
    const res = await fetch(`http://127.0.0.1:${app.port}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { database: 'ok', mqttAdmin: 'ok' } });
  });
});
