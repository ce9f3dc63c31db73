import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware, type Plugin, type RequestHandler as ProxyHandler } from 'http-proxy-middleware';
import { AppError, IDENTITY_HEADER, type Logger } from '@devicesaga/platform';
import type { GatewayConfig } from '../config';
import { principalOf, type Principal } from '../auth/authenticator';

export type ServiceName = 'device' | 'command' | 'alarm' | 'notification' | 'push';

/** `/api/v1/devices/{id}/telemetry[?…]` → alarm-service. */
const TELEMETRY = /^\/api\/v1\/devices\/[^/?]+\/telemetry\/?(\?|$)/;

/** First path segment under /api/v1 → the service that owns it (DESIGN.md §5). */
export const ROUTES: ReadonlyMap<string, Exclude<ServiceName, 'push'>> = new Map([
  ['devices', 'device'],
  ['sensors', 'device'],
  ['parameters', 'device'],
  ['device-groups', 'device'],
  ['user-groups', 'device'],
  ['commands', 'command'],
  ['alarms', 'alarm'],
  ['alarm-types', 'alarm'],
  ['alarm-rules', 'alarm'],
  ['telemetry', 'alarm'],
  ['notifications', 'notification'],
]);

export function serviceUrls(cfg: GatewayConfig): Record<ServiceName, string> {
  return {
    device: cfg.DEVICE_SERVICE_URL,
    command: cfg.COMMAND_SERVICE_URL,
    alarm: cfg.ALARM_SERVICE_URL,
    notification: cfg.NOTIFICATION_SERVICE_URL,
    push: cfg.PUSH_SERVICE_URL,
  };
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the caller's credentials: never forwarded. */
const DROPPED_REQUEST_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'host',
  'authorization',
  'cookie',
  'x-api-key',
  IDENTITY_HEADER,
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
]);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);

/**
 * The headers a service sees: the caller's own (content type, length, idempotency key, …) without hop-by-hop
 * headers and credentials; the caller's signed identity; the request id; X-Forwarded-*. Any identity header the
 * client sent is dropped, so only the gateway's reaches a service.
 */
export function forwardedHeaders(req: IncomingMessage, principal: Pick<Principal, 'identity'>, requestId: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (DROPPED_REQUEST_HEADERS.has(name)) continue;
    const value = raw[i + 1]!;
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  }
  out[IDENTITY_HEADER] = principal.identity;
  out['x-request-id'] = requestId;
  const forwardedFor = req.headers['x-forwarded-for'];
  const remote = req.socket.remoteAddress ?? '';
  out['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${remote}` : remote;
  out['x-forwarded-host'] = req.headers.host ?? '';
  out['x-forwarded-proto'] = (req.socket as Socket & { encrypted?: boolean }).encrypted ? 'https' : 'http';
  return out;
}

