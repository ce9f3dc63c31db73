import http, { type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import { createProxyMiddleware, fixRequestBody, type Plugin, type RequestHandler as ProxyHandler } from 'http-proxy-middleware';
import type { Logger } from '@devicesaga/platform';
import type { GatewayConfig } from '../config';
import { principalOf, type Principal } from '../auth/authenticator';

export type ServiceName = 'device' | 'command' | 'alarm' | 'notification' | 'push';

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

/** `/api/v1/devices/{id}/telemetry` → alarm-service. */
const TELEMETRY = /^\/api\/v1\/devices\/[^/]+\/telemetry\/?$/;

export function serviceUrls(cfg: GatewayConfig): Record<ServiceName, string> {
  return {
    device: cfg.DEVICE_SERVICE_URL,
    command: cfg.COMMAND_SERVICE_URL,
    alarm: cfg.ALARM_SERVICE_URL,
    notification: cfg.NOTIFICATION_SERVICE_URL,
    push: cfg.PUSH_SERVICE_URL,
  };
}

/**
 * Rewrites the headers a downstream service sees: the caller's identity as `Authorization: Bearer <jwt>` (the
 * user's own token, or the one minted for an API key), the request id; no cookies, no API key.
 */
export function forwardIdentity(req: IncomingMessage, principal: Principal, requestId: string): void {
  req.headers.authorization = `Bearer ${principal.token}`;
  delete req.headers.cookie;
  delete req.headers['x-api-key'];
  req.headers['x-request-id'] = requestId;
}

interface ErrorShape {
  status: number;
  code: string;
  message: string;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);

function classify(err: NodeJS.ErrnoException, service: ServiceName, timedOut: boolean): ErrorShape {
  if (timedOut) return { status: 504, code: 'GATEWAY_TIMEOUT', message: `${service} service did not answer in time` };
  if (err.code && UNREACHABLE.has(err.code)) return { status: 503, code: 'SERVICE_UNAVAILABLE', message: `${service} service unavailable` };
  if (err.code === 'ETIMEDOUT') return { status: 504, code: 'GATEWAY_TIMEOUT', message: `${service} service did not answer in time` };
  return { status: 502, code: 'BAD_GATEWAY', message: `${service} service failed` };
}

function isResponse(x: ServerResponse | Socket): x is ServerResponse {
  return typeof (x as ServerResponse).writeHead === 'function';
}

export interface Proxies {
  /** Routes authenticated `/api/v1/<segment>/…` to its service; anything else falls through. */
  api: RequestHandler;
  /** Forwards an already-authenticated WebSocket upgrade to push-service. */
  ws: ProxyHandler;
  close(): void;
}

export function createProxies(cfg: GatewayConfig, logger: Logger): Proxies {
  const urls = serviceUrls(cfg);
  const agents: http.Agent[] = [];
  const upgraded = new WeakSet<Socket>();
  // http-proxy's proxyTimeout aborts the upstream request, which surfaces as a plain ECONNRESET: remember why.
  const timedOut = new WeakSet<IncomingMessage>();

  const make = (service: ServiceName) => {
    const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000, maxSockets: cfg.PROXY_MAX_SOCKETS, maxFreeSockets: 256, scheduling: 'lifo' });
    agents.push(agent);
    const plugin: Plugin<IncomingMessage, ServerResponse> = (proxyServer) => {
      proxyServer.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage) => {
        proxyReq.once('timeout', () => timedOut.add(req));
        fixRequestBody(proxyReq, req);
      });
      proxyServer.on('proxyReqWs', (proxyReq: ClientRequest, _req: IncomingMessage, socket: Socket) => {
        proxyReq.on('upgrade', () => upgraded.add(socket));
      });
      proxyServer.on('error', (err: NodeJS.ErrnoException, req: IncomingMessage, target: ServerResponse | Socket) => {
        const shape = classify(err, service, timedOut.has(req));
        const requestId = String(req.headers['x-request-id'] ?? '');
        logger.warn({ service, code: err.code, err: err.message, requestId, path: req.url?.split('?')[0] }, 'proxy error');
        if (isResponse(target)) {
          if (!target.headersSent) {
            target.writeHead(shape.status, { 'Content-Type': 'application/json; charset=utf-8', 'X-Request-Id': requestId });
            target.end(JSON.stringify({ error: { code: shape.code, message: shape.message, requestId } }));
          } else {
            target.destroy();
          }
        } else if (!upgraded.has(target) && target.writable) {
          const body = JSON.stringify({ error: { code: shape.code, message: shape.message, requestId } });
          target.end(
            `HTTP/1.1 ${shape.status} ${http.STATUS_CODES[shape.status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
              `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
          );
        } else {
          target.destroy();
        }
      });
    };
    return createProxyMiddleware<IncomingMessage, ServerResponse>({
      target: urls[service],
      agent,
      xfwd: true,
      proxyTimeout: cfg.PROXY_TIMEOUT_MS,
      ejectPlugins: true,
      plugins: [plugin],
    });
  };

  const byService = new Map<ServiceName, ProxyHandler>();
  for (const service of new Set(ROUTES.values())) byService.set(service, make(service));
  const ws = make('push');

  const api: RequestHandler = (req: Request, res: Response, next) => {
    const segment = /^\/api\/v1\/([^/]+)/.exec(req.path)?.[1];
    // a device's telemetry history lives in alarm-service (the telemetry store), the rest of /devices in device-service
    const service = TELEMETRY.test(req.path) ? 'alarm' : segment === undefined ? undefined : ROUTES.get(segment);
    const proxy = service === undefined ? undefined : byService.get(service);
    if (!proxy) {
      next();
      return;
    }
    forwardIdentity(req, principalOf(res), String(res.locals.requestId));
    proxy(req, res, next).catch(next);
  };

  return {
    api,
    ws,
    close() {
      for (const agent of agents) agent.destroy();
    },
  };
}
