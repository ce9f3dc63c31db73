import { z } from 'zod';
import { loadConfig } from '@devicesaga/platform';

export const configShape = {
  PORT: z.coerce.number().int().min(0).max(65535).default(8101),
  DATABASE_NAME: z.string().min(1).default('ds_device'),
  /** Suffix appended to the Kafka consumer group id (tests use one so they never steal a running stack's messages). */
  /** Off in tests that exercise HTTP only; on in every real deployment. */
  BUS_ENABLED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  MQTT_URL: z.string().min(1).default('mqtt://127.0.0.1:1884'),
  MQTT_ADMIN_USERNAME: z.string().min(1),
  MQTT_ADMIN_PASSWORD: z.string().min(1),
  /** How often the sweeper looks for sagas past their deadline and expired queued commands. */
  SWEEP_INTERVAL_MS: z.coerce.number().int().positive().default(1000),
  /** A saga's deadline = the command's expiresAt + this grace. */
  SAGA_DEADLINE_GRACE_MS: z.coerce.number().int().nonnegative().default(30_000),
  /** Queued commands per sensor beyond which a new command is rejected with SENSOR_BUSY. */
  MAX_QUEUE_PER_SENSOR: z.coerce.number().int().positive().default(1000),
};

export type Config = ReturnType<typeof loadConfig<typeof configShape>>;

export const config = (env: NodeJS.ProcessEnv = process.env): Config => loadConfig(configShape, env);
