import type { Server } from 'node:http';
import {
  closeServer,
  busFromConfig,
  createRedis,
  publishAccessChanged,
  requireUser,
  groupId,
  createHttpApp,
  createLogger,
  createMetrics,
  finish,
  isMain,
  listen,
  openDataSource,
  runMain,
  type BusInstance,
} from '@devicesaga/platform';
import { config } from './config';
import { deviceDataSource } from './db/data-source';
import { createHandlers } from './handlers';
import { internalAccessRoutes } from './http/internal-access';
import { apiRoutes } from './http/routes';
import { DynsecClient } from './mqtt/dynsec';
import type { SagaSettings } from './saga/saga';
import { startSweeper } from './saga/sweeper';

export const SERVICE = 'device-service';
const logger = createLogger(SERVICE);

export interface Started {
  port: number;
  stop(): Promise<void>;
}

/** Composition root. `overrides` win over the environment (tests: PORT 0, a test database, BUS_ENABLED...). */
export async function start(overrides: Record<string, string | number | boolean> = {}): Promise<Started> {
  const env = { ...process.env, ...Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, String(v)])) };
  const cfg = config(env);
  const log = cfg.LOG_LEVEL === logger.level ? logger : createLogger(SERVICE, cfg.LOG_LEVEL);
  const metrics = createMetrics(SERVICE);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.reverse()) {
      await s().catch((err: unknown) => log.error({ err }, 'stop step failed'));
    }
  };

  try {
    const dataSource = await openDataSource(deviceDataSource(cfg, cfg.DATABASE_NAME), log);
    stops.push(() => dataSource.destroy());

    const dynsec = new DynsecClient({ url: cfg.MQTT_URL, username: cfg.MQTT_ADMIN_USERNAME, password: cfg.MQTT_ADMIN_PASSWORD, logger: log.child({ component: 'dynsec' }) });
    await dynsec.connect();
    stops.push(() => dynsec.close());

    const settings: SagaSettings = { graceMs: cfg.SAGA_DEADLINE_GRACE_MS, maxQueue: cfg.MAX_QUEUE_PER_SENSOR, now: () => new Date() };

    let bus: BusInstance | undefined;
    if (cfg.BUS_ENABLED) {
      bus = busFromConfig(cfg, {
        serviceName: SERVICE,
        dataSource,
        logger: log,
        // An ended saga is only looked up by a redelivered or late event, which cannot come after the inbox's 7 days.
        retention: [{ table: 'sagas', where: `state <> 'IN_FLIGHT' AND ended_at < now() - interval '7 days'` }],
      });
      const b = bus;
      stops.push(() => b.stop()); // drains consumers, flushes the relay
      await bus.startRelay();
      await bus.consume({ groupId: groupId(cfg, SERVICE), handlers: createHandlers({ settings }) });
      // The sweeper writes to the outbox; it starts after the relay and stops before the bus.
      const sweeper = startSweeper({ transaction: (work) => b.transaction(work), settings, logger: log.child({ component: 'sweeper' }), intervalMs: cfg.SWEEP_INTERVAL_MS });
      stops.push(() => sweeper.stop());
    }

    const app = createHttpApp({
      logger: log,
      metrics,
      readiness: {
        database: () => dataSource.query('SELECT 1'),
        mqttAdmin: () => dynsec.check(),
        ...(bus ? { bus: () => (bus.relay ? Promise.resolve() : Promise.reject(new Error('outbox relay not started'))) } : {}),
      },
    });
    const redis = createRedis(cfg.REDIS_URL, log);
    stops.push(async () => {
      await redis.quit();
    });
    const accessChanged = () => publishAccessChanged(redis, log);
    app.use('/api/v1', apiRoutes({ dataSource, dynsec, identity: cfg, logger: log, accessChanged }));
    app.use('/internal/v1', requireUser(cfg, { services: true }), internalAccessRoutes(dataSource));
    finish(app, log);
    const server: Server = await listen(app, cfg.PORT);
    stops.push(() => closeServer(server));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : cfg.PORT;
    log.info({ port, bus: cfg.BUS_ENABLED, kafkaClient: cfg.KAFKA_CLIENT }, 'device-service listening');

    let stopping: Promise<void> | undefined;
    return {
      port,
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

if (isMain(module)) runMain(logger, start);
