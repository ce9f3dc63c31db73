import { randomUUID } from 'node:crypto';
import type { AlarmTypeView, AlarmView, TelemetrySeries } from '@devicesaga/contracts';
import type { OutgoingEvent } from '@devicesaga/platform';
import { start, type Started } from '../src/main';
import { client, dbName, DeviceServiceStub, ensureDatabase, ingest, measurement, metric, newDevice, type StubDevice } from './helpers';

/**
 * alarm-service in-process on its own database, the bus off (what it emits stays in its outbox), a stand-in for
 * device-service's internal access routes. Every test uses devices of its own, so they share nothing but the types.
 */
const DB = dbName('ds_test_alarm');
const alice = { id: `alice-${randomUUID()}` };
const bob = { id: `bob-${randomUUID()}` };
const operator = { id: `operator-${randomUUID()}`, role: 'operator' as const };

let stub: DeviceServiceStub;
let app: Started;
let call: ReturnType<typeof client>;
let types: Map<string, AlarmTypeView>;

beforeAll(async () => {
  await ensureDatabase(DB);
  stub = new DeviceServiceStub();
  await stub.start();
  app = await start({ PORT: 0, DATABASE_NAME: DB, BUS_ENABLED: false, DEVICE_SERVICE_URL: stub.url, LOG_LEVEL: 'silent' });
  call = client(app.port);
  const list = await call<{ items: AlarmTypeView[] }>('GET', '/api/v1/alarm-types', alice);
  types = new Map(list.body.items.map((t) => [t.name, t]));
});

afterAll(async () => {
  await app?.stop();
  await stub?.stop();
});

const T0 = Date.now() - 10 * 60_000;
const names = (events: OutgoingEvent[]) => events.map((e) => `${e.topic === 'alarm.alarm_created' ? 'created' : 'cleared'} ${(e.payload as { name: string }).name}`);
const alarmsOf = async (user: { id: string }, query: string) => (await call<{ items: AlarmView[] }>('GET', `/api/v1/alarms?${query}`, user)).body.items;

function device(...users: string[]): StubDevice {
  const d = newDevice(users);
  stub.add(d);
  app.access.invalidate(); // what device-service's announcement does
  return d;
}

