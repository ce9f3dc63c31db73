import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import express from 'express';
import { createLogger } from '@devicesaga/platform';
import { acceptsEncoding, contentSecurityPolicy, dashboard } from '../src/http/dashboard';

const logger = createLogger('gateway-test', 'silent');
const dir = mkdtempSync(path.join(tmpdir(), 'gw-dashboard-'));
const script = `console.log(${JSON.stringify('x'.repeat(4000))});`;
mkdirSync(path.join(dir, 'assets'));
writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>devicesaga</title><script type="module" src="/assets/index-abc123.js"></script>');
writeFileSync(path.join(dir, 'assets/index-abc123.js'), script);
writeFileSync(path.join(dir, 'assets/index-abc123.js.br'), brotliCompressSync(script));
writeFileSync(path.join(dir, 'assets/index-abc123.js.gz'), gzipSync(script));
writeFileSync(path.join(dir, 'assets/plain-def456.css'), 'body{margin:0}');
writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
writeFileSync(path.join(tmpdir(), 'gw-dashboard-secret.txt'), 'secret');

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.get('/api/v1/ping', (_req, res) => void res.json({ pong: true }));
  const handler = dashboard({ dir, logger });
  if (!handler) throw new Error('dashboard() found no index.html');
  app.use(handler);
  app.use((_req, res) => void res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no route' } }));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
  rmSync(path.join(tmpdir(), 'gw-dashboard-secret.txt'), { force: true });
});

describe('the gateway serves the dashboard build', () => {
  it('answers index.html at / with no-cache and a strict CSP that allows this origin and its WebSocket only', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toContain('/assets/index-abc123.js');
    const csp = res.headers.get('content-security-policy') ?? '';
    const host = new URL(base).host;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('revalidates index.html by its ETag (304 when unchanged)', async () => {
    const first = await fetch(`${base}/`);
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    // node:http, not fetch: fetch adds `Cache-Control: no-cache` to a conditional request, which forbids a 304.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      http.get(`${base}/`, { headers: { 'if-none-match': etag! } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject);
    });
    expect(status).toBe(304);
  });

  it('answers index.html for a page path of the app, so a deep link or a reload works', async () => {
    for (const page of ['/devices/8d0f3c1e-5b8a-4a39-9d55-0d6b1f3f2a11', '/alarms', '/inbox']) {
      const res = await fetch(`${base}${page}`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<title>devicesaga</title>');
    }
  });

  it('sends a hashed asset precompressed (brotli, else gzip) when accepted, immutable for a year', async () => {
    const br = await fetch(`${base}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(br.status).toBe(200);
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(br.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(br.headers.get('vary')).toMatch(/accept-encoding/i);
    expect(await br.text()).toBe(script); // fetch decodes it

    const gz = await fetch(`${base}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip, br;q=0' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(await gz.text()).toBe(script);

    const plain = await fetch(`${base}/assets/plain-def456.css`);
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await plain.text()).toBe('body{margin:0}');
  });

  it('caches other public files for an hour', async () => {
    const res = await fetch(`${base}/favicon.svg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=3600');
  });

  it('a missing asset is a 404, never index.html (a stale page must not run HTML as a script)', async () => {
    const res = await fetch(`${base}/assets/index-gone999.js`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/json/);
  });

  it('leaves API paths alone: an unknown API route is the JSON 404, a known one answers', async () => {
    expect((await fetch(`${base}/api/v1/nothing-here`)).status).toBe(404);
    expect(await (await fetch(`${base}/api/v1/nothing-here`)).json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(await (await fetch(`${base}/api/v1/ping`)).json()).toEqual({ pong: true });
    expect((await fetch(`${base}/ws`)).status).toBe(404);
  });

  it('serves nothing outside its folder', async () => {
    for (const p of ['/assets/..%2f..%2fgw-dashboard-secret.txt', '/..%2fgw-dashboard-secret.txt', '/assets/%2e%2e/%2e%2e/gw-dashboard-secret.txt']) {
      const res = await fetch(`${base}${p}`, { headers: { 'accept-encoding': 'br, gzip' } });
      expect(await res.text()).not.toBe('secret');
    }
  });

  it('a POST to a page path is not answered with the page', async () => {
    const res = await fetch(`${base}/devices`, { method: 'POST' });
    expect(res.status).toBe(404);
  });

  it('is off, with a log line, when the folder has no build', () => {
    expect(dashboard({ dir: path.join(dir, 'nope'), logger })).toBeUndefined();
  });
});

describe('helpers', () => {
  it('reads Accept-Encoding with q-values and *', () => {
    expect(acceptsEncoding('gzip, deflate, br', 'br')).toBe(true);
    expect(acceptsEncoding('gzip;q=1.0, br;q=0', 'br')).toBe(false);
    expect(acceptsEncoding('*', 'gzip')).toBe(true);
    expect(acceptsEncoding('identity', 'gzip')).toBe(false);
    expect(acceptsEncoding('', 'br')).toBe(false);
  });

  it('does not echo a Host header that is not a host into the policy', () => {
    expect(contentSecurityPolicy('evil.example; script-src *')).toContain("connect-src 'self';");
    expect(contentSecurityPolicy('[::1]:8080')).toContain('ws://[::1]:8080');
  });
});
