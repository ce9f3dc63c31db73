import { start, type Started } from '../src/main';
import { partitionName } from '../src/telemetry/partitions';
import { dbName, DeviceServiceStub, ensureDatabase, ingest, measurement, newDevice } from './helpers';

/** Daily partitions of the telemetry history: created ahead, dropped whole past the retention (own database). */
const DB = dbName('ds_test_alarm_partitions');
const DAY = 86_400_000;
let stub: DeviceServiceStub;
let app: Started;

beforeAll(async () => {
  await ensureDatabase(DB);
  stub = new DeviceServiceStub();
  await stub.start();
  app = await start({ PORT: 0, DATABASE_NAME: DB, BUS_ENABLED: false, DEVICE_SERVICE_URL: stub.url, LOG_LEVEL: 'silent', TELEMETRY_RETENTION_DAYS: 30, TELEMETRY_PARTITIONS_AHEAD_DAYS: 3 });
});
afterAll(async () => {
  await app?.stop();
  await stub?.stop();
});

const partitions = async () =>
  (await app.dataSource.query<{ name: string }[]>(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'telemetry'::regclass ORDER BY 1`)).map((r) => r.name);
const today = Math.floor(Date.now() / DAY) * DAY;
const days = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => partitionName(today + (from + i) * DAY));

test('partitions exist from yesterday to 3 days ahead; past the retention a whole day is dropped, and readings outside the partitions are refused', async () => {
  await app.partitions.maintain(); // at start, and now again: idempotent
  expect(await partitions()).toEqual(expect.arrayContaining(days(-1, 3)));
  expect(app.partitions.window).toEqual({ from: today - DAY, to: today + 4 * DAY });

  const d = newDevice(['someone']);
  stub.add(d);
  await ingest(app, [measurement(d.id, Date.now() - 1000, { temperature: 21 })]);
  const rows = async () => (await app.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM telemetry WHERE sensor_id = $1`, [d.sensors.temperature]))[0]!.n;
  expect(await rows()).toBe(1);
  expect(await app.dataSource.query<{ n: string }[]>(`SELECT tableoid::regclass::text AS n FROM telemetry WHERE sensor_id = $1`, [d.sensors.temperature])).toEqual([
    { n: partitionName(today) },
  ]);

  // 40 days later, with a retention of 30: today's partition and its neighbours go, whole, and new ones come
  await app.partitions.maintain(Date.now() + 40 * DAY);
  const later = await partitions();
  expect(later).toEqual(expect.arrayContaining(days(39, 43)));
  for (const gone of days(-1, 3)) expect(later).not.toContain(gone);
  expect(await rows()).toBe(0);
  expect(app.partitions.accepts(Date.now())).toBe('too_old');
  expect(app.partitions.accepts(Date.now() + 40 * DAY)).toBe('ok');

  // back to today (the clock of this test, not of the world): the partitions around it come back
  await app.partitions.maintain();
  expect(await partitions()).toEqual(expect.arrayContaining([...days(-1, 3), ...days(39, 43)]));
  expect(app.partitions.accepts(Date.now())).toBe('ok');
  expect(app.partitions.accepts(Date.now() + 10 * DAY)).toBe('too_new');
});
