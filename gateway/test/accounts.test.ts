import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { DataSource } from 'typeorm';
import { createLogger, identityOfHeaders, loadConfig, Redis, testDatabaseName, ensureDatabase } from '@devicesaga/platform';
import { setUserRole } from '../src/cli/user-role';
import { entities } from '../src/db/entities';
import { CreateUsersAndApiKeys1764000000000 } from '../src/db/migrations/1764000000000-CreateUsersAndApiKeys';
import { UsernamesAndRoles1767400000000 } from '../src/db/migrations/1767400000000-UsernamesAndRoles';
import { deriveUsernames } from '../src/domain/usernames';
import { SharedBuckets } from '../src/http/shared-buckets';
import { start, type RunningGateway } from '../src/main';

const SECRETS = {
  JWT_SECRET: 'accounts-test-secret-at-least-32-characters-long',
  IDENTITY_SECRET: 'accounts-test-identity-secret-at-least-32-chars',
};
const RUN = randomUUID().slice(0, 8);
const PREFIX = `gwtest:${RUN}:acc:`;
const DB = testDatabaseName('ds_test_gateway');
const PASSWORD = 'a-long-enough-password';

/** Echoes the identity the gateway forwarded (stands in for device-service). */
let echo: Server;
let echoUrl: string;
/** Two replicas of the gateway sharing Redis and the database. */
let a: RunningGateway;
let b: RunningGateway;
const at = (g: RunningGateway) => `http://127.0.0.1:${g.port}`;

