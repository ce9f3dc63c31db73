import { z } from 'zod';
import { topicRootPattern } from '@devicesaga/contracts';
import { loadConfig } from '@devicesaga/platform';

export const adapterEnv = {
  PORT: z.coerce.number().int().nonnegative().default(8106),
  DATABASE_NAME: z.string().default('ds_adapter'),
  MQTT_URL: z.string().default('mqtt://127.0.0.1:1884'),
  MQTT_ADAPTER_USERNAME: z.string().min(1).default('svc-adapter'),
  MQTT_ADAPTER_PASSWORD: z.string().min(1),
  /** Fixed per replica (persistent session: QoS 1 messages wait in the broker while the adapter is down). */
  MQTT_CLIENT_ID: z.string().min(1).max(60).default('devicesaga-adapter'),
  /** Shared-subscription group: N replicas split replies and telemetry. */
  MQTT_SHARE_GROUP: z.string().regex(/^[A-Za-z0-9_-]+$/).default('adapter'),
  MQTT_SESSION_EXPIRY_S: z.coerce.number().int().nonnegative().default(7 * 24 * 3600),
  /**
   * Messages the broker may send this adapter before it PUBACKs them (MQTT 5 Receive Maximum, per connection): the
   * upper bound of a reply or telemetry batch, since a message is acknowledged only once it is durable.
   */
  MQTT_RECEIVE_MAXIMUM: z.coerce.number().int().min(1).max(65535).default(4000),
  /** Device topics: `devices/<id>/<kind>`; a benchmark's own `<name>/devices` keeps its traffic from other stacks. */
  MQTT_TOPIC_ROOT: z.string().regex(topicRootPattern).default('devices'),
  /** Named in every command it publishes (MQTT 5 user property), so a simulator farm answers only its own stack. */
  MQTT_COMMAND_ORIGIN: z.string().min(1).max(64).default('devicesaga'),
  REPLY_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  /** Device replies (and status changes) are collected this long before one transaction records them. */
  REPLY_BATCH_MS: z.coerce.number().int().nonnegative().default(1),
  REPLY_BATCH_MAX: z.coerce.number().int().positive().default(1000),
  TELEMETRY_BATCH_MS: z.coerce.number().int().nonnegative().default(2),
  TELEMETRY_BATCH_MAX: z.coerce.number().int().positive().default(2000),
};

export const config = (env: NodeJS.ProcessEnv = process.env) => loadConfig(adapterEnv, env);
export type AdapterConfig = ReturnType<typeof config>;

/** What the device edge (MQTT side) needs of the configuration. */
export type EdgeConfig = Pick<
  AdapterConfig,
  | 'MQTT_URL'
  | 'MQTT_ADAPTER_USERNAME'
  | 'MQTT_ADAPTER_PASSWORD'
  | 'MQTT_CLIENT_ID'
  | 'MQTT_SHARE_GROUP'
  | 'MQTT_SESSION_EXPIRY_S'
  | 'MQTT_RECEIVE_MAXIMUM'
  | 'MQTT_COMMAND_ORIGIN'
  | 'MQTT_TOPIC_ROOT'
  | 'REPLY_TIMEOUT_MS'
  | 'REPLY_BATCH_MS'
  | 'REPLY_BATCH_MAX'
  | 'TELEMETRY_BATCH_MS'
  | 'TELEMETRY_BATCH_MAX'
>;
