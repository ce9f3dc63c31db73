import type { Server } from 'node:http';
import { z } from 'zod';
import { loadConfig } from './config';
import { closeServer, createHttpApp, finish, listen } from './http';
import type { Logger } from './logger';
import { createMetrics } from './metrics';

/**
 * A service that so far has only its HTTP shell (health, metrics, JSON 404s): it starts on PORT (default
 * `defaultPort`, 0 = any free port) and stops cleanly, so the stack, health checks and charts can count on it before
 * its capability lands.
 */
export async function startHttpShell(
  service: string,
  defaultPort: number,
  logger: Logger,
  overrides: Record<string, string> = {},
): Promise<{ port: number; stop(): Promise<void> }> {
  const config = loadConfig({ PORT: z.coerce.number().int().min(0).default(defaultPort) }, { ...process.env, ...overrides });
  const app = createHttpApp({ logger, metrics: createMetrics(service), readiness: {} });
  finish(app, logger);
  const server: Server = await listen(app, config.PORT);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  logger.info({ port }, `${service} listening`);
  return { port, stop: () => closeServer(server) };
}
