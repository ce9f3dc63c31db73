import { z } from 'zod';
import { loadConfig } from '@devicesaga/platform';

/** The environment of command-service, parsed once (base keys from @devicesaga/platform). */
export const config = (env: NodeJS.ProcessEnv = process.env) =>
  loadConfig(
    {
      PORT: z.coerce.number().int().min(0).max(65535).default(8102),
      DATABASE_NAME: z.string().default('ds_command'),
      DATABASE_POOL_SIZE: z.coerce.number().int().positive().default(10),
      /** Appended to the consumer group id (`command-service<suffix>`), so tests never steal a running stack's messages. */
      DEVICE_SERVICE_URL: z.url().default('http://127.0.0.1:8101'),
      DEVICE_SERVICE_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
      /** Positive access answers are cached this long per (user, sensor); 0 disables the cache. */
      ACCESS_CACHE_TTL_MS: z.coerce.number().int().min(0).default(5000),
      ACCESS_CACHE_MAX: z.coerce.number().int().positive().default(10_000),
      SWEEP_INTERVAL_MS: z.coerce.number().int().positive().default(5000),
      /** A PENDING/APPROVED command this long past expires_at is flagged STUCK. */
      STUCK_AFTER_SECONDS: z.coerce.number().int().min(0).default(60),
      /** Idempotency keys are forgotten after this long. */
      IDEMPOTENCY_TTL_HOURS: z.coerce.number().positive().default(24),
      /** Set to false to run without the Kafka consumer and outbox relay (tests that drive handlers directly). */
      /** Prefix of every Kafka topic name (namespacing for tests and benchmarks); default none. */
      BUS_ENABLED: z
        .enum(['true', 'false'])
        .default('true')
        .transform((v) => v === 'true'),
    },
    env,
  );

export type Config = ReturnType<typeof config>;