interface ErrorShape {
  status: number;
  code: string;
  message: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

function classify(err: NodeJS.ErrnoException, service: ServiceName, timedOut: boolean): ErrorShape {
  if (timedOut || err.code === 'ETIMEDOUT') return { status: 504, code: 'GATEWAY_TIMEOUT', message: `${service} service did not answer in time` };
  if (err.code && UNREACHABLE.has(err.code)) return { status: 503, code: 'SERVICE_UNAVAILABLE', message: `${service} service unavailable` };
  return { status: 502, code: 'BAD_GATEWAY', message: `${service} service failed` };
}

function errorBody(shape: ErrorShape, requestId: string): string {
  return JSON.stringify({ error: { code: shape.code, message: shape.message, requestId } });
}

export interface Proxies {
  /** Routes authenticated `/api/v1/<segment>/…` to its service; anything else falls through. */
  api: RequestHandler;
  /** Forwards an already-authenticated WebSocket upgrade to push-service. */
  ws: ProxyHandler;
  /** Calls a service's API as a caller (legacy routes): JSON in, JSON out, same pool and identity. */
  call: ServiceCall;
  close(): void;
}

export interface ServiceAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export type ServiceCall = (
  service: Exclude<ServiceName, 'push'>,
  method: string,
  path: string,
  options: { identity: string; requestId: string; body?: unknown; headers?: Record<string, string> },
) => Promise<ServiceAnswer>;

/**
 * One keep-alive pool per service. API requests are streamed both ways as raw bytes (the gateway never parses or
 * re-serialises a proxied body) with the caller's signed identity instead of any credential; upgrades go through
 * http-proxy-middleware to push-service.
 */
export function createProxies(cfg: GatewayConfig, logger: Logger): Proxies {
  const urls = serviceUrls(cfg);
  const agents = new Map<ServiceName, http.Agent>();
  const targets = new Map<ServiceName, URL>();
  for (const service of Object.keys(urls) as ServiceName[]) {
    agents.set(service, new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: cfg.PROXY_MAX_SOCKETS, maxFreeSockets: 256, scheduling: 'lifo' }));
    targets.set(service, new URL(urls[service]));
  }

  const send = (service: ServiceName, method: string, path: string, headers: OutgoingHttpHeaders): ClientRequest => {
    const target = targets.get(service)!;
    const upstream = http.request({
      agent: agents.get(service),
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      method,
      path,
      headers,
    });
    // Socket inactivity: no byte for PROXY_TIMEOUT_MS (above the 30 s long-poll) → 504.
    upstream.setTimeout(cfg.PROXY_TIMEOUT_MS);
    return upstream;
  };

  const api: RequestHandler = (req: Request, res: Response, next) => {
    const segment = /^\/api\/v1\/([^/?]+)/.exec(req.originalUrl)?.[1];
    // a device's telemetry history lives in alarm-service (the telemetry store), the rest of /devices in device-service
    const service = TELEMETRY.test(req.originalUrl) ? 'alarm' : segment === undefined ? undefined : ROUTES.get(segment);
    if (service === undefined) {
      next();
      return;
    }
    const requestId = String(res.locals.requestId);
    const upstream = send(service, req.method, req.originalUrl, forwardedHeaders(req, principalOf(res), requestId));
    let timedOut = false;
    upstream.once('timeout', () => {
      timedOut = true;
      upstream.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' }));
    });
    upstream.once('response', (answer: IncomingMessage) => {
      const headers: OutgoingHttpHeaders = {};
      const raw = answer.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!.toLowerCase();
        if (DROPPED_RESPONSE_HEADERS.has(name) || name === 'x-request-id') continue;
        const value = raw[i + 1]!;
        const prev = headers[name];
        headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
      }
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
      answer.once('error', () => res.destroy());
    });
    upstream.once('error', (err: NodeJS.ErrnoException) => {
      const shape = classify(err, service, timedOut);
      logger.warn({ service, code: err.code, err: err.message, requestId, path: req.path }, 'proxy error');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(shape.status, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(errorBody(shape, requestId));
    });
    // The client went away before the answer: stop the upstream request too.
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };

  const call: ServiceCall = (service, method, path, options) =>
    new Promise((resolve, reject) => {
      const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
      const headers: OutgoingHttpHeaders = {
        accept: 'application/json',
        [IDENTITY_HEADER]: options.identity,
        'x-request-id': options.requestId,
        ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        ...options.headers,
      };
      const upstream = send(service, method, path, headers);
      let timedOut = false;
      upstream.once('timeout', () => {
        timedOut = true;
        upstream.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' }));
      });
      upstream.once('error', (err: NodeJS.ErrnoException) => {
        const shape = classify(err, service, timedOut);
        logger.warn({ service, code: err.code, err: err.message, requestId: options.requestId, path }, 'service call failed');
        reject(new AppError(shape.status, shape.code, shape.message));
      });
      upstream.once('response', (answer: IncomingMessage) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.once('error', reject);
        answer.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = undefined;
          try {
            body = text ? (JSON.parse(text) as unknown) : undefined;
          } catch {
            body = text;
          }
          resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body });
        });
      });
      upstream.end(payload);
    });

  const upgraded = new WeakSet<Socket>();
  const wsPlugin: Plugin<IncomingMessage, ServerResponse> = (proxyServer) => {
    proxyServer.on('proxyReqWs', (proxyReq: ClientRequest, _req: IncomingMessage, socket: Socket) => {
      proxyReq.on('upgrade', () => upgraded.add(socket));
    });
    proxyServer.on('error', (err: NodeJS.ErrnoException, req: IncomingMessage, target: ServerResponse | Socket) => {
      const shape = classify(err, 'push', false);
      const requestId = String(req.headers['x-request-id'] ?? '');
      logger.warn({ service: 'push', code: err.code, err: err.message, requestId }, 'websocket proxy error');
      const socket = target as Socket;
      if (!upgraded.has(socket) && socket.writable) {
        const body = errorBody(shape, requestId);
        socket.end(
          `HTTP/1.1 ${shape.status} ${http.STATUS_CODES[shape.status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
        );
      } else {
        socket.destroy();
      }
    });
  };
  const ws = createProxyMiddleware<IncomingMessage, ServerResponse>({
    target: urls.push,
    agent: agents.get('push'),
    xfwd: true,
    proxyTimeout: cfg.PROXY_TIMEOUT_MS,
    ejectPlugins: true,
    plugins: [wsPlugin],
  });

  return {
    api,
    ws,
    call,
    close() {
      for (const agent of agents.values()) agent.destroy();
    },
  };
}

/**
 * Rewrites a WebSocket upgrade's headers for push-service: the caller's signed identity instead of any credential
 * (cookie, bearer, API key — and any identity header the client tried to send), and the request id.
 */
export function forwardUpgradeIdentity(req: IncomingMessage, principal: Pick<Principal, 'identity'>, requestId: string): void {
  delete req.headers.authorization;
  delete req.headers.cookie;
  delete req.headers['x-api-key'];
  req.headers[IDENTITY_HEADER] = principal.identity;
  req.headers['x-request-id'] = requestId;
}
