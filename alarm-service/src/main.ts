import type { Server } from 'node:http';
import { closeServer, createHttpApp, createLogger, createMetrics, finish, isMain, listen, loadConfig, runMain } from '@devicesaga/platform';
import { z } from 'zod';

/**
 * alarm-service: not built yet beyond its HTTP shell (health, metrics). Its capability lands with its own issue; until then it
 * starts and stops cleanly so the stack, the charts and the health checks can already count on it.
 */
const logger = createLogger('alarm-service');

export async function start(overrides: Record<string, string> = {}): Promise<{ port: number; stop(): Promise<void> }> {
  const config = loadConfig({ PORT: z.coerce.number().int().min(0).default(8103) }, { ...process.env, ...overrides });
  const metrics = createMetrics('alarm-service');
  const app = createHttpApp({ logger, metrics, readiness: {} });
  finish(app, logger);
  const server: Server = await listen(app, config.PORT);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  logger.info({ port }, 'alarm-service listening');
  return { port, stop: () => closeServer(server) };
}

if (isMain(module)) runMain(logger, start);
