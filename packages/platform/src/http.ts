import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { AppError } from './errors';
import { logContext, type Logger } from './logger';
import { startSpan } from './tracing';
import type { Metrics } from './metrics';

export type ReadinessChecks = Record<string, () => Promise<unknown>>;

export interface HttpAppOptions {
  logger: Logger;
  metrics: Metrics;
  /** Each check must resolve for `/health/ready` to answer 200; named in the answer either way. */
  readiness: ReadinessChecks;
  /** Body size cap, default 100kb. */
  bodyLimit?: string;
  /** Parse JSON bodies for every route (default true); the gateway parses only on its own routes and proxies raw bytes. */
  jsonBody?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * An express app with a request id on every request and response, JSON bodies, `/health/live`, `/health/ready`,
 * `/metrics`. Mount routes, then call `finish(app)` to add the 404 and the one error handler.
 */
export function createHttpApp({ logger, metrics, readiness, bodyLimit = '100kb', jsonBody = true }: HttpAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  app.use(((req, res, next) => {
    const incoming = req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    const traced = !req.path.startsWith('/health') && req.path !== '/metrics';
    const span = traced ? startSpan(`HTTP ${req.method}`, req.header('traceparent'), 'server') : undefined;
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? (res.statusCode === 404 ? 'unmatched' : req.baseUrl || 'unmatched');
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (span) {
        span.setAttribute('http.route', `${req.baseUrl}${String(route)}`);
        span.setAttribute('http.response.status_code', res.statusCode);
        span.end(res.statusCode >= 500 ? new Error(`HTTP ${res.statusCode}`) : undefined);
      }
      metrics.httpDuration.observe({ method: req.method, route: String(route), status: String(res.statusCode) }, seconds);
      if (!req.path.startsWith('/health') && req.path !== '/metrics') {
        logger.debug({ requestId, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
      }
    });
    logContext.run(span ? { requestId, traceparent: span.traceparent } : { requestId }, next);
  }) as RequestHandler);

  if (jsonBody) app.use(express.json({ limit: bodyLimit }));

  app.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/ready', (_req, res, next) => {
    checkReadiness(readiness)
      .then(({ ok, checks }) => {
        res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks });
      })
      .catch(next);
  });
  app.get('/metrics', (_req, res, next) => {
    metrics.registry
      .metrics()
      .then((text) => {
        res.type(metrics.registry.contentType).send(text);
      })
      .catch(next);
  });
  return app;
}

async function checkReadiness(readiness: ReadinessChecks) {
  const entries = await Promise.all(
    Object.entries(readiness).map(async ([name, check]) => {
      try {
        await withTimeout(check(), 2000);
        return [name, 'ok'] as const;
      } catch (err) {
        return [name, err instanceof Error ? err.message : 'failed'] as const;
      }
    }),
  );
  return { ok: entries.every(([, v]) => v === 'ok'), checks: Object.fromEntries(entries) };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Adds the JSON 404 and the one error middleware; a 500 answers only an error id (the details go to the log). */
export function finish(app: Express, logger: Logger): void {
  app.use((req, _res, next) => {
    next(new AppError(404, 'NOT_FOUND', `no route for ${req.method} ${req.path}`));
  });
  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    const requestId = String(res.locals.requestId ?? '');
    if (err instanceof AppError) {
      for (const [k, v] of Object.entries(err.headers ?? {})) res.setHeader(k, v);
      res.status(err.status).json({ error: { code: err.code, message: err.message, details: err.details, requestId } });
      return;
    }
    const bodyError = err as { type?: string; status?: number; message?: string };
    if (bodyError.type === 'entity.parse.failed' || bodyError.type === 'entity.too.large') {
      const status = bodyError.status ?? 400;
      res.status(status).json({ error: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'MALFORMED_JSON', message: bodyError.message ?? 'bad body', requestId } });
      return;
    }
    const errorId = randomUUID();
    logger.error({ err, errorId, requestId }, 'unhandled error');
    res.status(500).json({ error: { code: 'INTERNAL', message: `internal error ${errorId}`, requestId, errorId } });
  };
  app.use(onError);
}

/** Wraps an async route so a rejection reaches the error middleware. */
export function route(fn: (req: express.Request, res: express.Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}

export function listen(app: Express, port: number, host = '127.0.0.1'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
    server.keepAliveTimeout = 65_000;
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 5000).unref();
  });
}
