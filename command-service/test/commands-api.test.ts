import { randomUUID } from 'node:crypto';
import { createRedis, createLogger } from '@devicesaga/platform';
import { start, type Started } from '../src/main';
import { applyEvent, client, DeviceServiceStub, ensureDatabase, sagaEvent, TEST_DB, identityFor, until, type Api } from './helpers';

const A = `user-a-${randomUUID()}`;
const B = `user-b-${randomUUID()}`;
const DEVICE = `dev-${randomUUID().slice(0, 8)}`;
const SENSOR = `sen-${randomUUID().slice(0, 8)}`;
const LIST_DEVICE = `dev-list-${randomUUID().slice(0, 8)}`;
const LIST_SENSOR = `sen-list-${randomUUID().slice(0, 8)}`;
const FLAKY_SENSOR = `sen-flaky-${randomUUID().slice(0, 8)}`;

let app: Started;
let stub: DeviceServiceStub;
let call: ReturnType<typeof client>;
let tokenA: string;
let tokenB: string;

const body = (over: Record<string, unknown> = {}) => ({ deviceId: DEVICE, sensorId: SENSOR, action: 'set', value: 21.5, ...over });
const post = (b: unknown, headers: Record<string, string> = {}, token = tokenA) => call('POST', '/api/v1/commands', token, b, headers);

beforeAll(async () => {
  await ensureDatabase();
  stub = new DeviceServiceStub();
  stub.sensors.set(SENSOR, { deviceId: DEVICE, owner: A });
  stub.sensors.set(LIST_SENSOR, { deviceId: LIST_DEVICE, owner: A });
  stub.sensors.set(FLAKY_SENSOR, { deviceId: DEVICE, owner: A });
  await stub.start();
  app = await start({ PORT: 0, DATABASE_NAME: TEST_DB, DEVICE_SERVICE_URL: stub.url, BUS_ENABLED: false, LOG_LEVEL: 'silent', SWEEP_INTERVAL_MS: 3_600_000 });
  call = client(app.port);
  tokenA = identityFor(A);
  tokenB = identityFor(B);
});

afterAll(async () => {
  await app?.stop();
  await stub?.stop();
});

