import { randomUUID } from 'node:crypto';
import type { AlarmView } from '@devicesaga/contracts';
import { createBus, createKafkaClient, type BusInstance, type KafkaClient, type RawConsumer } from '@devicesaga/platform';
import { start, type Started } from '../src/main';
import { client, dbName, DeviceServiceStub, ensureDatabase, metric, newDevice, settings, testLogger, until } from './helpers';

/**
 * Two alarm-service instances in one consumer group on the real Kafka (topics of their own), one database. 1,000
 * out-of-range measurements of one sensor are published as fast as possible with their keys spread over the topic's
 * partitions, so both instances handle some of them at the same time: exactly one alarm is raised and announced,
 * counting every measurement.
 */
const DB = dbName('ds_test_alarm_race');
const prefix = `alarm-${randomUUID().slice(0, 8)}.`;
const group = `-race-${randomUUID().slice(0, 8)}`;
const alice = { id: `alice-${randomUUID()}` };

let stub: DeviceServiceStub;
let one: Started;
let two: Started;
let adapter: BusInstance;
let raw: KafkaClient;
let rawConsumer: RawConsumer;
const announced: { alarmId: string; deviceId: string }[] = [];

beforeAll(async () => {
  await ensureDatabase(DB);
  stub = new DeviceServiceStub();
  await stub.start();
  const env = { PORT: 0, DATABASE_NAME: DB, DEVICE_SERVICE_URL: stub.url, TOPIC_PREFIX: prefix, GROUP_SUFFIX: group, LOG_LEVEL: 'silent' };
  one = await start(env); // one after the other: the first runs the migrations
  two = await start(env);
  raw = createKafkaClient(settings.KAFKA_CLIENT, { clientId: 'alarm-race-test', brokers: settings.KAFKA_BROKERS, logger: testLogger });
  await raw.ensureTopics([{ name: `${prefix}alarm.alarm_created`, partitions: 3 }]);
  rawConsumer = await raw.consumer({ groupId: `alarm-race-${randomUUID()}`, topics: [`${prefix}alarm.alarm_created`], fromBeginning: true });
  await rawConsumer.run((batch) => {
    // schema-registry framing: magic byte + 4-byte schema id, then the JSON envelope
    for (const m of batch.messages) if (m.value) announced.push((JSON.parse(m.value.subarray(5).toString('utf8')) as { payload: { alarmId: string; deviceId: string } }).payload);
    return Promise.resolve();
  });
  adapter = createBus({ serviceName: 'adapter', client: settings.KAFKA_CLIENT, brokers: settings.KAFKA_BROKERS, registryUrl: settings.SCHEMA_REGISTRY_URL, logger: testLogger, topicPrefix: prefix, metrics: false });
}, 120_000);

afterAll(async () => {
  await rawConsumer?.stop();
  await raw?.close();
  await adapter?.stop();
  await Promise.all([one?.stop(), two?.stop()]);
  await stub?.stop();
});

const stored = async (app: Started) => metric(app.port, 'telemetry_readings_stored_total');

test('1,000 out-of-range measurements of one sensor through two instances leave exactly one active alarm with 1,000 occurrences', async () => {
  const d = newDevice([alice.id]);
  stub.add(d);
  const t0 = Date.now() - 60_000;
  const publish = (from: number, n: number, value: (i: number) => number) =>
    adapter.publish(
      Array.from({ length: n }, (_, k) => {
        const i = from + k;
        // keys spread over the partitions, so both instances get measurements of the one sensor
        return { topic: 'adapter.measure_received' as const, key: `${d.id}#${i % 6}`, correlationId: randomUUID(), payload: { deviceId: d.id, ts: new Date(t0 + i).toISOString(), values: { temperature: value(i) } } };
      }),
    );

  // warm-up in range of no alarm, until both instances have their partitions and have handled some
  let sent = 0;
  await until(
    'both instances consume',
    async () => {
      await publish(sent, 12, () => 20);
      sent += 12;
      const counts = [await stored(one), await stored(two)];
      if (sent % 240 === 0) console.log(`sent ${sent}, stored by each instance ${counts.join(' / ')}`);
      return counts[0]! > 0 && counts[1]! > 0;
    },
    120_000,
  );
  await until('the warm-up is stored', async () => (await stored(one)) + (await stored(two)) === sent, 60_000);
  const before = [await stored(one), await stored(two)];

  await Promise.all(Array.from({ length: 10 }, (_, b) => publish(sent + b * 100, 100, (i) => 41 + (i % 9))));
  await until('all 1,000 are stored', async () => (await stored(one)) + (await stored(two)) === sent + 1000, 60_000);
  const handled = [(await stored(one)) - before[0]!, (await stored(two)) - before[1]!];
  expect(handled[0]! > 0 && handled[1]! > 0).toBe(true); // both took part

  const call = client(one.port);
  const alarms = (await call<{ items: AlarmView[] }>('GET', `/api/v1/alarms?deviceId=${d.id}`, alice)).body.items;
  expect(alarms.map((a) => [a.name, a.status, a.occurrences])).toEqual([['High temperature', 'ACTIVE_UNACK', 1000]]);
  expect(alarms[0]!.lastSeenAt).toBe(new Date(t0 + sent + 999).toISOString());
  // what the instances announced: every outbox row of the device relayed, then what reached Kafka
  await until('the outbox is relayed', async () => (await one.dataSource.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM outbox WHERE key = $1`, [d.id]))[0]!.n === 0);
  const created = await until('alarm.alarm_created reached Kafka', () => announced.filter((a) => a.deviceId === d.id).length > 0 && announced, 30_000);
  await new Promise((r) => setTimeout(r, 3000)); // a second announcement would have been relayed with the first
  expect(created.filter((a) => a.deviceId === d.id).map((a) => a.alarmId)).toEqual([alarms[0]!.id]);
}, 240_000);
