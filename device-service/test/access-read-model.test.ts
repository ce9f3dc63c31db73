import { randomUUID } from 'node:crypto';
import { AccessClient, createLogger, createRedis, identityHeaders, loadConfig, serviceUser, testDatabaseName, type Redis } from '@devicesaga/platform';
import { start, type Started } from '../src/main';
import { ensureDatabase, infraCredentials } from './helpers';

const DB = testDatabaseName('ds_test_device_access');
const settings = loadConfig({});
const logger = createLogger('access-test', 'silent');
let app: Started;
let base: string;
let subscriber: Redis;
let access: AccessClient;
const alice = { id: `alice-${randomUUID()}`, email: 'alice@example.com' };
const bob = { id: `bob-${randomUUID()}`, email: 'bob@example.com' };
/** Signed identities, as the gateway (users) or a calling service would send them. */
const identities: Record<string, Record<string, string>> = {};
let calls = 0;

beforeAll(async () => {
  await ensureDatabase(DB);
  app = await start({ PORT: 0, DATABASE_NAME: DB, BUS_ENABLED: 'false', LOG_LEVEL: 'silent', ...infraCredentials() });
  base = `http://127.0.0.1:${app.port}`;
  identities.alice = identityHeaders(settings, alice, 600);
  identities.bob = identityHeaders(settings, bob, 600);
  subscriber = createRedis(loadConfig({}).REDIS_URL, logger, 'access-test');
  // a long TTL: only the announcement can make the cache see a change within this test
  access = new AccessClient({
    baseUrl: base,
    authHeaders: () => {
      calls++;
      return identityHeaders(settings, serviceUser('access-test'), 600);
    },
    subscriber,
    logger,
    ttlMs: 600_000,
  });
  await access.start();
});
afterAll(async () => {
  subscriber.disconnect();
  await app.stop();
});

async function call(who: 'alice' | 'bob', method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { ...identities[who], ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as { id: string; groupId: string; sensors: { id: string }[]; items: { id: string }[] } };
}

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 1_000; // "a revoked grant takes effect within a second"
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not within a second: ${what}`);
}

describe('the access read model (device-service internal routes + AccessClient with Redis invalidation)', () => {
  it("answers each user's devices and sensors and each device's users, and follows a grant and its revocation within a second", async () => {
    const device = await call('alice', 'POST', '/devices', { name: 'boiler', sensors: [{ parameter: 'temperature' }] });
    expect(device.status).toBe(201);
    const sensorId = device.body.sensors[0]!.id;
    await eventually('alice sees her new device', async () => access.mayAccess(alice.id, device.body.id));
    expect(await access.deviceOfSensor(alice.id, sensorId)).toBe(device.body.id);
    expect(await access.mayAccess(bob.id, device.body.id)).toBe(false);
    expect(await access.deviceOfSensor(bob.id, sensorId)).toBeNull();
    expect(await access.usersOf(device.body.id)).toEqual([alice.id]);

    // cached: asking again makes no call
    const before = calls;
    expect(await access.mayAccess(alice.id, device.body.id)).toBe(true);
    expect(calls).toBe(before);

    await call('bob', 'GET', '/devices'); // bob's personal groups exist from his first request
    const shared = await call('alice', 'POST', '/user-groups', { name: `shared-${randomUUID()}` });
    expect((await call('alice', 'POST', `/user-groups/${shared.body.id}/members`, { userId: bob.id })).status).toBe(201);
    expect((await call('alice', 'POST', `/user-groups/${shared.body.id}/grants`, { deviceGroupId: device.body.groupId })).status).toBe(201);
    await eventually('bob gains the device', async () => access.mayAccess(bob.id, device.body.id));
    expect((await access.usersOf(device.body.id)).sort()).toEqual([alice.id, bob.id].sort());

    expect((await call('alice', 'DELETE', `/user-groups/${shared.body.id}/grants/${device.body.groupId}`)).status).toBe(204);
    await eventually('bob loses the device', async () => !(await access.mayAccess(bob.id, device.body.id)));
    expect(await access.usersOf(device.body.id)).toEqual([alice.id]);
    expect((await call('alice', 'DELETE', `/devices/${device.body.id}`)).status).toBe(204);
    await eventually('the deleted device is gone', async () => !(await access.mayAccess(alice.id, device.body.id)));
  });

  it("answers devices' groups and sensors by id (the telemetry consumers' registry), and forgets a deleted device", async () => {
    const device = await call('alice', 'POST', '/devices', { name: 'registry', sensors: [{ parameter: 'temperature' }, { parameter: 'enabled' }] });
    expect(device.status).toBe(201);
    const found = await access.devicesById([device.body.id, 'not-a-uuid', randomUUID()]);
    const info = found.get(device.body.id);
    expect(info?.groupId).toBe(device.body.groupId);
    expect(Object.fromEntries(info!.sensorsByParameter)).toEqual(
      Object.fromEntries((device.body.sensors as unknown as { id: string; parameter: string }[]).map((s) => [s.parameter, s.id])),
    );
    expect(found.get('not-a-uuid')).toBeNull();
    expect([...found.values()].filter((v) => v === null)).toHaveLength(2);


    expect((await call('alice', 'DELETE', `/devices/${device.body.id}`)).status).toBe(204);
    await eventually('the deleted device is unknown', async () => (await access.devicesById([device.body.id])).get(device.body.id) === null);
  });

  it('the internal routes refuse users (they are for services only)', async () => {
    const res = await fetch(`${base}/internal/v1/access/users/${alice.id}`, { headers: identities.alice });
    expect(res.status).toBe(404);
    const anonymous = await fetch(`${base}/internal/v1/access/users/${alice.id}`);
    expect(anonymous.status).toBe(401);
  });
});
