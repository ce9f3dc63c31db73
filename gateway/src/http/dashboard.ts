import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '@devicesaga/platform';

/**
 * Serves the dashboard's build (dashboard/dist: index.html, content-hashed `assets/`) at `/`:
 * - `assets/*` are named by their content hash: cached for a year, `immutable`; sent precompressed (`.br`/`.gz`
 *   written by the build) when the browser accepts it;
 * - `index.html` — also the answer for every page path of the single-page app (`/devices/<id>`, `/alarms`, ...) —
 *   is `no-cache` (revalidated by ETag), so a new build reaches browsers at once;
 * - every answer carries a strict Content-Security-Policy: scripts, styles, images and fonts from this origin only
 *   (no inline script or style, no eval), `connect-src` this origin and its WebSocket, no framing, no plugins.
 * API, WebSocket, health and metrics paths are never answered here.
 */
export interface DashboardOptions {
  dir: string;
  logger: Logger;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
const SHORT = 'public, max-age=3600';
/** Paths that belong to the API side of the gateway: a miss there is the JSON 404, never the app's page. */
const NOT_PAGES = /^\/(api|ws|health|metrics)(\/|$)/;
/** A Host header safe to echo into the policy (name or IPv4/IPv6 literal, optional port). */
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

export function contentSecurityPolicy(host: string | undefined): string {
  const ws = host && HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

function securityHeaders(req: Request, res: Response): void {
  res.setHeader('Content-Security-Policy', contentSecurityPolicy(req.headers.host));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
}

const encodings = [
  { token: 'br', ext: '.br' },
  { token: 'gzip', ext: '.gz' },
] as const;

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** The dashboard's handler, or undefined (with a log line saying how to build it) when `dir` has no index.html. */
export function dashboard({ dir, logger }: DashboardOptions): RequestHandler | undefined {
  const root = path.resolve(dir);
  const indexFile = path.join(root, 'index.html');
  if (!existsSync(indexFile)) {
    logger.warn({ dir: root }, 'the dashboard is not built (no index.html): `/` answers 404 until `npm run build` or `npm start` builds it');
    return undefined;
  }
  const assetsDir = path.join(root, 'assets');
  const files = express.static(root, {
    index: false,
    redirect: false,
    fallthrough: true,
    setHeaders(res, file) {
      const inAssets = file.startsWith(assetsDir + path.sep);
      res.setHeader('Cache-Control', inAssets ? IMMUTABLE : file === indexFile ? REVALIDATE : SHORT);
    },
  });
  const sendIndex = (req: Request, res: Response, next: (err?: unknown) => void) => {
    res.setHeader('Cache-Control', REVALIDATE);
    res.sendFile(indexFile, { headers: { 'Content-Type': 'text/html; charset=utf-8' }, lastModified: true, cacheControl: false }, (err) => {
      if (err) next(err);
    });
  };

  return (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_PAGES.test(req.path)) return next();
    securityHeaders(req, res);
    if (req.path === '/' || req.path === '/index.html') return sendIndex(req, res, next);

    // A hashed asset, precompressed when the browser takes it.
    if (req.path.startsWith('/assets/')) {
      const precompressed = precompressedFile(root, req);
      if (precompressed) {
        res.setHeader('Cache-Control', IMMUTABLE);
        res.setHeader('Content-Encoding', precompressed.encoding);
        res.setHeader('Vary', 'Accept-Encoding');
        res.setHeader('Content-Type', contentTypes[path.extname(req.path)] ?? 'application/octet-stream');
        return res.sendFile(precompressed.file, { cacheControl: false, lastModified: true }, (err) => {
          if (err) next(err);
        });
      }
    }
    files(req, res, (err?: unknown) => {
      if (err) return next(err);
      // Not a file: a page of the app (no extension, not an asset) gets index.html; anything else the 404.
      const last = req.path.split('/').pop() ?? '';
      if (!req.path.startsWith('/assets/') && !last.includes('.')) return sendIndex(req, res, next);
      res.removeHeader('Content-Security-Policy');
      next();
    });
  };
}

function precompressedFile(root: string, req: Request): { file: string; encoding: string } | undefined {
  const accepted = String(req.headers['accept-encoding'] ?? '');
  let decoded: string;
  try {
    decoded = decodeURIComponent(req.path);
  } catch {
    return undefined;
  }
  const file = path.resolve(root, `.${decoded}`);
  if (!file.startsWith(root + path.sep)) return undefined;
  for (const { token, ext } of encodings) {
    if (!acceptsEncoding(accepted, token)) continue;
    try {
      if (statSync(file + ext).isFile()) return { file: file + ext, encoding: token };
    } catch {
      // no such variant
    }
  }
  return undefined;
}

/** Whether an Accept-Encoding header takes `token` (named, or `*`, with a q above 0). */
export function acceptsEncoding(header: string, token: string): boolean {
  let star = false;
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q ? Number(q.slice(2)) : 1;
    if (name.trim() === token) return weight > 0;
    if (name.trim() === '*' && weight > 0) star = true;
  }
  return star;
}
