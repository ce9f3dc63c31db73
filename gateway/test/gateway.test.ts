import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { WebSocket, WebSocketServer } from 'ws';
import { identityOfHeaders, Redis, testDatabaseName, type IdentitySettings, type JwtSettings } from '@devicesaga/platform';
import { start, type RunningGateway } from '../src/main';

const JWT: JwtSettings & IdentitySettings = {
  JWT_SECRET: 'gateway-test-secret-at-least-32-characters-long',
  JWT_ISSUER: 'devicesaga',
  JWT_AUDIENCE: 'devicesaga-api',
  IDENTITY_SECRET: 'gateway-test-identity-secret-at-least-32-chars',
};
const RUN = randomUUID().slice(0, 8);

interface Echo {
  sub: string | null;
  email: string | null;
  username: string | null;
  role: string | null;
  requestId: string | undefined;
  cookie: string | undefined;
  authorization: string | undefined;
  apiKey: string | undefined;
  path: string;
  /** The request body exactly as the service received it. */
  raw: string;
  contentType: string | undefined;
  forwardedIdentity?: string | undefined;
}

/** Stands in for device-service: echoes who the signed identity says the caller is, and the raw body. */
async function startDeviceStub(): Promise<{ url: string; server: Server }> {
  const app = express();
  app.use(express.raw({ type: () => true }));
  const echo = async (req: express.Request, res: express.Response) => {
    await Promise.resolve();
    let user: { id: string; email: string; username: string; role: string } | null = null;
    try {
      user = identityOfHeaders(JWT, req.headers);
    } catch {
      user = null;
    }
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const body: Echo = {
      sub: user?.id ?? null,
      email: user?.email ?? null,
      username: user?.username ?? null,
      role: user?.role ?? null,
      requestId: req.header('x-request-id'),
      cookie: req.header('cookie'),
      authorization: req.header('authorization'),
      apiKey: req.header('x-api-key'),
      path: req.originalUrl,
      raw,
      contentType: req.header('content-type'),
      forwardedIdentity: req.header('x-ds-identity'),
    };
    res.status(req.method === 'POST' ? 201 : 200).json(body);
  };
  app.get('/api/v1/devices/never-answers', () => undefined); // never answers: the proxy timeout must
  app.all('/{*rest}', (req, res, next) => {
    echo(req, res).catch(next);
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Stands in for push-service. */
async function startPushStub(): Promise<{ url: string; wss: WebSocketServer }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (socket, req) => {
    try {
      const user = identityOfHeaders(JWT, req.headers);
      socket.send(JSON.stringify({ type: 'hello', userId: user.id, url: req.url, cookie: req.headers.cookie ?? null, authorization: req.headers.authorization ?? null }));
    } catch {
      socket.close(4001, 'bad identity');
    }
  });
  return { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, wss };
}

/** jest's asymmetric matchers are typed `any`. */
const anyString = expect.any(String) as unknown as string;
const keyPattern: unknown = expect.stringMatching(/^dsk_[0-9a-f]{12}_/);
const UNUSED = 'http://127.0.0.1:9'; // nothing listens there: a "down" service

let device: Awaited<ReturnType<typeof startDeviceStub>>;
let push: Awaited<ReturnType<typeof startPushStub>>;
let gw: RunningGateway;
let strict: RunningGateway;
let base: string;
let strictBase: string;
const staticDir = mkdtempSync(path.join(tmpdir(), 'gw-static-'));
writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>devicesaga</title>');
const prefixes = [`gwtest:${RUN}:a:`, `gwtest:${RUN}:b:`];

function common() {
  return {
    PORT: 0,
    DATABASE_NAME: testDatabaseName('ds_test_gateway'),
    LOG_LEVEL: 'error',
    ...JWT,
    DEVICE_SERVICE_URL: device.url,
    COMMAND_SERVICE_URL: UNUSED,
    ALARM_SERVICE_URL: UNUSED,
    NOTIFICATION_SERVICE_URL: UNUSED,
    PUSH_SERVICE_URL: push.url,
    STATIC_DIR: '/nonexistent',
  };
}

beforeAll(async () => {
  device = await startDeviceStub();
  push = await startPushStub();
  gw = await start({ ...common(), STATIC_DIR: staticDir, REDIS_KEY_PREFIX: prefixes[0], RATE_LIMIT_AUTH_IP_PER_MIN: 10_000, RATE_LIMIT_LOGIN_FAILS_PER_ACCOUNT: 1000 });
  base = `http://127.0.0.1:${gw.port}`;
  strict = await start({
    ...common(),
    REDIS_KEY_PREFIX: prefixes[1],
    RATE_LIMIT_USER_PER_SEC: 3,
    RATE_LIMIT_APIKEY_PER_SEC: 2,
    RATE_LIMIT_AUTH_IP_PER_MIN: 4,
    RATE_LIMIT_LOGIN_FAILS_PER_ACCOUNT: 2,
    PROXY_TIMEOUT_MS: 300,
  });
  strictBase = `http://127.0.0.1:${strict.port}`;
});

afterAll(async () => {
  await gw?.stop();
  await strict?.stop();
  await new Promise<void>((r) => device?.server.close(() => r()));
  device?.server.closeAllConnections();
  for (const c of push?.wss.clients ?? []) c.terminate();
  await new Promise<void>((r) => push?.wss.close(() => r()));
  const redis = new Redis('redis://127.0.0.1:6379');
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}*`);
    if (keys.length) await redis.del(...keys);
  }
  await redis.quit();
  rmSync(staticDir, { recursive: true, force: true });
});

const newEmail = () => `User-${randomUUID()}@Example.com`;
const PASSWORD = 'a-long-enough-password';

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

async function register(at = base, email = newEmail(), headers: Record<string, string> = {}) {
  const res = await fetch(`${at}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ email, password: PASSWORD, name: 'Test User' }),
  });
  return { res, email };
}

