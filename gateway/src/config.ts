import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '@devicesaga/platform';

const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) =>
      s
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    );

/** The gateway's environment: one zod schema (platform `baseEnv` + these keys), parsed once in `start()`. */
export const gatewayEnv = {
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  DATABASE_NAME: z.string().default('ds_gateway'),
  /** Prefix of every Redis key the gateway writes (sessions, rate limits); tests use their own. */
  REDIS_KEY_PREFIX: z.string().default('gw:'),

  DEVICE_SERVICE_URL: z.url().default('http://127.0.0.1:8101'),
  COMMAND_SERVICE_URL: z.url().default('http://127.0.0.1:8102'),
  ALARM_SERVICE_URL: z.url().default('http://127.0.0.1:8103'),
  NOTIFICATION_SERVICE_URL: z.url().default('http://127.0.0.1:8104'),
  PUSH_SERVICE_URL: z.url().default('http://127.0.0.1:8105'),
  /** Upstream response timeout; above the 30 s long-poll `?wait` of command-service. */
  PROXY_TIMEOUT_MS: z.coerce.number().int().positive().default(35_000),
  /** Cap on pooled sockets per downstream service (keep-alive agents). */
  PROXY_MAX_SOCKETS: z.coerce.number().int().positive().default(1024),

  ALLOWED_ORIGINS: list('http://127.0.0.1:8080,http://localhost:8080'),
  /** Lifetime of a login token (and of its Redis session entry). */
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().positive().default(3600),
  /**
   * How long a verified session or API key is trusted from memory before Redis/PostgreSQL is asked again. Logouts,
   * revoked keys and role changes are also pushed to every replica over Redis pub/sub (at once); this bound holds
   * when such a message is lost. At most 1 s, so a revocation takes effect within a second on every replica.
   */
  AUTH_CACHE_MS: z.coerce.number().int().min(0).max(1000).default(1000),
  /** Lifetime of the signed identity forwarded to the services (X-DS-Identity); renewed at half-life. */
  IDENTITY_TTL_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  /** `auto`: Secure when NODE_ENV=production or the request came over TLS (X-Forwarded-Proto from a trusted proxy). */
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),

  /** Authenticated API traffic: a token bucket per user / per API key (rate per second, burst = one second's worth). */
  RATE_LIMIT_USER_PER_SEC: z.coerce.number().int().positive().default(200),
  RATE_LIMIT_APIKEY_PER_SEC: z.coerce.number().int().positive().default(100),
  /** How often each replica syncs its local buckets with the shared ones in Redis (one pipelined round trip). */
  RATE_LIMIT_SYNC_MS: z.coerce.number().int().min(10).max(5000).default(100),
  /**
   * Login + register attempts per client address per minute. 300 (5/s on average): a test lab behind one address
   * re-running a collection many times a minute stays well under it (the legacy collection makes 2 auth requests a
   * run, ours about 12), while one address can burn at most ~5 argon2 hashes a second (~0.2 core). Guessing one
   * account's password is held by the per-account limit below, whatever the number of addresses.
   */
  RATE_LIMIT_AUTH_IP_PER_MIN: z.coerce.number().int().positive().default(300),
  /** Failed logins per account (or unknown login name) per window before it answers 429, from any address. */
  RATE_LIMIT_LOGIN_FAILS_PER_ACCOUNT: z.coerce.number().int().positive().default(10),
  RATE_LIMIT_LOGIN_FAILS_WINDOW_SEC: z.coerce.number().int().positive().default(900),

  /**
   * Minimum password length on the legacy `POST /register` only. The original system (its identity provider's
   * defaults) had no password policy, and its collection must keep working unchanged; the v1 API requires 10.
   */
  LEGACY_PASSWORD_MIN_LENGTH: z.coerce.number().int().min(1).max(64).default(1),

  /** The dashboard's built files, served at `/` when the folder exists. */
  STATIC_DIR: z.string().default(path.resolve(__dirname, '../../dashboard/public')),
};

export type GatewayConfig = ReturnType<typeof loadConfig<typeof gatewayEnv>>;

export const config = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => loadConfig(gatewayEnv, env);
