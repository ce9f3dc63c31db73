import { z } from 'zod';
import { envelopeOf } from './envelope';
import * as p from './payloads';

/**
 * The event catalog (DESIGN.md §3): one entry per topic, naming its event type and payload schema. Topic names keep
 * the original system's names. Everything else — TypeScript types, registry subjects, the AsyncAPI document — is
 * derived from this table.
 */
export const catalog = {
  'command.value_set': { payload: p.commandValueSet, producer: 'command-service', key: 'deviceId', summary: 'A user asked to set or add a sensor value.' },
  'dm.value_set_approved': { payload: p.dmValueSetApproved, producer: 'device-service', key: 'deviceId', summary: 'Validated and applied to the stored value (compensatable step).' },
  'dm.value_set_error': { payload: p.dmValueSetError, producer: 'device-service', key: 'deviceId', summary: 'Rejected by validation, or compensated after the device refused.' },
  'adapter.value_set_sent': { payload: p.adapterValueSetSent, producer: 'adapter', key: 'deviceId', summary: 'The device accepted the command (pivot reached).' },
  'adapter.value_set_error': { payload: p.adapterValueSetError, producer: 'adapter', key: 'deviceId', summary: 'The device refused, timed out, or was offline past the TTL.' },
  'adapter.measure_received': { payload: p.adapterMeasureReceived, producer: 'adapter', key: 'deviceId', summary: 'Measurements from a device.' },
  'adapter.device_status': { payload: p.adapterDeviceStatus, producer: 'adapter', key: 'deviceId', summary: 'A device went online or offline.' },
  'alarm.alarm_created': { payload: p.alarmCreated, producer: 'alarm-service', key: 'deviceId', summary: 'An alarm rule fired.' },
  'alarm.alarm_cleared': { payload: p.alarmCleared, producer: 'alarm-service', key: 'deviceId', summary: 'An alarm was cleared.' },
  'notification.created': { payload: p.notificationCreated, producer: 'notification-service', key: 'userId', summary: 'A notification to deliver to one user.' },
} as const;

export type Topic = keyof typeof catalog;
export const topics = Object.keys(catalog) as Topic[];

export type PayloadOf<T extends Topic> = z.infer<(typeof catalog)[T]['payload']>;

export interface EventOf<T extends Topic> {
  id: string;
  type: T;
  occurredAt: string;
  correlationId: string;
  causationId: string | null;
  producer: string;
  payload: PayloadOf<T>;
}

/** The full message schema of a topic (envelope + payload); the event type equals the topic name. */
export function messageSchema<T extends Topic>(topic: T) {
  return envelopeOf(topic, catalog[topic].payload);
}

export function isTopic(name: string): name is Topic {
  return Object.prototype.hasOwnProperty.call(catalog, name);
}

/** Dead-letter topic of a source topic; the failing consumer group travels in the `x-dlq-group` header. */
export function dlqTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** The schema registry subject of a topic's values (TopicNameStrategy). */
export function subjectOf(topic: Topic): string {
  return `${topic}-value`;
}

/**
 * JSON Schema (draft-07, with `$schema`, as the registry requires) of a topic's message. Without `format` keywords:
 * draft-07 validators such as Ajv (what `@kafkajs/confluent-schema-registry` uses) refuse a schema whose formats they
 * do not know (`unknown format "uuid" ignored in schema`), and zod states each format as a `pattern` too, which every
 * validator applies.
 */
export function jsonSchemaOf(topic: Topic): Record<string, unknown> {
  const schema = withoutFormats(z.toJSONSchema(messageSchema(topic), { target: 'draft-7', io: 'input' })) as Record<string, unknown>;
  return { ...schema, $schema: 'http://json-schema.org/draft-07/schema#', title: topic };
}

function withoutFormats(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutFormats);
  if (node === null || typeof node !== 'object') return node;
  const entries = Object.entries(node as Record<string, unknown>);
  const hasPattern = entries.some(([k]) => k === 'pattern');
  return Object.fromEntries(entries.filter(([k, v]) => !(k === 'format' && typeof v === 'string' && hasPattern)).map(([k, v]) => [k, withoutFormats(v)]));
}
