import { randomUUID } from 'node:crypto';
import { catalog, jsonSchemaOf, messageSchema, subjectOf, topics } from '../src';

describe('the event catalog', () => {
  it('gives every topic a JSON schema with the $schema keyword the registry needs', () => {
    for (const topic of topics) {
      const schema = jsonSchemaOf(topic);
      expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
      expect(subjectOf(topic)).toBe(`${topic}-value`);
    }
  });

  it('accepts a well-formed command.value_set envelope and rejects one whose value is not a number', () => {
    const envelope = {
      id: randomUUID(),
      type: 'command.value_set',
      occurredAt: new Date().toISOString(),
      correlationId: randomUUID(),
      causationId: null,
      producer: 'command-service',
      payload: {
        commandId: randomUUID(),
        userId: 'u1',
        deviceId: 'd1',
        sensorId: 's1',
        action: 'set',
        value: 21.5,
        expiresAt: new Date().toISOString(),
      },
    };
    expect(messageSchema('command.value_set').safeParse(envelope).success).toBe(true);
    const bad = { ...envelope, payload: { ...envelope.payload, value: 'hot' } };
    const result = messageSchema('command.value_set').safeParse(bad);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['payload', 'value']);
  });

  it('keys every saga event by device id', () => {
    for (const topic of topics.filter((t) => t !== 'notification.created')) expect(catalog[topic].key).toBe('deviceId');
    expect(catalog['notification.created'].key).toBe('userId');
  });
});
