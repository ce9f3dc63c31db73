import type { Server } from 'node:http';
import {
  busMigrations,
  closeServer,
  busFromConfig,
  groupId,
  createDataSource,
  createHttpApp,
  createLogger,
  createMetrics,
  finish,
  isMain,
  listen,
  openDataSource,
  runMain,
} from '@devicesaga/platform';
import { config as loadAdapterConfig } from './config';
import { entities } from './db/entities';
import { adapterMigrations } from './db/migrations';
import { DeviceEdge } from './edge';
import { adapterHandlers } from './handlers';
import { batchObservers, registerEdgeMetrics } from './metrics';

const logger = createLogger('adapter');

export interface RunningAdapter {
  port: number;
  edge: DeviceEdge;
  stop(): Promise<void>;
}

/** Composition root: database (own migrations + the bus's outbox/inbox), bus, MQTT edge, consumer, health/metrics. */
export async function start(overrides: Record<string, string | number> = {}): Promise<RunningAdapter> {
  const env = { ...process.env, ...Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, String(v)])) };
  const config = loadAdapterConfig(env);
  const dataSource = createDataSource(config, {
    database: config.DATABASE_NAME,
    entities,
    migrations: [...busMigrations, ...adapterMigrations],
  });
  await openDataSource(dataSource, logger);
  const metrics = createMetrics('adapter');
  const bus = busFromConfig(config, {
    serviceName: 'adapter',
    dataSource,
    logger,
    metrics,
    // A closed command only answers late replies and redelivered approvals, neither of which outlives the inbox's 7 days.
    retention: [{ table: 'pending_command', where: `state <> 'PENDING' AND closed_at < now() - interval '7 days'` }],
  });
  const edge = new DeviceEdge({ dataSource, bus, logger, config, observe: batchObservers(metrics) });
  await edge.start();
  await bus.startRelay();
  const consumer = await bus.consume({ groupId: groupId(config, 'adapter'), handlers: adapterHandlers(edge) });
  registerEdgeMetrics(metrics, edge);

  const app = createHttpApp({
    logger,
    metrics,
    readiness: {
      database: () => dataSource.query('SELECT 1'),
      mqtt: () => (edge.connected ? Promise.resolve() : Promise.reject(new Error('mqtt disconnected'))),
    },
  });
  finish(app, logger);
  const server: Server = await listen(app, config.PORT);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  logger.info({ port }, 'adapter started');

  return {
    port,
    edge,
    async stop() {
      await closeServer(server);
      await consumer.stop();
      await edge.stop();
      await bus.stop();
      await dataSource.destroy();
    },
  };
}

if (isMain(module)) runMain(logger, start);
