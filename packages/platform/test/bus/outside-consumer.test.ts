import { randomUUID } from 'node:crypto';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { topics, type PayloadOf, type Topic } from '@devicesaga/contracts';
import type { OutgoingEvent } from '../../src/bus';
import { collect, registryUrl, testBus, uid, waitFor } from './helpers';

jest.setTimeout(60_000);

const device = randomUUID();
const command = randomUUID();
const at = new Date().toISOString();
const base = { commandId: command, userId: 'user-1', deviceId: device, sensorId: randomUUID() };
const alarm = { alarmId: randomUUID(), alarmTypeId: randomUUID(), name: 'High temperature', severity: 'MAJOR' as const, deviceId: device, sensorId: base.sensorId, parameter: 'temperature' };

/** One message of every topic of the catalog (a topic missing here fails to compile). */
const examples: { [T in Topic]: PayloadOf<T> } = {
  'command.value_set': { ...base, action: 'set', value: 21.5, expiresAt: at },
  'dm.value_set_approved': { ...base, parameter: 'temperature', action: 'add', value: 23, previousValue: null, expiresAt: at },
  'dm.value_set_error': { ...base, stage: 'COMPENSATED', reason: 'REFUSED', message: 'device refused', restoredValue: 20 },
  'adapter.value_set_sent': { ...base, value: 23, deviceValue: 23 },
  'adapter.value_set_error': { ...base, reason: 'TIMEOUT', message: 'no reply' },
  'adapter.measure_received': { deviceId: device, ts: at, values: { temperature: 21.25 } },
  'adapter.device_status': { deviceId: device, online: true, at },
  'alarm.alarm_created': { ...alarm, value: 45, raisedAt: at },
  'alarm.alarm_cleared': { ...alarm, value: 38, occurrences: 3, clearedAt: at, clearedBy: null },
  'notification.created': {
    notificationId: randomUUID(),
    userId: 'user-1',
    seq: 7,
    eventType: 'adapter.value_set_sent',
    title: 'Command succeeded',
    description: 'temperature set to 23',
    payload: { deviceId: device, value: 23 },
    createdAt: at,
  },
};

describe('an outside consumer using @kafkajs/confluent-schema-registry with its default options', () => {
  it('decodes every topic of the catalog as the bus publishes it', async () => {
    const bus = testBus('platformatic', undefined, `t${uid()}.`);
    const kafkaTopics = topics.map((t) => bus.publishTopic(t));
    const sink = await collect('platformatic', kafkaTopics);
    try {
      const events = topics.map((topic): OutgoingEvent => ({ topic, key: device, payload: examples[topic], correlationId: command }));
      await bus.publish(events);
      await waitFor('a message on every topic', () => (new Set(sink.messages.map((m) => m.topic)).size === topics.length ? true : null));
      const registry = new SchemaRegistry({ host: registryUrl });
      for (const topic of topics) {
        const raw = sink.messages.find((m) => m.topic === bus.publishTopic(topic))!;
        const decoded = (await registry.decode(raw.value!)) as { type: string; payload: unknown; correlationId: string };
        expect(decoded).toMatchObject({ type: topic, correlationId: command, payload: examples[topic] });
      }
    } finally {
      await sink.stop();
      await bus.stop();
    }
  });
});
