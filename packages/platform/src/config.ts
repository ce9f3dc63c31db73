import { z } from 'zod';
import { tracingEnv } from './tracing';

/** Connection settings every service shares; defaults match `infra/` (DESIGN.md §2). */
export const baseEnv = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** The address the HTTP server binds: loopback locally, 0.0.0.0 in a container. */
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_BROKERS: z.string().default('127.0.0.1:9092').transform((s) => s.split(',').map((b) => b.trim())),
  KAFKA_CLIENT: z.enum(['kafkajs', 'platformatic']).default('platformatic'),
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
  DATABASE_HOST: z.string().default('127.0.0.1'),
  DATABASE_PORT: z.coerce.number().int().positive().default(5432),
  DATABASE_USER: z.string().default('postgres'),
  DATABASE_PASSWORD: z.string().default(''),
  /** A statement waiting longer than this for a row or table lock fails (and is retried by its caller) instead of hanging. */
  DATABASE_LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Namespaces Kafka topics and consumer groups so a second stack (tests, benchmarks) can share one Kafka. */
  TOPIC_PREFIX: z.string().regex(/^[a-z0-9._-]*$/).default(''),
  GROUP_SUFFIX: z.string().regex(/^[a-z0-9._-]*$/).default(''),
  /**
   * Signs the identity the gateway forwards to the services (HMAC-SHA256, identity.ts); every service verifies with
   * it and signs its own calls to other services. Never logged. Set it in production (`openssl rand -base64 48`).
   */
  IDENTITY_SECRET: z.string().min(32).default('devicesaga-development-identity-secret-change-me'),
  /** The gateway's login tokens (HS256); only the gateway needs them — services trust the signed identity instead. */
  JWT_SECRET: z.string().min(32).default('devicesaga-development-secret-change-me-in-production'),
  JWT_ISSUER: z.string().default('devicesaga'),
  JWT_AUDIENCE: z.string().default('devicesaga-api'),
  ...tracingEnv,
};

export class ConfigError extends Error {}

/**
 * Parses the environment once with one zod schema (base + the service's own keys). A bad value stops start-up with
 * a sentence naming each variable at fault; secrets are never echoed.
 */
export function loadConfig<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env) {
  const schema = z.object({ ...baseEnv, ...shape });
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid environment: ${problems}`);
  }
  return parsed.data;
}

export type BaseConfig = ReturnType<typeof loadConfig<Record<never, never>>>;
