import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import cookieParser from 'cookie-parser';
import express from 'express';
import {
  closeServer,
  createDataSource,
  DlqAdmin,
  createHttpApp,
  createLogger,
  createMetrics,
  createRedis,
  finish,
  isMain,
  listen,
  openDataSource,
  runMain,
  type Redis,
} from '@devicesaga/platform';
import { ApiKeyStore } from './auth/api-key-store';
import { Authenticator } from './auth/authenticator';
import { Revocations } from './auth/revocations';
import { SessionStore } from './auth/sessions';
import { config } from './config';
import { entities, UserEntity } from './db/entities';
import { migrations } from './db/migrations';
import { accountRoutes } from './http/account-routes';
import { adminRoutes } from './http/admin-routes';
import { Accounts, authRoutes } from './http/auth-routes';
import { legacyRoutes } from './http/legacy-routes';
import { createProxies } from './http/proxy';
import { RateLimits } from './http/rate-limits';
import { requireAuth } from './http/require-auth';
import { createUpgradeHandler } from './ws/upgrade';

const logger = createLogger('gateway');

export type Overrides = Record<string, string | number | boolean | undefined>;

export interface RunningGateway {
  port: number;
  stop(): Promise<void>;
}

/** Composition root: builds the gateway by hand. `overrides` take precedence over the environment (tests). */
export async function start(overrides: Overrides = {}): Promise<RunningGateway> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) env[k] = String(v);
  const cfg = config(env);
  logger.level = cfg.LOG_LEVEL;

  const dataSource = await openDataSource(createDataSource(cfg, { database: cfg.DATABASE_NAME, entities, migrations }), logger);
  const redis = createRedis(cfg.REDIS_URL, logger);
  await redisReady(redis, 3000);
  const metrics = createMetrics('gateway');

  const revocations = new Revocations(redis, cfg.REDIS_KEY_PREFIX, logger);
  revocations.start();
  const sessions = new SessionStore(redis, cfg.REDIS_KEY_PREFIX, revocations);
  const apiKeys = new ApiKeyStore(dataSource, revocations, logger);
  const users = dataSource.getRepository(UserEntity);
  const authenticator = new Authenticator({
    jwt: cfg,
    identity: cfg,
    sessions,
    apiKeys,
    revocations,
    cacheMs: cfg.AUTH_CACHE_MS,
    identityTtlSeconds: cfg.IDENTITY_TTL_SECONDS,
    loadUser: async (id) => {
      const u = await users.findOneBy({ id });
      return u ? { id: u.id, email: u.email, username: u.username, role: u.role } : undefined;
    },
  });
  const limits = new RateLimits(redis, cfg, logger);
  limits.start();
  const proxies = createProxies(cfg, logger);
  const accounts = new Accounts({ cfg, dataSource, sessions, authenticator, limits });

  // No global body parser: proxied requests stream through untouched; the gateway's own routes parse their bodies.
  const app = createHttpApp({
    logger,
    metrics,
    jsonBody: false,
    readiness: { database: () => dataSource.query('SELECT 1'), redis: () => redis.ping() },
  });
  app.use(cookieParser());
  app.use('/api/v1', authRoutes(accounts));
  app.use('/api/v1', requireAuth(authenticator, cfg.ALLOWED_ORIGINS), limits.perCaller());
  app.use('/api/v1', accountRoutes(dataSource, apiKeys));
  app.use('/api/v1/admin', adminRoutes(new DlqAdmin({ brokers: cfg.KAFKA_BROKERS, topicPrefix: cfg.TOPIC_PREFIX, logger })));
  app.use(proxies.api);
  app.use(legacyRoutes({ cfg, accounts, authenticator, limits, call: proxies.call }));
  if (existsSync(cfg.STATIC_DIR)) {
    app.use(express.static(cfg.STATIC_DIR, { index: 'index.html', maxAge: '5m' }));
    logger.info({ dir: cfg.STATIC_DIR }, 'serving dashboard');
  }
  finish(app, logger);

  const server = await listen(app, cfg.PORT, cfg.HOST);
  const wsSockets = new Set<Socket>();
  server.on('upgrade', createUpgradeHandler({ authenticator, proxies, allowedOrigins: cfg.ALLOWED_ORIGINS, logger, sockets: wsSockets }));

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : cfg.PORT;
  logger.info({ port }, 'gateway listening');

  return {
    port,
    async stop() {
      await closeServer(server);
      for (const socket of wsSockets) socket.destroy();
      proxies.close();
      await limits.stop();
      await revocations.stop();
      await redis.quit().catch(() => undefined);
      await dataSource.destroy();
    },
  };
}

/** Waits (bounded) for the first Redis connection, so the first logins are not refused; starts anyway without it. */
function redisReady(redis: Redis, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(() => {
      logger.warn('redis not ready: starting anyway (login fails closed, rate limits fail open until it is)');
      done();
    }, ms);
    redis.once('ready', done);
  });
}

if (isMain(module)) runMain(logger, () => start());
