import { randomUUID } from 'node:crypto';
import { dlqTopic } from '@devicesaga/contracts';
import { createKafkaClient, type KafkaClient, type RawMessage } from '@devicesaga/platform';
import type { SimulatedDevice } from '../device-simulator/src';
import { ApiUser, type Device } from './support/api';
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
