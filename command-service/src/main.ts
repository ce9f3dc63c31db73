import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import {
  closeServer,
  groupId,
  counter,
  createDataSource,
  createHttpApp,
  createLogger,
  createMetrics,
  createRedis,
  finish,
  isMain,
  listen,
  openDataSource,
  runMain,
  type ConsumerHandle,
  type Redis,
} from '@devicesaga/platform';
import { DeviceAccess } from './access/device-access';
import { resolveBus } from './bus';
import { config } from './config';
import { entities, migrations } from './db';
import { createHandlers, StatusTracker } from './handlers';
import { commandRoutes } from './http/commands';
import { CommandPublisher, CommandSignals } from './realtime/command-signals';
import { Sweeper } from './sweeper';

export interface Started {
  port: number;
  stop(): Promise<void>;
  /** For tests: the pieces a test drives directly. */
  dataSource: DataSource;
  tracker: StatusTracker;
  signals: CommandSignals;
  sweeper: Sweeper;
  redis: Redis;
}

const logger = createLogger('command-service');

/** Composition root: builds everything by hand. `overrides` replace environment variables (tests: PORT 0 etc.). */
export async function start(overrides: Record<string, string | number | boolean | undefined> = {}): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) env[k] = String(v);
  const cfg = config(env);
  const log = cfg.LOG_LEVEL === logger.level ? logger : createLogger('command-service', cfg.LOG_LEVEL);

  const metrics = createMetrics('command-service');
  const created = counter(metrics, 'commands_created_total', 'Commands accepted');
  const statusChanges = counter(metrics, 'command_status_changes_total', 'Status changes recorded (implied steps included)', ['status']);
  const stuck = counter(metrics, 'saga_stuck_total', 'Commands flagged STUCK: no outcome long past their deadline');

  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => log.warn({ err }, 'cleanup step failed'));
  };
  try {
    const dataSource = createDataSource(cfg, { database: cfg.DATABASE_NAME, entities, migrations, poolSize: cfg.DATABASE_POOL_SIZE });
    await openDataSource(dataSource, log);
    cleanups.push(() => dataSource.destroy());

    const redis = createRedis(cfg.REDIS_URL, log, 'redis');
    cleanups.push(() => redis.quit());
    const subscriber = createRedis(cfg.REDIS_URL, log, 'redis-subscriber');
    cleanups.push(() => subscriber.quit());
    const publisher = new CommandPublisher(redis, log);
    const signals = new CommandSignals(subscriber, log);

    const { bus, connected } = resolveBus(cfg, dataSource, log, metrics.registry);
    cleanups.push(() => bus.stop());
    const tracker = new StatusTracker({ publish: (userId, view) => publisher.publish(userId, view), statusChanges });
    let consumer: ConsumerHandle | undefined;
    if (connected) {
      consumer = await bus.consume({
        groupId: groupId(cfg, 'command-service'),
        handlers: createHandlers(tracker.track),
      });
      cleanups.push(() => consumer?.stop() ?? Promise.resolve());
      await bus.startRelay();
    }

    const access = new DeviceAccess({
      baseUrl: cfg.DEVICE_SERVICE_URL,
      timeoutMs: cfg.DEVICE_SERVICE_TIMEOUT_MS,
      cacheTtlMs: cfg.ACCESS_CACHE_TTL_MS,
      cacheMax: cfg.ACCESS_CACHE_MAX,
      logger: log,
    });

    const app = createHttpApp({
      logger: log,
      metrics,
      readiness: {
        database: () => dataSource.query('SELECT 1'),
        redis: () => redis.ping(),
        bus: () => {
          if (!cfg.BUS_ENABLED) return Promise.resolve('disabled');
          return consumer ? Promise.resolve('ok') : Promise.reject(new Error('no consumer: the platform bus is not available'));
        },
      },
    });
    app.use(commandRoutes({ identity: cfg, dataSource, bus, access, signals, publisher, logger: log, created }));
    finish(app, log);

    const server = await listen(app, cfg.PORT);
    const sweeper = new Sweeper({
      dataSource,
      logger: log,
      intervalMs: cfg.SWEEP_INTERVAL_MS,
      stuckAfterSeconds: cfg.STUCK_AFTER_SECONDS,
      idempotencyTtlHours: cfg.IDEMPOTENCY_TTL_HOURS,
      stuck,
    });
    sweeper.start();
    const port = (server.address() as AddressInfo).port;
    log.info({ port, bus: connected ? cfg.KAFKA_CLIENT : 'outbox only' }, 'command-service started');

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        signals.close(); // long-polls answer now with what they have
        await closeServer(server);
        await sweeper.stop();
        await cleanup(); // consumer (drains in-flight), bus, redis, database — in reverse order of creation
      })());
    return { port, stop, dataSource, tracker, signals, sweeper, redis };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

if (isMain(module)) runMain(logger, () => start());
