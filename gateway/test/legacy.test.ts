/* eslint-disable @typescript-eslint/no-unsafe-assignment -- jest's asymmetric matchers (expect.any) are typed any */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { identityOfHeaders, Redis, testDatabaseName, type AuthUser } from '@devicesaga/platform';
import { start, type RunningGateway } from '../src/main';

/**
 * The legacy-compatible routes against stand-ins for device-, command- and notification-service that speak their v1
 * APIs and check the signed identity (the whole flow against the real services runs in the newman collection).
 */
const SECRETS = {
  JWT_SECRET: 'legacy-test-secret-at-least-32-characters-long',
  IDENTITY_SECRET: 'legacy-test-identity-secret-at-least-32-chars',
};
const RUN = randomUUID().slice(0, 8);
const PREFIX = `gwtest:${RUN}:legacy:`;

interface FakeDevice {
  id: string;
  owner: string;
  sensors: { id: string; deviceId: string; parameter: string; value: number }[];
}
const devices = new Map<string, FakeDevice>();
const commands = new Map<string, { id: string; owner: string; value: number; idem?: string }>();
const notifications = new Map<string, { id: string; seq: number; eventType: string; title: string; description: string; payload: Record<string, unknown>; createdAt: string; readAt: null }[]>();
const seen: { path: string; user: AuthUser }[] = [];

let services: Server;
let gw: RunningGateway;
let base: string;

function fakeServices(): express.Express {
  const app = express();
  app.use(express.json());
  app.use((req, res, next) => {
    try {
      const user = identityOfHeaders(SECRETS, req.headers);
      res.locals.user = user;
      seen.push({ path: req.path, user });
      next();
    } catch {
      res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'no identity' } });
    }
  });
  const me = (res: express.Response) => res.locals.user as AuthUser;
  app.post('/api/v1/devices', (req, res) => {
    const body = req.body as { id: string; name: string; sensors: { id: string; parameter: string }[] };
    if (devices.has(body.id)) {
      res.status(409).json({ error: { code: 'ID_TAKEN', message: 'a device or sensor with this id exists' } });
      return;
    }
    const d = { id: body.id, owner: me(res).id, sensors: body.sensors.map((s) => ({ id: s.id, deviceId: body.id, parameter: s.parameter, value: 20 })) };
    devices.set(d.id, d);
    res.status(201).json({ ...d, name: body.name, mqtt: { username: d.id, password: 'secret' } });
  });
  app.get('/api/v1/devices/:id', (req, res) => {
    const d = devices.get(req.params.id);
    if (!d || d.owner !== me(res).id) res.status(404).json({ error: { code: 'NOT_FOUND', message: 'device not found' } });
    else res.json({ ...d, name: 'x' });
  });
  app.get('/api/v1/sensors/:id', (req, res) => {
    const s = [...devices.values()].filter((d) => d.owner === me(res).id).flatMap((d) => d.sensors).find((x) => x.id === req.params.id);
    if (!s) res.status(404).json({ error: { code: 'NOT_FOUND', message: 'sensor not found' } });
    else res.json({ ...s, min: 0, max: 100, updatedAt: new Date().toISOString() });
  });
  app.post('/api/v1/commands', (req, res) => {
    const body = req.body as { deviceId: string; sensorId: string; action: string; value: number };
    const idem = req.header('idempotency-key');
    const replay = [...commands.values()].find((c) => c.idem !== undefined && c.idem === idem && c.owner === me(res).id);
    const c = replay ?? { id: randomUUID(), owner: me(res).id, value: body.value, ...(idem ? { idem } : {}) };
    commands.set(c.id, c);
    res.status(202).location(`/api/v1/commands/${c.id}`).json({ id: c.id, version: 1, status: 'PENDING', ...body });
  });
  app.get('/api/v1/commands/:id', (req, res) => {
    const c = commands.get(req.params.id);
    if (!c || c.owner !== me(res).id) res.status(404).json({ error: { code: 'NOT_FOUND', message: 'command not found' } });
    else res.json({ id: c.id, value: c.value, status: 'COMPENSATED' });
  });
  app.get('/api/v1/notifications', (req, res) => {
    const all = notifications.get(me(res).id) ?? [];
    const after = Number(req.query.after ?? 0);
    const limit = Number(req.query.limit ?? 50);
    const page = all.filter((n) => n.seq > after).slice(0, limit);
    res.json({ items: page, nextCursor: page.length === limit ? String(page[page.length - 1]!.seq) : null });
  });
  app.delete('/api/v1/notifications', (_req, res) => {
    notifications.set(me(res).id, []);
    res.status(204).end();
  });
  return app;
}

