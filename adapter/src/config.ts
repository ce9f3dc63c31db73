import { z } from 'zod';
import { loadConfig } from '@devicesaga/platform';

export const adapterEnv = {
  PORT: z.coerce.number().int().nonnegative().default(8106),
  DATABASE_NAME: z.string().default('ds_adapter'),
  MQTT_URL: z.string().default('mqtt://127.0.0.1:1884'),
  MQTT_ADAPTER_USERNAME: z.string().min(1).default('svc-adapter'),
  MQTT_ADAPTER_PASSWORD: z.string().min(1),
  /** Fixed per replica (persistent session: QoS 1 messages wait in the broker while the adapter is down). */
  MQTT_CLIENT_ID: z.string().min(1).max(64).default('devicesaga-adapter'),
  /** Shared-subscription group: N replicas split replies and telemetry. */
  MQTT_SHARE_GROUP: z.string().regex(/^[A-Za-z0-9_-]+$/).default('adapter'),
  MQTT_SESSION_EXPIRY_S: z.coerce.number().int().positive().default(7 * 24 * 3600),
  REPLY_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
  TIMER_INTERVAL_MS: z.coerce.number().int().positive().default(250),
  /** The approve handler waits this long for the broker's PUBACK; mqtt.js keeps the message queued after that. */
  PUBLISH_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
  TELEMETRY_BATCH_MS: z.coerce.number().int().nonnegative().default(5),
  TELEMETRY_BATCH_MAX: z.coerce.number().int().positive().default(500),
};

export const config = (env: NodeJS.ProcessEnv = process.env) => loadConfig(adapterEnv, env);
export type AdapterConfig = ReturnType<typeof config>;
