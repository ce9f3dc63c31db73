import { randomUUID } from 'node:crypto';
import { createBus, createKafkaClient, createLogger, testDatabaseName, type BusInstance, type KafkaClient, type RawConsumer } from '@devicesaga/platform';
import { start, type Started } from '../src/main';
import { client, DeviceServiceStub, ensureDatabase, settings, identityFor, until } from './helpers';

/**
 * command-service on the real bus (Kafka + schema registry), on topics of its own (TOPIC_PREFIX) so nothing else
 * sees them: the relay publishes command.value_set, and outcome events published by a peer reach the consumer and wake
 * a long-poll.
 */
const DB = testDatabaseName('ds_test_command_bus');
const prefix = `cs-${randomUUID().slice(0, 8)}.`;
const USER = `user-${randomUUID()}`;
const DEVICE = 'dev-bus';
const SENSOR = 'sen-bus';
const logger = createLogger('command-service-bus-test', 'silent');

let app: Started;
let stub: DeviceServiceStub;
let peer: BusInstance;
let raw: KafkaClient;
let rawConsumer: RawConsumer;
const published: { key: string | null; envelope: { correlationId: string; type: string; payload: Record<string, unknown> } }[] = [];

beforeAll(async () => {
  await ensureDatabase(DB);
  stub = new DeviceServiceStub();
  stub.sensors.set(SENSOR, { deviceId: DEVICE, owner: USER });
  await stub.start();
  app = await start({
    PORT: 0,
    DATABASE_NAME: DB,
    DEVICE_SERVICE_URL: stub.url,
    BUS_ENABLED: true,
    TOPIC_PREFIX: prefix,
    GROUP_SUFFIX: `-test-${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'silent',
  });
  peer = createBus({ serviceName: 'device-service', client: settings.KAFKA_CLIENT, brokers: settings.KAFKA_BROKERS, registryUrl: settings.SCHEMA_REGISTRY_URL, logger, topicPrefix: prefix, metrics: false });
  raw = createKafkaClient(settings.KAFKA_CLIENT, { clientId: 'command-service-test', brokers: settings.KAFKA_BROKERS, logger });
  await raw.ensureTopics([{ name: `${prefix}command.value_set`, partitions: 3 }]);
  rawConsumer = await raw.consumer({ groupId: `cs-test-${randomUUID()}`, topics: [`${prefix}command.value_set`], fromBeginning: true });
  await rawConsumer.run((batch) => {
    for (const m of batch.messages) {
      // schema-registry framing: magic byte + 4-byte schema id, then the JSON envelope
      if (m.value) published.push({ key: m.key, envelope: JSON.parse(m.value.subarray(5).toString('utf8')) as (typeof published)[number]['envelope'] });
    }
    return Promise.resolve();
  });
}, 120_000);

afterAll(async () => {
  await rawConsumer?.stop();
  await raw?.close();
  await peer?.stop();
  await app?.stop();
  await stub?.stop();
});

test('a command goes out on command.value_set, and the outcomes coming back move it to SUCCEEDED, waking a long-poll', async () => {
  const call = client(app.port);
  const token = identityFor(USER);
  const created = await call('POST', '/api/v1/commands', token, { deviceId: DEVICE, sensorId: SENSOR, action: 'set', value: 22 }, { 'Idempotency-Key': randomUUID() });
  expect(created.status).toBe(202);
  const id = created.body.id as string;

  await until(() => published.some((p) => p.envelope.correlationId === id), 30_000);
  const event = published.find((p) => p.envelope.correlationId === id)!;
  expect(event.key).toBe(DEVICE);
  expect(event.envelope).toMatchObject({ type: 'command.value_set', payload: { commandId: id, userId: USER, deviceId: DEVICE, value: 22 } });

  const ids = { commandId: id, userId: USER, deviceId: DEVICE, sensorId: SENSOR };
  const polling = call('GET', `/api/v1/commands/${id}?wait=30&after=1`, token);
  await until(() => app.signals.size > 0);
  await peer.publish([
    {
      topic: 'dm.value_set_approved',
      key: DEVICE,
      correlationId: id,
      payload: { ...ids, parameter: 'temperature', action: 'set', value: 22, previousValue: 20, expiresAt: event.envelope.payload.expiresAt as string },
    },
  ]);
  expect((await polling).body).toMatchObject({ id, version: 2, status: 'APPROVED' });

  await peer.publish([{ topic: 'adapter.value_set_sent', key: DEVICE, correlationId: id, payload: { ...ids, value: 22 } }]);
  const done = await call('GET', `/api/v1/commands/${id}?wait=30&after=2`, token);
  expect(done.body).toMatchObject({ id, version: 3, status: 'SUCCEEDED' });
  expect((done.body.history as { status: string }[]).map((h) => h.status)).toEqual(['PENDING', 'APPROVED', 'SUCCEEDED']);
}, 90_000);
