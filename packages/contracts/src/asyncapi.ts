import { z } from 'zod';
import { catalog, jsonSchemaOf, topics, type Topic } from './events/catalog';
import { deviceCommandMessage, deviceReplyMessage, deviceStatusValues, deviceTelemetryMessage, deviceTopics } from './mqtt';

/**
 * The AsyncAPI 3.0 document of devicesaga: every Kafka topic of the catalog with its message schema, derived from
 * the same zod schemas the producers and consumers use, plus the device MQTT protocol (DESIGN.md §5.1).
 */
export function asyncApiDocument(): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};

  for (const topic of topics) {
    const name = channelName(topic);
    const { $schema: _drop, ...schema } = jsonSchemaOf(topic);
    schemas[name] = schema;
    messages[name] = {
      name: topic,
      title: topic,
      summary: catalog[topic].summary,
      contentType: 'application/json',
      payload: { $ref: `#/components/schemas/${name}` },
      bindings: { kafka: { key: { type: 'string', description: catalog[topic].key } } },
    };
    channels[name] = {
      address: topic,
      description: `${catalog[topic].summary} Produced by ${catalog[topic].producer}; key = ${catalog[topic].key}.`,
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
    };
    operations[`publish_${name}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${name}` },
      summary: `${catalog[topic].producer} publishes ${topic}`,
    };
  }

  const mqtt = mqttChannels();
  Object.assign(channels, mqtt.channels);
  Object.assign(operations, mqtt.operations);
  Object.assign(messages, mqtt.messages);

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'devicesaga events',
      version: '0.1.0',
      description: 'Kafka topics of the command saga and telemetry, and the MQTT protocol devices speak.',
    },
    servers: {
      kafka: { host: '127.0.0.1:9092', protocol: 'kafka', description: 'Kafka (KRaft, single node locally)' },
      mqtt: { host: '127.0.0.1:1884', protocol: 'mqtt', description: 'Mosquitto, per-device credentials' },
    },
    channels,
    operations,
    components: { schemas, messages },
  };
}

function channelName(topic: Topic): string {
  return topic.replace(/[^A-Za-z0-9]/g, '_');
}

function mqttChannels() {
  const deviceId = { deviceId: { description: 'the device id (= its MQTT username)' } };
  const defs = {
    deviceCommands: { address: deviceTopics.commands('{deviceId}'), action: 'send', description: 'platform → device, QoS 1, persistent session', payload: schemaOf(deviceCommandMessage) },
    deviceReplies: { address: deviceTopics.replies('{deviceId}'), action: 'receive', description: 'device → platform, QoS 1, one reply per commandId', payload: schemaOf(deviceReplyMessage) },
    deviceTelemetry: { address: deviceTopics.telemetry('{deviceId}'), action: 'receive', description: 'device → platform, QoS 1, one reading or an array of readings', payload: schemaOf(deviceTelemetryMessage) },
    deviceStatus: { address: deviceTopics.status('{deviceId}'), action: 'receive', description: 'retained `online` / `offline`; `offline` is also the last will', payload: { type: 'string', enum: [...deviceStatusValues] } },
  } as const;
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(defs)) {
    messages[name] = { name, contentType: 'application/json', payload: def.payload };
    channels[name] = {
      address: def.address,
      description: def.description,
      parameters: deviceId,
      servers: [{ $ref: '#/servers/mqtt' }],
      messages: { [name]: { $ref: `#/components/messages/${name}` } },
    };
    operations[`${def.action}_${name}`] = { action: def.action, channel: { $ref: `#/channels/${name}` } };
  }
  return { channels, operations, messages };
}

function schemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return rest;
}
