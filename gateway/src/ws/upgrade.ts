import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, logContext, type Logger } from '@devicesaga/platform';
import { readCookie, SESSION_COOKIE, type Authenticator } from '../auth/authenticator';
import { forwardUpgradeIdentity, type Proxies } from '../http/proxy';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * `GET /ws` upgrades: the Origin (when present) must be allowed, the caller must authenticate (cookie, Bearer or
 * `?token=`) — otherwise an HTTP error before any upgrade; then the upgrade is proxied to push-service with the
 * caller's signed identity (`X-DS-Identity`, no credentials) and `?token=` removed from the forwarded URL.
 */
export function createUpgradeHandler(opts: {
  authenticator: Authenticator;
  proxies: Proxies;
  allowedOrigins: readonly string[];
  logger: Logger;
  sockets: Set<Socket>;
}) {
  const allowed = new Set(opts.allowedOrigins);
  return (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    socket.on('error', () => socket.destroy());
    logContext.run({ requestId }, () => {
      const url = new URL(req.url ?? '/', 'http://gateway.invalid');
      if (url.pathname !== '/ws') {
        reject(socket, requestId, new AppError(404, 'NOT_FOUND', `no route for upgrade ${url.pathname}`));
        return;
      }
      const origin = req.headers.origin;
      if (origin && !allowed.has(origin)) {
        reject(socket, requestId, AppError.forbidden('origin not allowed'));
        return;
      }
      const queryToken = url.searchParams.get('token') ?? undefined;
      opts.authenticator
        .require({ headers: req.headers, cookie: readCookie(req.headers.cookie, SESSION_COOKIE), queryToken })
        .then((principal) => {
          if (socket.destroyed) return;
          url.searchParams.delete('token');
          req.url = url.pathname + url.search;
          forwardUpgradeIdentity(req, principal, requestId);
          opts.sockets.add(socket);
          socket.once('close', () => opts.sockets.delete(socket));
          opts.proxies.ws.upgrade(req, socket, head);
        })
        .catch((err: unknown) => {
          if (err instanceof AppError) {
            reject(socket, requestId, err);
            return;
          }
          opts.logger.error({ err, requestId }, 'websocket upgrade failed');
          reject(socket, requestId, new AppError(500, 'INTERNAL', 'internal error'));
        });
    });
  };
}

function reject(socket: Socket, requestId: string, err: AppError): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code: err.code, message: err.message, requestId } });
  const extra = Object.entries(err.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${err.status} ${http.STATUS_CODES[err.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}
