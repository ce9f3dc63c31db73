import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LogContext {
  requestId?: string;
  correlationId?: string;
  userId?: string;
  /** The current span (W3C traceparent): what an event emitted while handling this request continues. */
  traceparent?: string;
}

/** Carries the request/correlation id through async work so every log line has it. */
export const logContext = new AsyncLocalStorage<LogContext>();

/** Paths never written to logs. */
export const redactPaths = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["x-ds-identity"]',
  'headers["x-ds-identity"]',
  'IDENTITY_SECRET',
  '*.IDENTITY_SECRET',
  'JWT_SECRET',
  '*.JWT_SECRET',
  'res.headers["set-cookie"]',
  'mqtt.password',
];

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: { paths: redactPaths, censor: '[redacted]' },
    mixin: () => ({ ...logContext.getStore() }),
  });
}
