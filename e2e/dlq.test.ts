import { randomUUID } from 'node:crypto';
import { dlqTopic } from '@devicesaga/contracts';
import { createKafkaClient, type KafkaClient, type RawMessage } from '@devicesaga/platform';
import type { SimulatedDevice } from '../device-simulator/src';
import { Client } from 'pg';
import { ApiUser, type Command, type Device } from './support/api';
import { connectDevice } from './support/devices';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
/** The stack under test may be a namespaced instance (scripts/stack/instance.ts). */
const commandTopic = `${process.env.TOPIC_PREFIX ?? ''}command.value_set`;

describe('a malformed message on a saga topic', () => {
  let kafka: KafkaClient;
  let alice: ApiUser;
  let device: Device;
  let firmware: SimulatedDevice;

  beforeAll(async () => {
    kafka = createKafkaClient('kafkajs', { clientId: `e2e-dlq-${randomUUID().slice(0, 8)}`, brokers });
    alice = await ApiUser.register('dlq');
    device = await alice.createDevice('dlq device');
    firmware = await connectDevice(device);
  });

  afterAll(async () => {
    await firmware?.stop();
    await kafka?.close();
  });

  it("lands in the consumer's DLQ with the error in its headers, while commands on the same device keep flowing", async () => {
    const marker = randomUUID();
    const producer = await kafka.producer();
    // same key as the device, so the garbage sits on the very partition the device's commands use
    await producer.send([{ topic: commandTopic, key: device.id, value: Buffer.from(`not an event ${marker}`), headers: { 'x-e2e-marker': marker } }]);
    await producer.close();

    const sensor = alice.sensor(device, 'temperature');
    const posted = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value: 33 });
    expect((await alice.waitTerminal(posted.body.id)).status).toBe('SUCCEEDED');

    const dead = await findInTopic(kafka, dlqTopic(commandTopic), (m) => m.headers['x-e2e-marker'] === marker, 30_000);
    expect(dead.value?.toString()).toBe(`not an event ${marker}`);
    expect(dead.headers['x-dlq-group']).toMatch(/^device-service/);
    expect(dead.headers['x-dlq-error']).toBeTruthy();
    expect(dead.headers['x-dlq-original-topic']).toBe(commandTopic);
  });
});

describe('DLQ tooling (operators)', () => {
  let alice: ApiUser;
  let operator: ApiUser;
  let device: Device;
  let firmware: SimulatedDevice;

  beforeAll(async () => {
    alice = await ApiUser.register('redrive');
    operator = await ApiUser.operator();
    device = await alice.createDevice('redrive device');
    firmware = await connectDevice(device);
  });

  afterAll(async () => {
    await firmware?.stop();
  });

  it('only operators may see the DLQs', async () => {
    expect((await alice.call('GET', '/api/v1/admin/dlq')).status).toBe(403);
    expect((await operator.call('GET', '/api/v1/admin/dlq')).status).toBe(200);
  });

  it("a command dead-lettered while its sensor's row was locked is redriven by an operator once the lock is gone, and its saga then completes", async () => {
    const sensor = alice.sensor(device, 'temperature');
    // The cause: something holds the sensor's row (a stuck transaction, a migration gone wrong). device-service's
    // statements time out on it (DATABASE_LOCK_TIMEOUT_MS), are retried, and the command ends in its DLQ.
    const db = new Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: deviceDatabase });
    await db.connect();
    let locked = true;
    try {
      await db.query('BEGIN');
      await db.query('SELECT 1 FROM sensors WHERE id = $1 FOR UPDATE', [sensor.id]);
      const posted = await alice.sendCommand({ deviceId: device.id, sensorId: sensor.id, action: 'set', value: 36.5 });
      expect(posted.status).toBe(202);
      const dead = await poll('the command in a DLQ', 60_000, async () => {
        const listed = await operator.call<{ items: DlqItem[] }>('GET', '/api/v1/admin/dlq');
        return listed.body.items.find((m) => m.correlationId === posted.body.id && m.type === 'command.value_set') ?? null;
      });
      expect(dead.group).toMatch(/^device-service/);
      expect(dead.error).toMatch(/lock/i);
      expect((await alice.call<Command>('GET', `/api/v1/commands/${posted.body.id}`)).body.status).toBe('PENDING');

      await db.query('ROLLBACK'); // the cause is fixed
      locked = false;
      const redriven = await operator.call<{ redriven: number }>('POST', '/api/v1/admin/dlq/redrive', {
        body: { dlqTopic: dead.dlqTopic, partition: dead.partition, offset: dead.offset },
      });
      expect(redriven.body).toEqual({ redriven: 1 });
      expect((await alice.waitTerminal(posted.body.id)).status).toBe('SUCCEEDED');
      expect(await alice.sensorValue(sensor.id)).toBe(36.5);
    } finally {
      if (locked) await db.query('ROLLBACK').catch(() => undefined);
      await db.end();
    }
  });
});

interface DlqItem {
  dlqTopic: string;
  partition: number;
  offset: string;
  group: string;
  error: string;
  type: string | null;
  correlationId: string | null;
}

/** device-service's database of the stack under test (scripts/stack/instance.ts names an instance's databases). */
const deviceDatabase = process.env.E2E_INSTANCE ? `ds_device_${process.env.E2E_INSTANCE}` : 'ds_device';

async function poll<T>(what: string, timeoutMs: number, fn: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await fn();
    if (found !== null) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Reads a topic from the beginning with a throwaway group until a message matches. */
async function findInTopic(kafka: KafkaClient, topic: string, match: (m: RawMessage) => boolean, timeoutMs: number): Promise<RawMessage> {
  const consumer = await kafka.consumer({ groupId: `e2e-reader-${randomUUID()}`, topics: [topic], fromBeginning: true });
  try {
    return await new Promise<RawMessage>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message on ${topic} within ${timeoutMs} ms`)), timeoutMs);
      consumer
        .run((batch) => {
          const found = batch.messages.find(match);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          }
          return Promise.resolve();
        })
        .catch(reject);
    });
  } finally {
    await consumer.stop();
  }
}