describe('alarms from telemetry', () => {
  it('the initial alarm types are "High temperature" 40..50 MAJOR and "Critical temperature" 50..100 CRITICAL', () => {
    expect(types.get('High temperature')).toMatchObject({ parameter: 'temperature', lower: 40, upper: 50, severity: 'MAJOR', deviceGroupId: null });
    expect(types.get('Critical temperature')).toMatchObject({ parameter: 'temperature', lower: 50, upper: 100, severity: 'CRITICAL', deviceGroupId: null });
  });

  it('values crossing 40, then 50, then back below 40 raise and clear exactly the expected alarms', async () => {
    const d = device(alice.id);
    const emitted: OutgoingEvent[] = [];
    // one batch per reading (the state is read back each time), then the same run again in one batch
    for (const [i, v] of [20, 45, 47, 55, 60, 35].entries()) emitted.push(...(await ingest(app, [measurement(d.id, T0 + i * 1000, { temperature: v })])));
    // at 55 one batch clears High, then raises Critical
    expect(names(emitted)).toEqual(['created High temperature', 'cleared High temperature', 'created Critical temperature', 'cleared Critical temperature']);
    expect(emitted[0]).toMatchObject({ key: d.id, payload: { deviceId: d.id, sensorId: d.sensors.temperature, value: 45, severity: 'MAJOR', raisedAt: new Date(T0 + 1000).toISOString() } });
    expect(emitted[3]).toMatchObject({ payload: { value: 60, occurrences: 2, clearedBy: null, clearedAt: new Date(T0 + 5000).toISOString() } });

    const alarms = await alarmsOf(alice, `deviceId=${d.id}`);
    expect(alarms.map((a) => [a.name, a.status, a.firstValue, a.lastValue, a.occurrences])).toEqual([
      ['Critical temperature', 'CLEARED_UNACK', 55, 60, 2],
      ['High temperature', 'CLEARED_UNACK', 45, 47, 2],
    ]);

    const again = await ingest(app, [20, 45, 47, 55, 60, 35].map((v, i) => measurement(d.id, T0 + 60_000 + i * 1000, { temperature: v })));
    expect(names(again)).toEqual(['created High temperature', 'cleared High temperature', 'created Critical temperature', 'cleared Critical temperature']);
    expect(await alarmsOf(alice, `deviceId=${d.id}&status=ACTIVE_UNACK,ACTIVE_ACK`)).toEqual([]);
  });

  it('while the value stays in the range there is one active alarm whose occurrences and last value follow', async () => {
    const d = device(alice.id);
    const first = await ingest(app, [measurement(d.id, T0, { temperature: 42 }), measurement(d.id, T0 + 1000, { temperature: 43 })]);
    const more = await ingest(app, [measurement(d.id, T0 + 2000, { temperature: 44 }), measurement(d.id, T0 + 3000, { temperature: 39.5 })]);
    expect(names(first)).toEqual(['created High temperature']);
    expect(more).toEqual([]);
    const [a] = await alarmsOf(alice, `deviceId=${d.id}`);
    expect(a).toMatchObject({ status: 'ACTIVE_UNACK', occurrences: 3, firstValue: 42, lastValue: 39.5, lastSeenAt: new Date(T0 + 3000).toISOString() });
  });

  it('acknowledging and clearing work in either order, and a cleared alarm is announced once with who cleared it', async () => {
    const d1 = device(alice.id);
    const d2 = device(alice.id);
    await ingest(app, [measurement(d1.id, T0, { temperature: 45 }), measurement(d2.id, T0, { temperature: 45 })]);
    const [a1] = await alarmsOf(alice, `deviceId=${d1.id}`);
    const [a2] = await alarmsOf(alice, `deviceId=${d2.id}`);

    // ack, then clear
    expect((await call<AlarmView>('POST', `/api/v1/alarms/${a1!.id}/ack`, alice)).body).toMatchObject({ status: 'ACTIVE_ACK', ackBy: alice.id });
    expect((await call<AlarmView>('POST', `/api/v1/alarms/${a1!.id}/ack`, alice)).body.status).toBe('ACTIVE_ACK');
    expect((await call<AlarmView>('POST', `/api/v1/alarms/${a1!.id}/clear`, alice)).body).toMatchObject({ status: 'CLEARED_ACK', clearedBy: alice.id });
    // clear, then ack
    expect((await call<AlarmView>('POST', `/api/v1/alarms/${a2!.id}/clear`, alice)).body).toMatchObject({ status: 'CLEARED_UNACK', clearedBy: alice.id });
    expect((await call<AlarmView>('POST', `/api/v1/alarms/${a2!.id}/clear`, alice)).body.status).toBe('CLEARED_UNACK');
    expect((await call<AlarmView>('POST', `/api/v1/alarms/${a2!.id}/ack`, alice)).body).toMatchObject({ status: 'CLEARED_ACK', ackBy: alice.id });

    const outbox = await app.dataSource.query<{ topic: string; payload: { alarmId: string; clearedBy: string | null } }[]>(
      `SELECT topic, envelope->'payload' AS payload FROM outbox WHERE envelope->'payload'->>'alarmId' = ANY($1) ORDER BY seq`,
      [[a1!.id, a2!.id]],
    );
    expect(outbox.filter((o) => o.topic === 'alarm.alarm_cleared').map((o) => [o.payload.alarmId, o.payload.clearedBy])).toEqual([
      [a1!.id, alice.id],
      [a2!.id, alice.id],
    ]);

    // the condition still holds: the next reading raises a new alarm
    const next = await ingest(app, [measurement(d2.id, T0 + 1000, { temperature: 46 })]);
    expect(names(next)).toEqual(['created High temperature']);
    // an acknowledged alarm clears by value as CLEARED_ACK
    const [a3] = await alarmsOf(alice, `deviceId=${d2.id}&status=ACTIVE_UNACK`);
    await call('POST', `/api/v1/alarms/${a3!.id}/ack`, alice);
    await ingest(app, [measurement(d2.id, T0 + 2000, { temperature: 20 })]);
    expect((await call<AlarmView>('GET', `/api/v1/alarms/${a3!.id}`, alice)).body).toMatchObject({ status: 'CLEARED_ACK', clearedBy: null });
    expect(await alarmsOf(alice, `deviceId=${d2.id}&status=CLEARED_ACK&severity=MAJOR`)).toHaveLength(2);
    expect(await alarmsOf(alice, `deviceId=${d2.id}&severity=CRITICAL`)).toHaveLength(0);
  });

  it("user B never sees user A's telemetry or alarms", async () => {
    const mine = device(alice.id);
    device(bob.id);
    await ingest(app, [measurement(mine.id, T0, { temperature: 55 })]);
    const [a] = await alarmsOf(alice, `deviceId=${mine.id}`);
    expect(a).toBeDefined();

    expect((await alarmsOf(bob, '')).filter((x) => x.deviceId === mine.id)).toEqual([]);
    expect(await alarmsOf(bob, `deviceId=${mine.id}`)).toEqual([]);
    for (const [method, path] of [
      ['GET', `/api/v1/alarms/${a!.id}`],
      ['POST', `/api/v1/alarms/${a!.id}/ack`],
      ['POST', `/api/v1/alarms/${a!.id}/clear`],
      ['GET', `/api/v1/devices/${mine.id}/telemetry?sensorId=${mine.sensors.temperature}`],
    ] as const) {
      expect({ path, status: (await call(method, path, bob)).status }).toEqual({ path, status: 404 });
    }
    expect((await call<AlarmView>('GET', `/api/v1/alarms/${a!.id}`, alice)).body.status).toBe('ACTIVE_UNACK');
    expect((await call('GET', `/api/v1/devices/${mine.id}/telemetry?sensorId=${mine.sensors.temperature}&from=${new Date(T0 - 1000).toISOString()}`, alice)).status).toBe(200);
  });

  it('the history endpoint answers raw points and min/max/avg/last buckets of a known series', async () => {
    const d = device(alice.id);
    const base = Math.floor((Date.now() - 30 * 60_000) / 60_000) * 60_000; // a minute boundary half an hour ago
    const series: [number, number][] = [
      [0, 1],
      [10, 2],
      [20, 3],
      [60, 10],
      [70, 20],
      [130, 5],
      [200, 99], // past `to`
    ];
    await ingest(app, series.map(([s, v]) => measurement(d.id, base + s * 1000, { temperature: v, enabled: 1 })));
    const q = `sensorId=${d.sensors.temperature}&from=${new Date(base).toISOString()}&to=${new Date(base + 180_000).toISOString()}`;

    const raw = await call<TelemetrySeries>('GET', `/api/v1/devices/${d.id}/telemetry?${q}`, alice);
    expect(raw.status).toBe(200);
    expect(raw.body).toMatchObject({ deviceId: d.id, sensorId: d.sensors.temperature, parameter: 'temperature', bucket: null });
    expect(raw.body.points).toEqual(series.slice(0, 6).map(([s, value]) => ({ ts: new Date(base + s * 1000).toISOString(), value })));

    const buckets = await call<TelemetrySeries>('GET', `/api/v1/devices/${d.id}/telemetry?${q}&bucket=1m`, alice);
    expect(buckets.body.points).toEqual([
      { ts: new Date(base).toISOString(), min: 1, max: 3, avg: 2, last: 3, count: 3 },
      { ts: new Date(base + 60_000).toISOString(), min: 10, max: 20, avg: 15, last: 20, count: 2 },
      { ts: new Date(base + 120_000).toISOString(), min: 5, max: 5, avg: 5, last: 5, count: 1 },
    ]);
    const other = await call<TelemetrySeries>('GET', `/api/v1/devices/${d.id}/telemetry?sensorId=${d.sensors.enabled}&from=${new Date(base).toISOString()}&bucket=1h`, alice);
    const hours = new Set(series.map(([sec]) => Math.floor((base + sec * 1000) / 3_600_000)));
    expect(other.body.points).toHaveLength(hours.size); // the readings may straddle an hour
    expect(other.body.points.map((p) => ('count' in p ? [p.min, p.max] : []))).toEqual([...hours].map(() => [1, 1]));
    expect(other.body.points.reduce((n, p) => n + ('count' in p ? p.count : 0), 0)).toBe(7);

    expect((await call('GET', `/api/v1/devices/${d.id}/telemetry?${q}&bucket=1s&from=2020-01-01T00:00:00Z`, alice)).status).toBe(400);
    expect((await call('GET', `/api/v1/devices/${d.id}/telemetry?${q}&bucket=soon`, alice)).status).toBe(400);
    expect((await call('GET', `/api/v1/devices/${d.id}/telemetry?sensorId=${randomUUID()}`, alice)).status).toBe(404);
  });

  it('a reading a device sends twice is stored once; a parameter the device has no sensor for, or an unknown device, is dropped and counted', async () => {
    const d = device(alice.id);
    const ts = T0 + 5000;
    const before = {
      duplicates: await metric(app.port, 'telemetry_readings_duplicate_total'),
      sensor: await metric(app.port, 'telemetry_readings_dropped_total', 'reason="unknown_sensor"'),
      device: await metric(app.port, 'telemetry_readings_dropped_total', 'reason="unknown_device"'),
    };
    await ingest(app, [measurement(d.id, ts, { temperature: 21.5 })]);
    await ingest(app, [measurement(d.id, ts, { temperature: 21.5 }), measurement(d.id, ts, { temperature: 21.5, pressure: 3 })]);
    await ingest(app, [measurement(randomUUID(), ts, { temperature: 1 }), measurement('not-a-device', ts, { temperature: 1 })]);
    const stored = await app.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM telemetry WHERE sensor_id = $1`, [d.sensors.temperature]);
    expect(stored[0]!.n).toBe(1);
    expect(await metric(app.port, 'telemetry_readings_duplicate_total')).toBe(before.duplicates + 2);
    expect(await metric(app.port, 'telemetry_readings_dropped_total', 'reason="unknown_sensor"')).toBe(before.sensor + 1);
    expect(await metric(app.port, 'telemetry_readings_dropped_total', 'reason="unknown_device"')).toBe(before.device + 2);
    // a duplicate raises nothing twice either
    const hot = await ingest(app, [measurement(d.id, ts + 1000, { temperature: 45 })]);
    const replay = await ingest(app, [measurement(d.id, ts + 1000, { temperature: 45 })]);
    expect([hot.length, replay.length]).toEqual([1, 0]);
    expect((await alarmsOf(alice, `deviceId=${d.id}`))[0]?.occurrences).toBe(1);
  });

  it('a reading dated where no partition exists (past the retention, or days ahead) is dropped and counted', async () => {
    const d = device(alice.id);
    const before = (await metric(app.port, 'telemetry_readings_dropped_total', 'reason="too_old"')) + (await metric(app.port, 'telemetry_readings_dropped_total', 'reason="too_new"'));
    await ingest(app, [measurement(d.id, '2001-01-01T00:00:00Z', { temperature: 45 }), measurement(d.id, Date.now() + 400 * 86_400_000, { temperature: 45 })]);
    const after = (await metric(app.port, 'telemetry_readings_dropped_total', 'reason="too_old"')) + (await metric(app.port, 'telemetry_readings_dropped_total', 'reason="too_new"'));
    expect(after - before).toBe(2);
    expect(await alarmsOf(alice, `deviceId=${d.id}`)).toEqual([]);
  });

  it('concurrent batches for one sensor on two instances leave exactly one active alarm counting every occurrence', async () => {
    const d = device(alice.id);
    const second = await start({ PORT: 0, DATABASE_NAME: DB, BUS_ENABLED: false, DEVICE_SERVICE_URL: stub.url, LOG_LEVEL: 'silent' });
    try {
      // 20 batches of 50 readings in flight at once, alternating between the instances (separate pools)
      const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 50 }, (_, i) => measurement(d.id, T0 + (b * 50 + i) * 10, { temperature: 45 + (i % 5) })));
      const emitted = (await Promise.all(batches.map((events, b) => ingest(b % 2 ? second : app, events)))).flat();
      expect(names(emitted)).toEqual(['created High temperature']);
      const alarms = await alarmsOf(alice, `deviceId=${d.id}`);
      expect(alarms.map((a) => [a.status, a.occurrences])).toEqual([['ACTIVE_UNACK', 1000]]);
      expect(alarms[0]!.lastSeenAt).toBe(new Date(T0 + 999 * 10).toISOString());
    } finally {
      await second.stop();
    }
  });
});

describe('alarm types', () => {
  it('operators create, change and delete them; other users only read (403)', async () => {
    const body = { name: `Humid ${randomUUID()}`, parameter: 'humidity', lower: 80, upper: 100, severity: 'WARNING' };
    expect((await call('POST', '/api/v1/alarm-types', alice, body)).status).toBe(403);
    const created = await call<AlarmTypeView>('POST', '/api/v1/alarm-types', operator, body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...body, deviceGroupId: null, hysteresis: 0, minDurationSeconds: 0 });
    expect((await call('POST', '/api/v1/alarm-types', operator, body)).status).toBe(409);
    expect((await call('POST', '/api/v1/alarm-types', operator, { ...body, name: 'inverted', lower: 9, upper: 1 })).status).toBe(400);
    expect((await call('POST', '/api/v1/alarm-types', operator, { ...body, name: 'bad', severity: 'SEVERE' })).status).toBe(400);

    expect((await call('PATCH', `/api/v1/alarm-types/${created.body.id}`, alice, { severity: 'MINOR' })).status).toBe(403);
    const changed = await call<AlarmTypeView>('PATCH', `/api/v1/alarm-types/${created.body.id}`, operator, { severity: 'MINOR', hysteresis: 2 });
    expect(changed.body).toMatchObject({ severity: 'MINOR', hysteresis: 2, lower: 80 });
    expect((await call('PATCH', `/api/v1/alarm-types/${created.body.id}`, operator, { lower: 200 })).status).toBe(400);
    expect((await call<AlarmTypeView>('GET', `/api/v1/alarm-types/${created.body.id}`, alice)).body.severity).toBe('MINOR');

    expect((await call('DELETE', `/api/v1/alarm-types/${created.body.id}`, alice)).status).toBe(403);
    expect((await call('DELETE', `/api/v1/alarm-types/${created.body.id}`, operator)).status).toBe(204);
    expect((await call('GET', `/api/v1/alarm-types/${created.body.id}`, alice)).status).toBe(404);
  });

  it('a type scoped to a device group watches only that group, with flap suppression; deleting it clears its alarms', async () => {
    const group = randomUUID();
    const inGroup = newDevice([alice.id], group);
    const outside = newDevice([alice.id]);
    stub.add(inGroup, outside);
    app.access.invalidate();
    const created = await call<AlarmTypeView>('POST', '/api/v1/alarm-types', operator, {
      name: `Cold ${randomUUID()}`,
      parameter: 'temperature',
      lower: -50,
      upper: 5,
      severity: 'MINOR',
      deviceGroupId: group,
      minDurationSeconds: 5,
    });
    expect(created.status).toBe(201);
    app.rules.invalidate();

    const at = (s: number, v: number, d = inGroup) => measurement(d.id, T0 + s * 1000, { temperature: v });
    expect(await ingest(app, [at(0, 2), at(2, 1), at(0, 2, outside), at(9, 2, outside)])).toEqual([]); // pending (2 s of 5)
    expect(await ingest(app, [at(3, 9), at(4, 3)])).toEqual([]); // left the range: the condition starts again at 4 s
    expect(await ingest(app, [at(8, 4)])).toEqual([]); // 4 s held
    const raised = await ingest(app, [at(9, 0)]); // 5 s held
    expect(names(raised)).toEqual([`created ${created.body.name}`]);
    const [alarm] = await alarmsOf(alice, `deviceId=${inGroup.id}`);
    expect(alarm).toMatchObject({ occurrences: 3, firstValue: 0, severity: 'MINOR', raisedAt: new Date(T0 + 9000).toISOString() });
    expect(await alarmsOf(alice, `deviceId=${outside.id}`)).toEqual([]);

    expect((await call('DELETE', `/api/v1/alarm-types/${created.body.id}`, operator)).status).toBe(204);
    expect((await call<AlarmView>('GET', `/api/v1/alarms/${alarm!.id}`, alice)).body).toMatchObject({ status: 'CLEARED_UNACK', clearedBy: operator.id });
  });
});
