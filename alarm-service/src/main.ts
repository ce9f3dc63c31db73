import type { AddressInfo } from 'node:net';
import type { DataSource } from 'typeorm';
import {
  AccessClient,
  busFromConfig,
  closeServer,
  counter,
  createDataSource,
  createHttpApp,
  createLogger,
  createMetrics,
  createRedis,
  finish,
  groupId,
  isMain,
  listen,
  openDataSource,
  requireUser,
  runMain,
  runTransaction,
  identityHeaders,
  serviceUser,
  type Bus,
  type BusInstance,
  type ConsumerHandle,
} from '@devicesaga/platform';
import type { Counter } from 'prom-client';
import { ALARM_TYPES_CHANGED, AlarmRules } from './alarms/alarm-types';
import { config } from './config';
import { entities, migrations } from './db';
import { createHandlers } from './handlers';
import { alarmTypeRoutes } from './http/alarm-types';
import { alarmRoutes } from './http/alarms';
import { telemetryRoutes } from './http/telemetry';
import type { IngestDeps } from './telemetry/ingest';
import { TelemetryPartitions } from './telemetry/partitions';

export const SERVICE = 'alarm-service';
const logger = createLogger(SERVICE);

export interface Started {
  port: number;
  stop(): Promise<void>;
  /** For tests: the pieces a test drives directly. */
  dataSource: DataSource;
  bus: BusInstance | undefined;
  access: AccessClient;
  rules: AlarmRules;
  partitions: TelemetryPartitions;
  ingest: IngestDeps;
}

/** Composition root: builds everything by hand. `overrides` replace environment variables (tests: PORT 0 etc.). */
export async function start(overrides: Record<string, string | number | boolean | undefined> = {}): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) env[k] = String(v);
  const cfg = config(env);
  const log = cfg.LOG_LEVEL === logger.level ? logger : createLogger(SERVICE, cfg.LOG_LEVEL);

  const metrics = createMetrics(SERVICE);
  const ingestMetrics = {
    stored: counter(metrics, 'telemetry_readings_stored_total', 'Readings stored in the history'),
    duplicates: counter(metrics, 'telemetry_readings_duplicate_total', 'Readings already stored (a device sent them twice)'),
    dropped: counter(metrics, 'telemetry_readings_dropped_total', 'Readings dropped: unknown device or sensor, or no partition for their time', ['reason']) as Counter<'reason'>,
    raised: counter(metrics, 'alarms_raised_total', 'Alarms raised', ['severity']) as Counter<'severity'>,
    cleared: counter(metrics, 'alarms_cleared_total', 'Alarms cleared because the value left the range', ['severity']) as Counter<'severity'>,
  };

  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => log.warn({ err }, 'cleanup step failed'));
  };
  try {
    const dataSource = createDataSource(cfg, { database: cfg.DATABASE_NAME, entities, migrations, poolSize: cfg.DATABASE_POOL_SIZE });
    await openDataSource(dataSource, log);
    cleanups.push(() => dataSource.destroy());

    const partitions = new TelemetryPartitions(dataSource, { retentionDays: cfg.TELEMETRY_RETENTION_DAYS, aheadDays: cfg.TELEMETRY_PARTITIONS_AHEAD_DAYS }, log.child({ component: 'partitions' }));
    await partitions.maintain();
    partitions.start(cfg.TELEMETRY_MAINTENANCE_MS);
    cleanups.push(() => partitions.stop());

    const redis = createRedis(cfg.REDIS_URL, log, 'redis');
    cleanups.push(() => redis.quit());
    const subscriber = createRedis(cfg.REDIS_URL, log, 'redis-subscriber');
    cleanups.push(() => subscriber.quit());

    // The registry and access answers of device-service's internal routes, as this service (a `service:` identity).
    let identity: { headers: Record<string, string>; until: number } | undefined;
    const authHeaders = () => {
      if (!identity || identity.until < Date.now()) identity = { headers: identityHeaders(cfg, serviceUser(SERVICE), 300), until: Date.now() + 240_000 };
      return identity.headers;
    };
    const access = new AccessClient({ baseUrl: cfg.DEVICE_SERVICE_URL, authHeaders, subscriber, logger: log, registryTtlMs: cfg.REGISTRY_TTL_MS });
    await access.start();
    const rules = new AlarmRules(dataSource, cfg.ALARM_TYPES_TTL_MS, log);
    await rules.listen(subscriber);
    const alarmTypesChanged = () => {
      rules.invalidate();
      redis.publish(ALARM_TYPES_CHANGED, '1').catch((err: unknown) => log.warn({ err }, 'alarm type change not announced: other instances reload within their TTL'));
    };

    const ingest: IngestDeps = {
      devices: (ids) => access.devicesById(ids),
      rules: (via) => rules.forParameters(via),
      accepts: (ts) => partitions.accepts(ts),
      metrics: ingestMetrics,
    };

    let bus: BusInstance | undefined;
    let consumer: ConsumerHandle | undefined;
    let txBus: Pick<Bus, 'transaction'>;
    if (cfg.BUS_ENABLED) {
      const b = busFromConfig(cfg, { serviceName: SERVICE, dataSource, logger: log, metrics });
      bus = b;
      cleanups.push(() => b.stop()); // drains the consumer, flushes the relay
      await b.startRelay();
      consumer = await b.consume({ groupId: groupId(cfg, SERVICE), handlers: createHandlers(ingest) });
      txBus = b;
    } else {
      // outbox only: what is emitted waits in the outbox for a relay (tests that drive the handlers directly)
      txBus = { transaction: async (work) => (await runTransaction({ dataSource, serviceName: SERVICE, logger: log }, work)).value };
    }

    const app = createHttpApp({
      logger: log,
      metrics,
      readiness: {
        database: () => dataSource.query('SELECT 1'),
        redis: () => redis.ping(),
        ...(cfg.BUS_ENABLED ? { bus: () => (consumer && bus?.relay ? Promise.resolve() : Promise.reject(new Error('consumer or relay not started'))) } : {}),
      },
    });
    app.use('/api/v1', requireUser(cfg));
    app.use('/api/v1', alarmTypeRoutes({ dataSource, bus: txBus, changed: alarmTypesChanged }));
    app.use('/api/v1', alarmRoutes({ dataSource, bus: txBus, access }));
    app.use('/api/v1', telemetryRoutes({ dataSource, access, maxPoints: cfg.TELEMETRY_MAX_POINTS }));
    finish(app, log);

    const server = await listen(app, cfg.PORT);
    cleanups.push(() => closeServer(server));
    const port = (server.address() as AddressInfo).port;
    log.info({ port, bus: cfg.BUS_ENABLED ? cfg.KAFKA_CLIENT : 'outbox only', partitions: partitions.window }, 'alarm-service started');

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= cleanup());
    return { port, stop, dataSource, bus, access, rules, partitions, ingest };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

if (isMain(module)) runMain(logger, () => start());