async function login(at: string, email: string, password = PASSWORD, headers: Record<string, string> = {}) {
  return fetch(`${at}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ email, password }) });
}

async function userWithToken(at = base, headers: Record<string, string> = {}) {
  const { email } = await register(at, newEmail(), headers);
  const res = await login(at, email, PASSWORD, headers);
  const body = await json(res);
  return { email, token: body.token as string, user: body.user as { id: string; email: string; username: string; role: string } };
}

describe('accounts and sessions', () => {
  it('register answers 201 with the user (a login name derived from the email when none is given); the same email in another case is 409 EMAIL_TAKEN', async () => {
    const { res, email } = await register();
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toEqual({ id: anyString, username: email.split('@')[0]!.toLowerCase(), email: email.toLowerCase(), name: 'Test User', role: 'user' });
    expect(res.headers.get('x-request-id')).toBeTruthy();

    const again = await register(base, email.toUpperCase());
    expect(again.res.status).toBe(409);
    expect(((await json(again.res)).error as { code: string }).code).toBe('EMAIL_TAKEN');
  });

  it('register refuses a password shorter than 10 characters with a 400 naming the field', async () => {
    const res = await fetch(`${base}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: newEmail(), password: 'short' }) });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await json(res))).toContain('body.password');
  });

  it('login works with JSON, urlencoded and multipart bodies, sets an httpOnly SameSite=Lax cookie, and /me answers with the cookie and with Bearer', async () => {
    const { email } = await register();
    const bodies: [string, RequestInit][] = [
      ['json', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) }],
      ['urlencoded', { body: new URLSearchParams({ email, password: PASSWORD }) }],
      ['multipart', { body: (() => { const f = new FormData(); f.set('email', email); f.set('password', PASSWORD); return f; })() }],
    ];
    for (const [kind, init] of bodies) {
      const res = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', ...init });
      expect([kind, res.status]).toEqual([kind, 200]);
      const body = await json(res);
      expect(body.token).toEqual(anyString);
      expect((body.user as { email: string }).email).toBe(email.toLowerCase());
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('ds_session='));
      expect(cookie).toBeDefined();
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      expect(cookie).not.toMatch(/Secure/i); // plain HTTP, not production

      const viaCookie = await fetch(`${base}/api/v1/me`, { headers: { cookie: cookie!.split(';')[0]! } });
      expect(viaCookie.status).toBe(200);
      expect((await json(viaCookie)).email).toBe(email.toLowerCase());
      const viaBearer = await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${body.token as string}` } });
      expect(viaBearer.status).toBe(200);
    }
  });

  it('a wrong password and an unknown email both answer 401 with the same message', async () => {
    const { email } = await register();
    const wrong = await login(base, email, 'not-the-password');
    const unknown = await login(base, newEmail(), PASSWORD);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(((await json(wrong)).error as { message: string }).message).toBe(((await json(unknown)).error as { message: string }).message);
  });

  it('after logout the token answers 401 and the cookie is cleared', async () => {
    const { token } = await userWithToken();
    expect((await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const out = await fetch(`${base}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((c) => /^ds_session=;/.test(c))).toBe(true);
    expect((await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/me`, { headers: { cookie: `ds_session=${token}` } })).status).toBe(401);
  });

  it('a forged or garbage token answers 401 with the JSON error and a request id', async () => {
    const res = await fetch(`${base}/api/v1/me`, { headers: { authorization: 'Bearer not.a.jwt', 'x-request-id': 'req-garbage-1' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toBe('req-garbage-1');
    expect(await json(res)).toEqual({ error: { code: 'UNAUTHORIZED', message: anyString, requestId: 'req-garbage-1' } });
  });
});

describe('API keys', () => {
  it('an API key is created once, works as X-API-Key and as Bearer, is listed without its secret, and answers 401 once revoked', async () => {
    const { token } = await userWithToken();
    const auth = { authorization: `Bearer ${token}` };
    const created = await fetch(`${base}/api/v1/api-keys`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'robot' }) });
    expect(created.status).toBe(201);
    const key = await json(created);
    expect(key).toMatchObject({ id: anyString, name: 'robot', key: keyPattern });

    const me1 = await fetch(`${base}/api/v1/me`, { headers: { 'x-api-key': key.key as string } });
    expect(me1.status).toBe(200);
    expect((await json(me1)).auth).toBe('api-key');
    expect((await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${key.key as string}` } })).status).toBe(200);

    const list = await json(await fetch(`${base}/api/v1/api-keys`, { headers: auth }));
    const items = list.items as Record<string, unknown>[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ id: key.id, name: 'robot' });
    expect(JSON.stringify(list)).not.toContain(key.key as string);

    // an API key cannot mint or revoke keys
    expect((await fetch(`${base}/api/v1/api-keys`, { method: 'POST', headers: { 'x-api-key': key.key as string, 'content-type': 'application/json' }, body: '{"name":"x"}' })).status).toBe(403);

    const del = await fetch(`${base}/api/v1/api-keys/${key.id as string}`, { method: 'DELETE', headers: auth });
    expect(del.status).toBe(204);
    expect((await fetch(`${base}/api/v1/me`, { headers: { 'x-api-key': key.key as string } })).status).toBe(401);
    expect((await json(await fetch(`${base}/api/v1/api-keys`, { headers: auth }))).items).toEqual([]);
  });

  it("someone else's key cannot be revoked: 404", async () => {
    const alice = await userWithToken();
    const bob = await userWithToken();
    const key = await json(await fetch(`${base}/api/v1/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' }, body: '{"name":"a"}' }));
    expect((await fetch(`${base}/api/v1/api-keys/${key.id as string}`, { method: 'DELETE', headers: { authorization: `Bearer ${bob.token}` } })).status).toBe(404);
    expect((await fetch(`${base}/api/v1/api-keys/not-a-uuid`, { method: 'DELETE', headers: { authorization: `Bearer ${bob.token}` } })).status).toBe(404);
    expect((await fetch(`${base}/api/v1/me`, { headers: { 'x-api-key': key.key as string } })).status).toBe(200);
  });

  it('a wrong secret behind a real prefix answers 401', async () => {
    const { token } = await userWithToken();
    const key = await json(await fetch(`${base}/api/v1/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"name":"a"}' }));
    const forged = `${(key.key as string).slice(0, 18)}${'A'.repeat(43)}`;
    expect((await fetch(`${base}/api/v1/me`, { headers: { 'x-api-key': forged } })).status).toBe(401);
  });
});

