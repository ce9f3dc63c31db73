/**
 * The upstream of the gateway proxy benchmark: a service like any other (the platform's HTTP app and `requireUser`),
 * answering GET with the caller and POST with the size of the body it parsed. Whatever `requireUser` costs in the
 * checkout being measured (a JWT verification before issue 8, one HMAC after) is part of the figure.
 */
import { createHttpApp, createLogger, createMetrics, currentUser, finish, listen, loadConfig, requireUser } from '@devicesaga/platform';
import { z } from 'zod';

const logger = createLogger('proxy-upstream', 'warn');

async function main(): Promise<void> {
  const cfg = loadConfig({ PORT: z.coerce.number().int().min(0).default(0) });
  const app = createHttpApp({ logger, metrics: createMetrics('proxy-upstream'), readiness: {} });
  app.use('/api/v1', requireUser(cfg));
  app.get('/api/v1/devices', (_req, res) => {
    res.json({ items: [], user: currentUser(res).id, nextCursor: null });
  });
  app.post('/api/v1/devices', (req, res) => {
    res.status(201).json({ user: currentUser(res).id, received: JSON.stringify(req.body).length });
  });
  finish(app, logger);
  const server = await listen(app, cfg.PORT);
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : cfg.PORT}\n`);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

void main();
