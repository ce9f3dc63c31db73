import { z } from 'zod';
import { loadConfig } from '@devicesaga/platform';

const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'])
    .default(fallback)
    .transform((v) => v === 'true');

/** The environment of alarm-service, parsed once (base keys from @devicesaga/platform). */
export const configShape = {
  PORT: z.coerce.number().int().min(0).max(65535).default(8103),
  DATABASE_NAME: z.string().min(1).default('ds_alarm'),
  DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(10),
  DEVICE_SERVICE_URL: z.url().default('http://127.0.0.1:8101'),
  /** Off in tests that drive the handlers directly; on in every real deployment. */
  BUS_ENABLED: flag('true'),
  /** Telemetry history is kept this many days: older daily partitions are dropped whole. */
  TELEMETRY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Daily partitions are created this many days ahead of today (readings dated later are dropped, counted). */
  TELEMETRY_PARTITIONS_AHEAD_DAYS: z.coerce.number().int().min(1).max(60).default(3),
  /** How often one instance (by advisory lock) creates the partitions ahead and drops the expired ones. */
  TELEMETRY_MAINTENANCE_MS: z.coerce.number().int().positive().default(10 * 60_000),
  /** The history endpoint answers at most this many raw points or buckets. */
  TELEMETRY_MAX_POINTS: z.coerce.number().int().positive().default(10_000),
  /** Alarm types are reloaded this often even without an announcement (a lost Redis message). */
  ALARM_TYPES_TTL_MS: z.coerce.number().int().positive().default(5_000),
  /** Device registry answers (group, sensors) are kept this long; every registry change is announced anyway. */
  REGISTRY_TTL_MS: z.coerce.number().int().positive().default(30_000),
};

export const config = (env: NodeJS.ProcessEnv = process.env) => loadConfig(configShape, env);
export type Config = ReturnType<typeof config>;