beforeAll(async () => {
  const app = express();
  app.get('/api/v1/devices', (req, res) => {
    try {
      res.json(identityOfHeaders(SECRETS, req.headers));
    } catch {
      res.status(401).json({});
    }
  });
  echo = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  const common = { PORT: 0, DATABASE_NAME: DB, LOG_LEVEL: 'error', ...SECRETS, DEVICE_SERVICE_URL: echoUrl, STATIC_DIR: '/nonexistent', REDIS_KEY_PREFIX: PREFIX, RATE_LIMIT_AUTH_IP_PER_MIN: 10_000 };
  a = await start(common);
  b = await start(common);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  echo?.closeAllConnections();
  await new Promise<void>((r) => echo?.close(() => r()));
  const redis = new Redis('redis://127.0.0.1:6379');
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

async function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

async function newUser(label = 'acc') {
  const username = `${label}_${randomUUID().slice(0, 8)}`;
  const email = `${username}@Example.com`;
  expect((await post(at(a), '/api/v1/auth/register', { username, email, password: PASSWORD })).status).toBe(201);
  const login = await post(at(a), '/api/v1/auth/login', { login: username, password: PASSWORD });
  return { username, email, token: login.body.token as string, id: (login.body.user as { id: string }).id };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Polls until `check` holds, for at most `ms` (the bound the design promises). */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('login names', () => {
  it('login takes the username or the email (any case) with the password; /me shows both and the role', async () => {
    const u = await newUser();
    for (const login of [u.username, u.username.toUpperCase(), u.email, u.email.toUpperCase()]) {
      expect([login, (await post(at(a), '/api/v1/auth/login', { login, password: PASSWORD })).status]).toEqual([login, 200]);
    }
    // the older field names work too
    expect((await post(at(a), '/api/v1/auth/login', { email: u.email, password: PASSWORD })).status).toBe(200);
    expect((await post(at(a), '/api/v1/auth/login', { username: u.username, password: PASSWORD })).status).toBe(200);
    const me = (await (await fetch(`${at(a)}/api/v1/me`, { headers: bearer(u.token) })).json()) as Record<string, unknown>;
    expect(me).toMatchObject({ id: u.id, username: u.username, email: u.email.toLowerCase(), role: 'user' });
  });

  it('a username taken in any case is 409 USERNAME_TAKEN; a malformed one (with @) is a 400 naming the field', async () => {
    const u = await newUser();
    const again = await post(at(a), '/api/v1/auth/register', { username: u.username.toUpperCase(), email: `other-${RUN}-${randomUUID()}@example.com`, password: PASSWORD });
    expect(again.status).toBe(409);
    expect((again.body.error as { code: string }).code).toBe('USERNAME_TAKEN');
    const bad = await post(at(a), '/api/v1/auth/register', { username: 'a@b', email: `x-${randomUUID()}@example.com`, password: PASSWORD });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('body.username');
  });

  it('two emails with the same local part get distinct derived usernames', async () => {
    const local = `twin${RUN}`;
    const first = await post(at(a), '/api/v1/auth/register', { email: `${local}@one.example`, password: PASSWORD });
    const second = await post(at(a), '/api/v1/auth/register', { email: `${local}@two.example`, password: PASSWORD });
    expect([first.body.username, second.body.username]).toEqual([local, `${local}-2`]);
  });

  it('derived usernames stay unique when a derived name collides with a real local part', () => {
    expect(deriveUsernames(['alice@a.example', 'Alice@b.example', 'alice-2@c.example', 'a+b@d.example', '.x@e.example'])).toEqual([
      'alice',
      'Alice-2',
      'alice-2-2',
      'a_b',
      'x',
    ]);
  });

  it('the migration gives existing users unique usernames derived from their emails, and the user role', async () => {
    const cfg = loadConfig({});
    const name = testDatabaseName('ds_test_gateway_migration');
    await ensureDatabase(cfg, name);
    const options = { type: 'postgres' as const, host: cfg.DATABASE_HOST, port: cfg.DATABASE_PORT, username: cfg.DATABASE_USER, password: cfg.DATABASE_PASSWORD, database: name, entities, logging: false };
    const before = new DataSource({ ...options, migrations: [CreateUsersAndApiKeys1764000000000] });
    await before.initialize();
    try {
      await before.query(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`); // from scratch on every run
      await before.runMigrations();
      for (const email of ['bob@one.example', 'bob@two.example', 'bob-2@three.example']) {
        await before.query(`INSERT INTO users (email, password_hash, created_at) VALUES ($1, 'x', clock_timestamp())`, [email]);
      }
    } finally {
      await before.destroy();
    }
    const after = new DataSource({ ...options, migrations: [CreateUsersAndApiKeys1764000000000, UsernamesAndRoles1767400000000] });
    await after.initialize();
    try {
      await after.runMigrations();
      const rows: { email: string; username: string; role: string }[] = await after.query(`SELECT email, username, role FROM users ORDER BY created_at`);
      expect(rows).toEqual([
        { email: 'bob@one.example', username: 'bob', role: 'user' },
        { email: 'bob@two.example', username: 'bob-2', role: 'user' },
        { email: 'bob-2@three.example', username: 'bob-2-2', role: 'user' },
      ]);
      await expect(after.query(`INSERT INTO users (email, username, password_hash) VALUES ('z@z.example', 'BOB', 'x')`)).rejects.toThrow(/unique/);
    } finally {
      await after.destroy();
    }
  });
});

describe('revocation across replicas (in-process caches of at most a second)', () => {
  it('a logout on one replica is refused on the other at once (pub/sub), and always within a second', async () => {
    const u = await newUser();
    // both replicas have the session cached
    expect((await fetch(`${at(a)}/api/v1/devices`, { headers: bearer(u.token) })).status).toBe(200);
    expect((await fetch(`${at(b)}/api/v1/devices`, { headers: bearer(u.token) })).status).toBe(200);
    expect((await fetch(`${at(a)}/api/v1/auth/logout`, { method: 'POST', headers: bearer(u.token) })).status).toBe(204);
    expect(await within(1000, async () => (await fetch(`${at(b)}/api/v1/devices`, { headers: bearer(u.token) })).status === 401)).toBe(true);
    expect((await fetch(`${at(a)}/api/v1/devices`, { headers: bearer(u.token) })).status).toBe(401);
  });

  it('an API key revoked on one replica is refused on the other within a second', async () => {
    const u = await newUser();
    const key = (await post(at(a), '/api/v1/api-keys', { name: 'robot' }, bearer(u.token))).body;
    const viaKey = { 'x-api-key': key.key as string };
    expect((await fetch(`${at(b)}/api/v1/devices`, { headers: viaKey })).status).toBe(200);
    expect((await fetch(`${at(a)}/api/v1/api-keys/${key.id as string}`, { method: 'DELETE', headers: bearer(u.token) })).status).toBe(204);
    expect(await within(1000, async () => (await fetch(`${at(b)}/api/v1/devices`, { headers: viaKey })).status === 401)).toBe(true);
  });

  it('npm run user:role makes a logged-in user an operator within a second, in the identity the services see, without a new login', async () => {
    const u = await newUser();
    const role = async (g: RunningGateway) => ((await (await fetch(`${at(g)}/api/v1/devices`, { headers: bearer(u.token) })).json()) as { role: string }).role;
    expect(await role(a)).toBe('user');
    expect(await role(b)).toBe('user');
    const done = await setUserRole(u.username, 'operator', { ...process.env, DATABASE_NAME: DB, REDIS_KEY_PREFIX: PREFIX, LOG_LEVEL: 'silent' });
    expect(done).toMatchObject({ id: u.id, username: u.username, sessions: 1 });
    expect(await within(1000, async () => (await role(a)) === 'operator' && (await role(b)) === 'operator')).toBe(true);
    const me = (await (await fetch(`${at(b)}/api/v1/me`, { headers: bearer(u.token) })).json()) as { role: string };
    expect(me.role).toBe('operator');
  });
});

describe('shared rate limit buckets (local decisions, synced through Redis)', () => {
  const logger = createLogger('buckets-test', 'silent');
  it('two replicas spending one key share one limit: over the run they admit at most rate·T + 2·burst, and each sync is one round trip for all keys', async () => {
    const redis = new Redis('redis://127.0.0.1:6379');
    const keyPrefix = `${PREFIX}bucket:`;
    const rate = 50;
    const replicas = [0, 1].map(() => new SharedBuckets({ redis, keyPrefix, ratePerSec: rate, burst: rate, syncMs: 50, logger }));
    for (const r of replicas) r.start();
    let admitted = 0;
    const t0 = Date.now();
    // Both replicas offer 4× the limit for ~1.5 s, spread over time, on one key (plus 20 other keys on replica 0).
    while (Date.now() - t0 < 1500) {
      for (const r of replicas) for (let i = 0; i < 2; i++) if (r.take('the-key').ok) admitted++;
      for (let k = 0; k < 20; k++) replicas[0]!.take(`other-${k}`);
      await new Promise((res) => setTimeout(res, 10));
    }
    const seconds = (Date.now() - t0) / 1000;
    for (const r of replicas) await r.stop();
    const syncs = replicas.reduce((n, r) => n + r.syncs, 0);
    await redis.quit();
    // a single shared bucket would admit burst + rate·T; two replicas may each spend what they last saw
    expect(admitted).toBeLessThanOrEqual(Math.ceil(rate * seconds + 2 * rate));
    // and they do not starve each other: together they get at least the shared bucket's worth
    expect(admitted).toBeGreaterThanOrEqual(Math.floor(rate * seconds * 0.8));
    // one pipelined round trip per sync for 21 keys, not one per request
    expect(syncs).toBeLessThanOrEqual(Math.ceil((seconds * 1000) / 50) * 2 + 4);
  });

  it('a refused take says when to retry', () => {
    const buckets = new SharedBuckets({ redis: new Redis({ lazyConnect: true }), keyPrefix: 'unused:', ratePerSec: 2, burst: 2, syncMs: 1000, logger, now: () => 1000 });
    expect(buckets.take('k')).toEqual({ ok: true });
    expect(buckets.take('k')).toEqual({ ok: true });
    expect(buckets.take('k')).toEqual({ ok: false, retryAfterSeconds: 1 });
  });
});