describe('proxying to the services', () => {
  it('a request without credentials to /api/v1/devices answers 401 and never reaches the service', async () => {
    const res = await fetch(`${base}/api/v1/devices`);
    expect(res.status).toBe(401);
    expect((await json(res)).error).toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('a proxied request carries the signed identity of the caller (id, email, username, role) and the request id, without cookies, the token or the API key', async () => {
    const { token, user } = await userWithToken();
    const res = await fetch(`${base}/api/v1/devices?limit=5`, { headers: { cookie: `ds_session=${token}; other=1`, 'x-request-id': 'req-proxy-1' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-proxy-1');
    const echo = (await res.json()) as Echo;
    expect(echo).toMatchObject({ sub: user.id, email: user.email, username: user.username, role: 'user', requestId: 'req-proxy-1', path: '/api/v1/devices?limit=5' });
    expect(echo.cookie).toBeUndefined();
    expect(echo.authorization).toBeUndefined();
  });

  it('an identity header sent by the client never reaches a service: the gateway replaces it with its own', async () => {
    const { token, user } = await userWithToken();
    const bob = await userWithToken();
    const stolen = ((await (await fetch(`${base}/api/v1/devices`, { headers: { authorization: `Bearer ${bob.token}` } })).json()) as Echo).forwardedIdentity!;
    const res = await fetch(`${base}/api/v1/devices`, { headers: { authorization: `Bearer ${token}`, 'x-ds-identity': stolen } });
    const echo = (await res.json()) as Echo;
    expect(echo.sub).toBe(user.id);
    expect(echo.forwardedIdentity).not.toBe(stolen);
  });

  it('a body is forwarded byte for byte, never re-serialised', async () => {
    const { token } = await userWithToken();
    const raw = '{ "name" : "boiler",\n  "sensors": [ {"parameter":"temperature"} ] , "n": 1.50 }';
    const res = await fetch(`${base}/api/v1/devices`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: raw });
    expect(res.status).toBe(201);
    const echo = (await res.json()) as Echo;
    expect(echo.raw).toBe(raw);
    expect(echo.contentType).toBe('application/json');
    const notJson = await fetch(`${base}/api/v1/devices`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{not json' });
    expect(((await notJson.json()) as Echo).raw).toBe('{not json');
  });

  it('an API-key caller is forwarded with the signed identity of its user, and the key is stripped', async () => {
    const { token, user } = await userWithToken();
    const key = await json(await fetch(`${base}/api/v1/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"name":"m"}' }));
    const res = await fetch(`${base}/api/v1/sensors/abc`, { headers: { 'x-api-key': key.key as string } });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    expect(echo.sub).toBe(user.id);
    expect(echo.apiKey).toBeUndefined();
    expect(echo.requestId).toEqual(res.headers.get('x-request-id'));
    // the forwarded identity is not a credential the gateway accepts from outside
    expect((await fetch(`${base}/api/v1/me`, { headers: { authorization: `Bearer ${echo.forwardedIdentity ?? ''}` } })).status).toBe(401);
    expect((await fetch(`${base}/api/v1/me`, { headers: { 'x-ds-identity': echo.forwardedIdentity ?? '' } })).status).toBe(401);
  });

  it('a service that is down answers 503 JSON at once, not a hang', async () => {
    const { token } = await userWithToken();
    const res = await fetch(`${base}/api/v1/commands`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-down-1' } });
    expect(res.status).toBe(503);
    expect(await json(res)).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: anyString, requestId: 'req-down-1' } });
  });

  it('a service that does not answer within the proxy timeout answers 504 JSON', async () => {
    const { token } = await userWithToken(strictBase, { 'x-forwarded-for': '10.9.0.1' });
    const res = await fetch(`${strictBase}/api/v1/devices/never-answers`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'req-slow-1' } });
    expect(res.status).toBe(504);
    expect(await json(res)).toEqual({ error: { code: 'GATEWAY_TIMEOUT', message: anyString, requestId: 'req-slow-1' } });
    // the keep-alive pool still works afterwards
    expect((await fetch(`${strictBase}/api/v1/devices`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('an unknown /api/v1 path answers the JSON 404', async () => {
    const { token } = await userWithToken();
    const res = await fetch(`${base}/api/v1/nothing-here`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(404);
    expect((await json(res)).error).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('rate limits', () => {
  it('a user past the per-second limit gets 429 with Retry-After and the JSON error', async () => {
    const { token } = await userWithToken(strictBase, { 'x-forwarded-for': '10.9.0.2' });
    const results = await Promise.all(Array.from({ length: 8 }, () => fetch(`${strictBase}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })));
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await json(limited[0]!)).error).toMatchObject({ code: 'RATE_LIMITED' });
    for (const r of results) if (r.status !== 429) expect(r.status).toBe(200);
  });

  it('an API key has its own, separately configured limit', async () => {
    const { token } = await userWithToken(strictBase, { 'x-forwarded-for': '10.9.0.3' });
    const key = await json(await fetch(`${strictBase}/api/v1/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"name":"k"}' }));
    const results = await Promise.all(Array.from({ length: 6 }, () => fetch(`${strictBase}/api/v1/me`, { headers: { 'x-api-key': key.key as string } })));
    expect(results.filter((r) => r.status === 200).length).toBeLessThanOrEqual(2);
    expect(results.some((r) => r.status === 429)).toBe(true);
  });

  it('login and register from one IP past the per-minute limit get 429 with Retry-After', async () => {
    const ip = { 'x-forwarded-for': '10.9.0.4' };
    const statuses: number[] = [];
    let last: globalThis.Response | undefined;
    for (let i = 0; i < 6; i++) {
      last = await login(strictBase, newEmail(), PASSWORD, ip);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(4)).toEqual([429, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(1);
    // another IP is unaffected
    expect((await login(strictBase, newEmail(), PASSWORD, { 'x-forwarded-for': '10.9.0.5' })).status).toBe(401);
  });

  it('an email past its failed logins gets 429 even with the right password, from any IP', async () => {
    const { email } = await register(strictBase, newEmail(), { 'x-forwarded-for': '10.9.0.6' });
    expect((await login(strictBase, email, 'wrong-password-1', { 'x-forwarded-for': '10.9.0.7' })).status).toBe(401);
    expect((await login(strictBase, email, 'wrong-password-2', { 'x-forwarded-for': '10.9.0.8' })).status).toBe(401);
    const blocked = await login(strictBase, email, PASSWORD, { 'x-forwarded-for': '10.9.0.9' });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBeTruthy();
  });
});

describe('WebSocket /ws', () => {
  function connect(url: string, headers: Record<string, string> = {}) {
    return new Promise<{ status: number; body?: string; hello?: Record<string, unknown> }>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on('message', (data: Buffer) => {
        resolve({ status: 101, hello: JSON.parse(data.toString()) as Record<string, unknown> });
        ws.close();
      });
      ws.on('error', (err) => reject(err));
    });
  }

  it('an upgrade without credentials answers 401 before upgrading', async () => {
    const r = await connect(`ws://127.0.0.1:${gw.port}/ws`);
    expect(r.status).toBe(401);
    expect(r.body).toContain('UNAUTHORIZED');
  });

  it('with ?token= it reaches push-service as the user, with the token removed from the URL', async () => {
    const { token, user } = await userWithToken();
    const r = await connect(`ws://127.0.0.1:${gw.port}/ws?token=${encodeURIComponent(token)}&lastSeq=7`);
    expect(r.status).toBe(101);
    expect(r.hello).toEqual({ type: 'hello', userId: user.id, url: '/ws?lastSeq=7', cookie: null, authorization: null });
  });

  it('the session cookie authenticates the upgrade too; a foreign Origin is refused with 403', async () => {
    const { token, user } = await userWithToken();
    const ok = await connect(`ws://127.0.0.1:${gw.port}/ws`, { cookie: `ds_session=${token}`, origin: 'http://localhost:8080' });
    expect(ok.hello).toMatchObject({ userId: user.id, cookie: null });
    const foreign = await connect(`ws://127.0.0.1:${gw.port}/ws`, { cookie: `ds_session=${token}`, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
  });

  it('a revoked session cannot open a WebSocket', async () => {
    const { token } = await userWithToken();
    await fetch(`${base}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect((await connect(`ws://127.0.0.1:${gw.port}/ws?token=${token}`)).status).toBe(401);
  });
});

describe('when Redis is down', () => {
  it('login fails closed with 503, a session token answers 503, and an API-key caller is still served (its rate limit fails open)', async () => {
    const { token } = await userWithToken();
    const key = await json(await fetch(`${base}/api/v1/api-keys`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"name":"k"}' }));
    const { email } = await register();
    const noRedis = await start({ ...common(), REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent' });
    try {
      const at = `http://127.0.0.1:${noRedis.port}`;
      expect((await login(at, email)).status).toBe(503);
      expect((await fetch(`${at}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(503);
      expect((await fetch(`${at}/api/v1/devices`, { headers: { 'x-api-key': key.key as string } })).status).toBe(200);
      expect((await fetch(`${at}/health/ready`)).status).toBe(503);
    } finally {
      await noRedis.stop();
    }
  });
});

describe('dashboard', () => {
  it('the static files are served at / without authentication, with a request id', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('devicesaga');
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });
});

describe('health', () => {
  it('readiness checks the database and redis only', async () => {
    const res = await fetch(`${base}/health/ready`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok' } });
  });
});