describe('POST /api/v1/commands', () => {
  test('a command is accepted as PENDING, and its row, idempotency key and outbox event commit in one transaction', async () => {
    const key = randomUUID();
    const res = await post(body({ ttlSeconds: 120, expectedValue: 20 }), { 'Idempotency-Key': key });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    expect(res.headers.get('location')).toBe(`/api/v1/commands/${id}`);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(res.body).toMatchObject({ version: 1, status: 'PENDING', deviceId: DEVICE, sensorId: SENSOR, action: 'set', value: 21.5, expectedValue: 20, ttlSeconds: 120 });
    expect(typeof res.body.createdAt).toBe('string');

    const [command] = await app.dataSource.query<{
      tx: string;
      status: string;
      version: number;
      history: unknown[];
      expires_at: Date;
      created_at: Date;
    }[]>('SELECT xmin::text AS tx, status, version, history, expires_at, created_at FROM commands WHERE id = $1', [id]);
    const outbox = await app.dataSource.query<{
      tx: string;
      topic: string;
      key: string;
      envelope: { type: string; correlationId: string; payload: Record<string, unknown> };
    }[]>(`SELECT xmin::text AS tx, topic, key, envelope FROM outbox WHERE envelope->>'correlationId' = $1`, [id]);
    const [idem] = await app.dataSource.query<{
      tx: string;
      command_id: string;
    }[]>('SELECT xmin::text AS tx, command_id FROM idempotency_keys WHERE user_id = $1 AND key = $2', [A, key]);
    expect(command).toMatchObject({ status: 'PENDING', version: 1, history: [{ status: 'PENDING', at: res.body.createdAt }] });
    expect(command!.expires_at.getTime() - command!.created_at.getTime()).toBe(120_000);
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ topic: 'command.value_set', key: DEVICE });
    expect(outbox[0]!.envelope.payload).toEqual({
      commandId: id,
      userId: A,
      deviceId: DEVICE,
      sensorId: SENSOR,
      action: 'set',
      value: 21.5,
      expectedValue: 20,
      expiresAt: command!.expires_at.toISOString(),
    });
    expect(idem!.command_id).toBe(id);
    // xmin is the id of the transaction that wrote the row: all three rows come from the same one.
    expect(outbox[0]!.tx).toBe(command!.tx);
    expect(idem!.tx).toBe(command!.tx);
  });

  test('a retried Idempotency-Key answers the same command, marked as replayed, and creates nothing more', async () => {
    const key = randomUUID();
    const first = await post(body({ value: 30 }), { 'Idempotency-Key': key });
    // the same body with another key order and the default ttl spelled out is the same request
    const again = await post({ ttlSeconds: 60, value: 30, action: 'set', sensorId: SENSOR, deviceId: DEVICE }, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/api/v1/commands/${String(first.body.id)}`);
    expect(again.body.id).toBe(first.body.id);
    const [{ n }] = await app.dataSource.query<[{ n: number }]>(`SELECT count(*)::int AS n FROM outbox WHERE envelope->>'correlationId' = $1`, [first.body.id]);
    expect(n).toBe(1);
  });

  test('10 concurrent requests with one Idempotency-Key create exactly one command', async () => {
    const key = randomUUID();
    const before = await countCommands(A);
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(body({ value: 42 }), { 'Idempotency-Key': key })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    expect(await countCommands(A)).toBe(before + 1);
  });

  test('X-Request-Id serves as the idempotency key when there is no Idempotency-Key', async () => {
    const requestId = `req-${randomUUID()}`;
    const first = await post(body({ value: 7 }), { 'X-Request-Id': requestId });
    const again = await post(body({ value: 7 }), { 'X-Request-Id': requestId });
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  test('without any key every request is a new command', async () => {
    const first = await post(body({ value: 8 }));
    const second = await post(body({ value: 8 }));
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.id).not.toBe(first.body.id);
  });

  test('the same key with a different body is refused with 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const key = randomUUID();
    expect((await post(body({ value: 1 }), { 'Idempotency-Key': key })).status).toBe(202);
    const reused = await post(body({ value: 2 }), { 'Idempotency-Key': key });
    expect(reused.status).toBe(422);
    expect(reused.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
  });

  test.each([
    ['an unknown field', body({ colour: 'red' }), 'colour'],
    ['a value that is not a number', body({ value: 'hot' }), 'body.value'],
    ['an unknown action', body({ action: 'multiply' }), 'body.action'],
    ['a ttl out of range', body({ ttlSeconds: 0 }), 'body.ttlSeconds'],
    ['a ttl too long', body({ ttlSeconds: 86_401 }), 'body.ttlSeconds'],
    ['a missing sensorId', { deviceId: DEVICE, action: 'set', value: 1 }, 'body.sensorId'],
    ['an infinite value', `{"deviceId":"${DEVICE}","sensorId":"${SENSOR}","action":"set","value":1e999}`, 'body.value'],
  ])('%s is a 400 naming the field', async (_what, input, field) => {
    const res = await post(input);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain(field);
  });

  test('an invalid Idempotency-Key is a 400 naming the header', async () => {
    const res = await post(body(), { 'Idempotency-Key': 'x'.repeat(256) });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain('idempotency-key');
  });

  test('a request without a signed identity (not through the gateway) is a 401', async () => {
    const res = await fetch(`http://127.0.0.1:${app.port}/api/v1/commands`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body()) });
    expect(res.status).toBe(401);
  });

  test('a user who cannot access the device gets 404 "device not found", and nothing is created', async () => {
    const before = await countCommands(B);
    const res = await post(body(), {}, tokenB);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'device not found' });
    expect(await countCommands(B)).toBe(before);
  });

  test('a sensor of another device is a 404 "device not found"', async () => {
    const res = await post(body({ deviceId: LIST_DEVICE }));
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ message: 'device not found' });
  });

  test('device-service failing is a 503, and a positive answer is cached so repeated commands do not ask again', async () => {
    stub.failing = true;
    const down = await post(body({ sensorId: FLAKY_SENSOR }));
    expect(down.status).toBe(503);
    stub.failing = false;
    const callsBefore = stub.calls;
    for (let i = 0; i < 5; i++) expect((await post(body({ sensorId: FLAKY_SENSOR }))).status).toBe(202);
    expect(stub.calls - callsBefore).toBe(1);
  });
});

