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
  /** Lifetime of the token minted for an API-key caller and forwarded downstream. */
  API_KEY_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).default(300),
  /** How long a verified API key is cached in memory (revocation on another replica takes up to this long). */
  API_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).default(10_000),
  /** `auto`: Secure when NODE_ENV=production or the request came over TLS (X-Forwarded-Proto from a trusted proxy). */
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),

  RATE_LIMIT_USER_PER_SEC: z.coerce.number().int().positive().default(200),
  RATE_LIMIT_APIKEY_PER_SEC: z.coerce.number().int().positive().default(100),
  /** login + register attempts per client IP per minute. */
  RATE_LIMIT_AUTH_IP_PER_MIN: z.coerce.number().int().positive().default(10),
  /** failed logins per email per window before that email answers 429. */
  RATE_LIMIT_LOGIN_FAILS_PER_EMAIL: z.coerce.number().int().positive().default(10),
  RATE_LIMIT_LOGIN_FAILS_WINDOW_SEC: z.coerce.number().int().positive().default(900),

  /** The dashboard's built files, served at `/` when the folder exists. */
  STATIC_DIR: z.string().default(path.resolve(__dirname, '../../dashboard/public')),
};

export type GatewayConfig = ReturnType<typeof loadConfig<typeof gatewayEnv>>;

export const config = (env: NodeJS.ProcessEnv = process.env): GatewayConfig => loadConfig(gatewayEnv, env);