beforeAll(async () => {
  services = await new Promise<Server>((resolve) => {
    const s = fakeServices().listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(services.address() as AddressInfo).port}`;
  gw = await start({
    PORT: 0,
    DATABASE_NAME: testDatabaseName('ds_test_gateway'),
    LOG_LEVEL: 'error',
    ...SECRETS,
    DEVICE_SERVICE_URL: url,
    COMMAND_SERVICE_URL: url,
    NOTIFICATION_SERVICE_URL: url,
    STATIC_DIR: '/nonexistent',
    REDIS_KEY_PREFIX: PREFIX,
    RATE_LIMIT_AUTH_IP_PER_MIN: 10_000,
  });
  base = `http://127.0.0.1:${gw.port}`;
});

afterAll(async () => {
  await gw?.stop();
  services?.closeAllConnections();
  await new Promise<void>((r) => services?.close(() => r()));
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

/** Like the original collection: Content-Type: application/json on every request, a cookie jar of one cookie. */
class Tester {
  cookie = '';
  async send(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(this.cookie ? { cookie: this.cookie } : {}), ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('ds_session='));
    if (set) this.cookie = set.split(';')[0]!;
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* plain text */
    }
    return { status: res.status, body, setCookie: set };
  }
}

async function registered(tester: Tester) {
  const username = `tester${randomUUID().slice(0, 8)}`;
  const res = await tester.send('POST', '/register', { body: JSON.stringify({ username, email: `${username}@lab.example`, password: 'test', firstName: 'Test', lastName: 'Er' }) });
  return { username, res };
}

function multipartBody(fields: Record<string, string>): { body: string; boundary: string } {
  const boundary = `----postman${randomUUID().replace(/-/g, '')}`;
  const body = Object.entries(fields)
    .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
    .join('');
  return { body: `${body}--${boundary}--\r\n`, boundary };
}

describe('legacy-compatible routes (the original collection, unchanged)', () => {
  it('register answers 201 with an id and no session cookie; /hello is 401 before login and 200 after a multipart login', async () => {
    const t = new Tester();
    const { username, res } = await registered(t);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: expect.any(String), username });
    expect(res.setCookie).toBeUndefined();
    expect((await t.send('GET', '/hello')).status).toBe(401);
    // Postman's form-data, sent with the collection's Content-Type: application/json header (the boundary is lost)
    const { body } = multipartBody({ username, password: 'test' });
    const login = await t.send('POST', '/login', { body });
    expect(login.status).toBe(200);
    expect(login.setCookie).toMatch(/^ds_session=/);
    const hello = await t.send('GET', '/hello');
    expect(hello).toMatchObject({ status: 200, body: `Hello, ${username}!` });
  });

  it('login takes urlencoded and properly labelled multipart forms too; a wrong password is 401', async () => {
    const t = new Tester();
    const { username } = await registered(t);
    expect((await t.send('POST', '/login', { body: new URLSearchParams({ username, password: 'test' }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(200);
    const { body, boundary } = multipartBody({ username, password: 'test' });
    expect((await t.send('POST', '/login', { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } })).status).toBe(200);
    expect((await t.send('POST', '/login', { body: new URLSearchParams({ username, password: 'nope' }).toString() })).status).toBe(401);
  });

  it('create_device with client-chosen ids, the sensor read back with parameterName and a numeric value; a re-run of the same create is 200, another user gets 409/404', async () => {
    const t = new Tester();
    const { username } = await registered(t);
    await t.send('POST', '/login', { body: new URLSearchParams({ username, password: 'test' }).toString() });
    const deviceId = randomUUID();
    const sensorId = randomUUID();
    const q = `deviceId=${deviceId}&sensorId=${sensorId}&parameterName=temperature`;
    const created = await t.send('POST', `/management/create_device?${q}`);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ id: deviceId, sensors: [{ id: sensorId, deviceId, parameterName: 'temperature', value: 20 }] });
    expect((await t.send('POST', `/management/create_device?${q}`)).status).toBe(200);
    const sensor = await t.send('GET', `/management/sensors/${sensorId}`);
    expect(sensor).toMatchObject({ status: 200, body: { id: sensorId, deviceId, parameterName: 'temperature', value: 20 } });
    expect(typeof (sensor.body as { value: unknown }).value).toBe('number');
    const other = new Tester();
    const o = await registered(other);
    await other.send('POST', '/login', { body: new URLSearchParams({ username: o.username, password: 'test' }).toString() });
    expect((await other.send('POST', `/management/create_device?${q}`)).status).toBe(409);
    expect((await other.send('GET', `/management/sensors/${sensorId}`)).status).toBe(404);
    expect(seen.filter((s) => s.path === '/api/v1/devices').map((s) => s.user.username)).toContain(username);
  });

  it('set_value and add_value (query or JSON body, empty JSON content type) answer 202; X-Request-Id is the idempotency key', async () => {
    const t = new Tester();
    const { username } = await registered(t);
    await t.send('POST', '/login', { body: new URLSearchParams({ username, password: 'test' }).toString() });
    const ids = { deviceId: randomUUID(), sensorId: randomUUID() };
    const requestId = randomUUID();
    const viaQuery = await t.send('POST', `/command/set_value?deviceId=${ids.deviceId}&sensorId=${ids.sensorId}&value=34.4`, { headers: { 'x-request-id': requestId } });
    expect(viaQuery.status).toBe(202);
    expect(viaQuery.body).toMatchObject({ action: 'set', value: 34.4, ...ids });
    const again = await t.send('POST', `/command/set_value?deviceId=${ids.deviceId}&sensorId=${ids.sensorId}&value=34.4`, { headers: { 'x-request-id': requestId } });
    expect((again.body as { id: string }).id).toBe((viaQuery.body as { id: string }).id);
    const viaBody = await t.send('POST', '/command/add_value', { body: JSON.stringify({ ...ids, value: 1.5 }), headers: { 'x-request-id': randomUUID() } });
    expect(viaBody.status).toBe(202);
    expect(viaBody.body).toMatchObject({ action: 'add', value: 1.5 });
    expect((await t.send('POST', '/command/set_value?deviceId=x')).status).toBe(400);
  });

  it('GET /notifications maps the notification-service inbox to {id, username, eventType, title, description, dateTime, body}; body carries the value asked for, also in error notifications; /notifications/clear empties it; /logout ends the session', async () => {
    const t = new Tester();
    const { username } = await registered(t);
    await t.send('POST', '/login', { body: new URLSearchParams({ username, password: 'test' }).toString() });
    const ids = { deviceId: randomUUID(), sensorId: randomUUID() };
    const posted = await t.send('POST', `/command/set_value?deviceId=${ids.deviceId}&sensorId=${ids.sensorId}&value=74.4`, { headers: { 'x-request-id': randomUUID() } });
    const commandId = (posted.body as { id: string }).id;
    const userId = seen.find((s) => s.user.username === username)!.user.id;
    const at = new Date().toISOString();
    notifications.set(
      userId,
      Array.from({ length: 150 }, (_, i) => ({
        id: randomUUID(),
        seq: i + 1,
        eventType: i === 0 ? 'adapter.value_set_error' : 'dm.value_set_error',
        title: `Command failed ${i}`,
        description: 'The device refused 74.4',
        payload: { commandId, userId, ...ids, reason: 'REFUSED', message: 'above hardware limit 70' },
        createdAt: at,
        readAt: null,
      })),
    );
    const list = await t.send('GET', '/notifications');
    expect(list.status).toBe(200);
    const items = list.body as { id: string; username: string; eventType: string; title: string; description: string; dateTime: string; body: string }[];
    expect(items).toHaveLength(150); // every page
    expect(items[0]).toEqual({ id: expect.any(String), username, eventType: 'adapter.value_set_error', title: 'Command failed 0', description: 'The device refused 74.4', dateTime: at, body: expect.any(String) });
    expect(JSON.parse(items[0]!.body)).toMatchObject({ ...ids, value: 74.4, reason: 'REFUSED' });
    expect((await t.send('GET', '/notifications/clear')).status).toBe(200);
    expect((await t.send('GET', '/notifications')).body).toEqual([]);
    expect((await t.send('GET', '/logout')).status).toBe(200);
    expect((await t.send('GET', '/hello')).status).toBe(401);
  });

  it('the collection can be re-run many times a minute from one address without a 429', async () => {
    const strict = await start({ PORT: 0, DATABASE_NAME: testDatabaseName('ds_test_gateway'), LOG_LEVEL: 'error', ...SECRETS, STATIC_DIR: '/nonexistent', REDIS_KEY_PREFIX: `${PREFIX}default:` });
    try {
      const statuses: number[] = [];
      for (let run = 0; run < 15; run++) {
        const username = `rerun${RUN}${run}`;
        const r = await fetch(`http://127.0.0.1:${strict.port}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, email: `${username}@lab.example`, password: 'test' }) });
        statuses.push(r.status);
        const l = await fetch(`http://127.0.0.1:${strict.port}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new URLSearchParams({ username, password: 'test' }).toString() });
        statuses.push(l.status);
      }
      expect(statuses.filter((s) => s === 429)).toEqual([]);
    } finally {
      await strict.stop();
    }
  });
});
