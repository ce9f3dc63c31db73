import type { Server } from 'node:http';
import { Gauge } from 'prom-client';
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
import { DeviceBridge } from './bridge';
import { adapterHandlers } from './handlers';

const logger = createLogger('adapter');

export interface RunningAdapter {
  port: number;
  bridge: DeviceBridge;
  stop(): Promise<void>;
}

/** Composition root: database (own migrations + the bus's outbox/inbox), bus, MQTT bridge, consumer, health/metrics. */
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
  const bridge = new DeviceBridge({ dataSource, bus, logger, config });
  await bridge.start();
  await bus.startRelay();
  const consumer = await bus.consume({ groupId: groupId(config, 'adapter'), handlers: adapterHandlers(bridge) });

  for (const [name, help, read] of [
    ['adapter_commands_published_total', 'Commands published to devices', () => bridge.stats.published],
    ['adapter_commands_republished_total', 'Pending commands republished to a device that came online', () => bridge.stats.republished],
    ['adapter_commands_closed_total', 'Commands closed with an outcome by this replica', () => bridge.stats.closed],
    ['adapter_mqtt_invalid_messages_total', 'Replies, telemetry or status that failed their schema', () => bridge.stats.badMessages],
    ['adapter_measurements_total', 'Measurements received', () => bridge.stats.measurements],
    ['adapter_measurements_dropped_total', 'Measurements dropped after failed Kafka publishes', () => bridge.telemetry.dropped],
  ] as const) {
    new Gauge({ name, help, registers: [metrics.registry], collect() { this.set(read()); } });
  }

  const app = createHttpApp({
    logger,
    metrics,
    readiness: {
      database: () => dataSource.query('SELECT 1'),
      mqtt: () => (bridge.connected ? Promise.resolve() : Promise.reject(new Error('mqtt disconnected'))),
    },
  });
  finish(app, logger);
  const server: Server = await listen(app, config.PORT);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  logger.info({ port }, 'adapter started');

  return {
    port,
    bridge,
    async stop() {
      await closeServer(server);
      await consumer.stop();
      await bridge.stop();
      await bus.stop();
      await dataSource.destroy();
    },
  };
}

if (isMain(module)) runMain(logger, start);