describe('GET /api/v1/commands/{id}', () => {
  test('the creator sees the command with its history; another user gets 404', async () => {
    const id = (await post(body())).body.id as string;
    const mine = await call('GET', `/api/v1/commands/${id}`, tokenA);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ id, version: 1, status: 'PENDING', history: [{ status: 'PENDING' }] });
    expect(mine.body).not.toHaveProperty('reason');
    const theirs = await call('GET', `/api/v1/commands/${id}`, tokenB);
    expect(theirs.status).toBe(404);
    expect((await call('GET', `/api/v1/commands/not-a-uuid`, tokenA)).status).toBe(404);
    expect((await call('GET', `/api/v1/commands/${randomUUID()}`, tokenA)).status).toBe(404);
  });

  test('a long-poll answers at once when the command is already past `after`', async () => {
    const id = (await post(body())).body.id as string;
    await applyEvent(app, sagaEvent('dm.value_set_approved', approvedPayload(id)));
    const started = Date.now();
    const res = await call('GET', `/api/v1/commands/${id}?wait=30&after=1`, tokenA);
    expect(res.body).toMatchObject({ version: 2, status: 'APPROVED' });
    expect(Date.now() - started).toBeLessThan(20_000); // it did not wait out the 30 s
  });

  test('a long-poll on a terminal command answers at once whatever `after` says', async () => {
    const id = (await post(body())).body.id as string;
    await applyEvent(app, sagaEvent('dm.value_set_error', { ...ids(id), stage: 'REJECTED', reason: 'OUT_OF_RANGE', message: 'too hot' }));
    const started = Date.now();
    const res = await call('GET', `/api/v1/commands/${id}?wait=30&after=99`, tokenA);
    expect(res.body).toMatchObject({ version: 2, status: 'REJECTED', reason: 'OUT_OF_RANGE' });
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test('a long-poll wakes when a status event is applied and answers the new version', async () => {
    const id = (await post(body())).body.id as string;
    const started = Date.now();
    const polling = call('GET', `/api/v1/commands/${id}?wait=30&after=1`, tokenA);
    await until(() => app.signals.size > 0); // the poll is subscribed to command:<id>
    await applyEvent(app, sagaEvent('dm.value_set_approved', approvedPayload(id)));
    const res = await polling;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, version: 2, status: 'APPROVED', history: [{ status: 'PENDING' }, { status: 'APPROVED' }] });
    expect(Date.now() - started).toBeLessThan(20_000); // woken, not timed out
  });

  test('a long-poll with nothing happening answers the unchanged command after `wait`', async () => {
    const id = (await post(body())).body.id as string;
    const res = await call('GET', `/api/v1/commands/${id}?wait=0.5&after=1`, tokenA);
    expect(res.body).toMatchObject({ id, version: 1, status: 'PENDING' });
  });

  test('a bad wait is a 400 naming it', async () => {
    const id = (await post(body())).body.id as string;
    const res = await call('GET', `/api/v1/commands/${id}?wait=31`, tokenA);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain('query.wait');
  });
});

describe('status tracking', () => {
  test('events applied out of order end in the right status and history, and duplicates change nothing', async () => {
    const id = (await post(body())).body.id as string;
    const compensated = sagaEvent('dm.value_set_error', { ...ids(id), stage: 'COMPENSATED', reason: 'REFUSED', message: 'device refused', restoredValue: 20 }, at(3));
    const failed = sagaEvent('adapter.value_set_error', { ...ids(id), reason: 'REFUSED', message: 'device refused' }, at(2));
    const approved = sagaEvent('dm.value_set_approved', approvedPayload(id), at(1));
    for (const e of [compensated, failed, approved, compensated]) await applyEvent(app, e);
    const res = await call('GET', `/api/v1/commands/${id}`, tokenA);
    expect(res.body).toMatchObject({ status: 'COMPENSATED', version: 4, reason: 'REFUSED' });
    expect(res.body.history).toEqual([
      { status: 'PENDING', at: expect.any(String) as unknown },
      { status: 'APPROVED', at: at(3) },
      { status: 'FAILED', at: at(3), reason: 'REFUSED' },
      { status: 'COMPENSATED', at: at(3), reason: 'REFUSED' },
    ]);
  });

  test('SUCCEEDED before APPROVED records the implied APPROVED; the late APPROVED is a no-op', async () => {
    const id = (await post(body())).body.id as string;
    await applyEvent(app, sagaEvent('adapter.value_set_sent', { ...ids(id), value: 21.5 }));
    await applyEvent(app, sagaEvent('dm.value_set_approved', approvedPayload(id)));
    const res = await call('GET', `/api/v1/commands/${id}`, tokenA);
    expect(res.body).toMatchObject({ status: 'SUCCEEDED', version: 3 });
    expect((res.body.history as { status: string }[]).map((h) => h.status)).toEqual(['PENDING', 'APPROVED', 'SUCCEEDED']);
  });

  test('an event for an unknown command is ignored', async () => {
    await expect(applyEvent(app, sagaEvent('dm.value_set_approved', approvedPayload(randomUUID())))).resolves.toBeUndefined();
  });

  test('each change is published on user-commands:<userId> for push-service', async () => {
    const sub = createRedis('redis://127.0.0.1:6379', createLogger('test', 'silent'), 'test-sub');
    const seen: Record<string, unknown>[] = [];
    sub.on('message', (_channel: string, message: string) => seen.push(JSON.parse(message) as Record<string, unknown>));
    await sub.subscribe(`user-commands:${A}`);
    try {
      const id = (await post(body())).body.id as string;
      await applyEvent(app, sagaEvent('dm.value_set_approved', approvedPayload(id)));
      await until(() => seen.filter((m) => m.id === id).length >= 2);
      expect(seen.filter((m) => m.id === id).map((m) => [m.status, m.version])).toEqual([
        ['PENDING', 1],
        ['APPROVED', 2],
      ]);
    } finally {
      await sub.quit();
    }
  });

  test('the sweeper flags a command long past its deadline as STUCK without changing its status', async () => {
    const id = randomUUID();
    const long = new Date(Date.now() - 3_600_000);
    await app.dataSource.query(
      `INSERT INTO commands (id, user_id, device_id, sensor_id, action, value, ttl_seconds, expires_at, status, version, history, created_at, updated_at)
       VALUES ($1, $2, $3, $4, 'set', 1, 60, $5, 'APPROVED', 2, $6::jsonb, $5, $5)`,
      [id, A, DEVICE, SENSOR, long, JSON.stringify([{ status: 'PENDING', at: long.toISOString() }, { status: 'APPROVED', at: long.toISOString() }])],
    );
    const flagged = await app.sweeper.sweep();
    expect(flagged).toContain(id);
    expect(await app.sweeper.sweep()).not.toContain(id); // flagged once
    const res = await call('GET', `/api/v1/commands/${id}`, tokenA);
    expect(res.body).toMatchObject({ status: 'APPROVED', version: 2, reason: 'STUCK' });
    const metrics = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text();
    expect(metrics).toMatch(/saga_stuck_total\{[^}]*\} [1-9]/);
  });
});

describe('GET /api/v1/commands', () => {
  test('pages with a cursor cover every command once, newest first, ties on created_at included', async () => {
    const created: string[] = [];
    for (let i = 0; i < 12; i++) created.push((await post(body({ deviceId: LIST_DEVICE, sensorId: LIST_SENSOR, value: i }))).body.id as string);
    // five commands created in the same millisecond: the id breaks the tie
    const same = new Date();
    for (let i = 0; i < 5; i++) {
      const id = randomUUID();
      created.push(id);
      await app.dataSource.query(
        `INSERT INTO commands (id, user_id, device_id, sensor_id, action, value, ttl_seconds, expires_at, status, version, history, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'set', 1, 60, $5, 'PENDING', 1, '[]'::jsonb, $5, $5)`,
        [id, A, LIST_DEVICE, LIST_SENSOR, same],
      );
    }
    const seen: { id: string; createdAt: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Api = await call('GET', `/api/v1/commands?deviceId=${LIST_DEVICE}&limit=4${cursor ? `&cursor=${cursor}` : ''}`, tokenA);
      expect(page.status).toBe(200);
      const items = page.body.items as { id: string; createdAt: string; deviceId: string }[];
      expect(items.length).toBeLessThanOrEqual(4);
      for (const item of items) expect(item.deviceId).toBe(LIST_DEVICE);
      seen.push(...items);
      cursor = page.body.nextCursor as string | null;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBe(5); // 17 items: 4+4+4+4+1
    expect(seen).toHaveLength(17);
    expect(new Set(seen.map((s) => s.id))).toEqual(new Set(created));
    const order = seen.map((s) => s.createdAt);
    expect([...order].sort().reverse()).toEqual(order);
  });

  test('another user sees none of them; status filters; limit is bounded', async () => {
    const theirs = await call('GET', `/api/v1/commands?deviceId=${LIST_DEVICE}`, tokenB);
    expect(theirs.body).toEqual({ items: [], nextCursor: null });
    const pending = await call('GET', `/api/v1/commands?status=PENDING&limit=100`, tokenA);
    expect((pending.body.items as { status: string }[]).every((c) => c.status === 'PENDING')).toBe(true);
    expect((await call('GET', `/api/v1/commands?limit=101`, tokenA)).status).toBe(400);
    expect((await call('GET', `/api/v1/commands?status=DONE`, tokenA)).status).toBe(400);
  });

  test('a bad cursor is a 400 naming it', async () => {
    const res = await call('GET', `/api/v1/commands?cursor=bm90LWEtY3Vyc29y`, tokenA);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body.error)).toContain('query.cursor');
  });
});

describe('health', () => {
  test('readiness checks the database, Redis and the bus', async () => {
    const res = await fetch(`http://127.0.0.1:${app.port}/health/ready`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { checks: Record<string, string> }).checks).toEqual({ database: 'ok', redis: 'ok', bus: 'ok' });
  });
});

function ids(commandId: string) {
  return { commandId, userId: A, deviceId: DEVICE, sensorId: SENSOR };
}

function approvedPayload(commandId: string) {
  return { ...ids(commandId), parameter: 'temperature', action: 'set' as const, value: 21.5, previousValue: 20, expiresAt: new Date(Date.now() + 60_000).toISOString() };
}

function at(n: number): string {
  return new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
}

async function countCommands(userId: string): Promise<number> {
  const [{ n }] = await app.dataSource.query<[{ n: number }]>('SELECT count(*)::int AS n FROM commands WHERE user_id = $1', [userId]);
  return n;
}
