/**
 * The dashboard's page-load budget: what the browser downloads, and how long a person waits for the first live value.
 *
 *   npm run bench:dashboard                      # own stack instance (ports +3000), 10 cold loads
 *   GATEWAY_URL=http://127.0.0.1:8080 npm run bench:dashboard   # beside a running `npm start` instead
 *   BENCH_RUNS=20 npm run bench:dashboard
 *   BENCH_ONLY=bundle npm run bench:dashboard   # the bundle sizes alone (no stack, no browser)
 *
 * 1. Bundle: every file of dashboard/dist/assets with its size raw, gzip and brotli (the gateway sends the
 *    precompressed files), and the initial load: index.html plus what it references (the chart is a lazy chunk).
 * 2. Time to first live value: a device sends telemetry every 200 ms; a fresh browser context (empty cache, logged
 *    in by its session cookie) opens the device page; measured from navigation start to the User Timing marks the app
 *    sets — the WebSocket open and the first live value rendered — beside DOMContentLoaded and first contentful
 *    paint; then the same page again in the same context (warm cache: hashed assets are immutable, so no request for
 *    them). Transfer sizes from the Resource Timing entries. CPU of the browser and the gateway per page load by
 *    /proc accounting.
 */
import { readdirSync, readFileSync, statSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { SimulatedDevice } from '../../device-simulator/src';
import { launchBrowser, newContext } from '../../e2e/support/browser';
import { buildDashboard } from '../../scripts/build';
import { root } from '../../scripts/stack/processes';
import { startStack, type Stack } from '../../scripts/stack/stack';
import { percentile } from '../stats';

const dist = path.join(root, 'dashboard/dist');
const runs = Number(process.env.BENCH_RUNS ?? 10);
const command = `${process.env.GATEWAY_URL ? `GATEWAY_URL=${process.env.GATEWAY_URL} ` : ''}${process.env.BENCH_RUNS ? `BENCH_RUNS=${runs} ` : ''}npm run bench:dashboard`;
/** The budget this page is held to (printed as ok / OVER; `--enforce` makes OVER exit 1). */
const budget = { initialBrotliKB: 150, firstLiveValueP50Ms: 1500 };

interface FileSize {
  file: string;
  raw: number;
  gzip: number;
  brotli: number;
}

function sizeOf(file: string): FileSize {
  const body = readFileSync(path.join(dist, file));
  const pre = (ext: string) => {
    try {
      return statSync(path.join(dist, file + ext)).size;
    } catch {
      return undefined;
    }
  };
  return {
    file,
    raw: body.length,
    gzip: pre('.gz') ?? gzipSync(body, { level: 9 }).length,
    brotli: pre('.br') ?? brotliCompressSync(body).length,
  };
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

function bundle(): { files: FileSize[]; initial: FileSize[] } {
  const files = readdirSync(path.join(dist, 'assets'))
    .filter((f) => /\.(js|css)$/.test(f))
    .map((f) => sizeOf(`assets/${f}`))
    .sort((a, b) => b.raw - a.raw);
  const html = readFileSync(path.join(dist, 'index.html'), 'utf8');
  const referenced = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
  const initial = [sizeOf('index.html'), ...referenced.map(sizeOf)];
  return { files, initial };
}

interface Load {
  fcp: number;
  domContentLoaded: number;
  wsOpen: number;
  firstLiveValue: number;
  transferred: number;
  requests: number;
}

async function loadOnce(page: Page, url: string): Promise<Load> {
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction("performance.getEntriesByName('devicesaga:first-live-value').length > 0", undefined, { timeout: 30_000, polling: 50 });
  const raw = await page.evaluate(`(() => {
    const mark = (n) => performance.getEntriesByName(n)[0]?.startTime ?? NaN;
    const nav = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource');
    return JSON.stringify({
      fcp: mark('first-contentful-paint'),
      domContentLoaded: nav ? nav.domContentLoadedEventEnd : NaN,
      wsOpen: mark('devicesaga:ws-open'),
      firstLiveValue: mark('devicesaga:first-live-value'),
      transferred: (nav ? nav.transferSize : 0) + resources.reduce((s, r) => s + (r.transferSize || 0), 0),
      requests: 1 + resources.length,
    });
  })()`);
  return JSON.parse(String(raw)) as Load;
}

/** CPU seconds (user + system) of the processes whose command line matches, from /proc. */
function cpuSeconds(match: (cmd: string) => boolean): number {
  const hz = 100;
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!match(cmd)) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / hz;
}

async function main() {
  const log = (line: string) => console.log(`[bench:dashboard] ${line}`);
  buildDashboard(log);
  const { files, initial } = bundle();
  console.log('\nBundle (dashboard/dist, as the gateway sends it: brotli when accepted)');
  console.log(`  ${'file'.padEnd(44)} ${'raw'.padStart(10)} ${'gzip'.padStart(10)} ${'brotli'.padStart(10)}`);
  for (const f of files) console.log(`  ${f.file.padEnd(44)} ${kb(f.raw).padStart(10)} ${kb(f.gzip).padStart(10)} ${kb(f.brotli).padStart(10)}`);
  const sum = (list: FileSize[], k: keyof Omit<FileSize, 'file'>) => list.reduce((s, f) => s + f[k], 0);
  console.log(`  initial load (${initial.map((f) => f.file).join(', ')}): ${kb(sum(initial, 'raw'))} raw, ${kb(sum(initial, 'gzip'))} gzip, ${kb(sum(initial, 'brotli'))} brotli`);
  if (process.env.BENCH_ONLY === 'bundle') {
    const initialBrotli = sum(initial, 'brotli') / 1024;
    console.log(`\nBudget\n  initial load ≤ ${budget.initialBrotliKB} KB brotli: ${initialBrotli.toFixed(1)} KB ${initialBrotli <= budget.initialBrotliKB ? 'ok' : 'OVER'}`);
    console.log(`\ncommand: BENCH_ONLY=bundle ${command}`);
    return;
  }

  let stack: Stack | undefined;
  let base = process.env.GATEWAY_URL;
  let browser: Browser | undefined;
  let device: SimulatedDevice | undefined;
  try {
    if (!base) {
      stack = await startStack({
        instance: { name: 'dashbench', portOffset: 3000 },
        env: { LOG_LEVEL: 'warn' },
        logDir: path.join(root, '.run/bench-logs'),
        onProgress: log,
      });
      base = stack.gatewayUrl;
    }
    const email = `bench-${randomUUID().slice(0, 8)}@bench.devicesaga.local`;
    const password = `pw-${randomUUID()}`;
    const call = async (method: string, p: string, body?: unknown, token?: string) => {
      const res = await fetch(`${base}${p}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    };
    await call('POST', '/api/v1/auth/register', { email, password });
    const { token } = (await call('POST', '/api/v1/auth/login', { email, password })) as { token: string };
    const created = (await call('POST', '/api/v1/devices', { name: 'bench thermostat', sensors: [{ parameter: 'temperature' }] }, token)) as {
      id: string;
      mqtt: { username: string; password: string };
    };
    device = new SimulatedDevice({ id: created.mqtt.username, password: created.mqtt.password, mqttUrl: process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884', telemetryMs: 200 });
    await device.start();

    browser = await launchBrowser();
    const url = `/devices/${created.id}`;
    const cold: Load[] = [];
    const warm: Load[] = [];
    const isBrowser = (cmd: string) => cmd.includes('chromium');
    const isGateway = (cmd: string) => /gateway\/(dist|src)\/main/.test(cmd);
    const cpu0 = { browser: cpuSeconds(isBrowser), gateway: cpuSeconds(isGateway) };
    const host = new URL(base).hostname;
    for (let i = 0; i < runs; i++) {
      const ctx = await newContext(browser, base);
      await ctx.addCookies([{ name: 'ds_session', value: token, domain: host, path: '/', httpOnly: true, sameSite: 'Lax' }]);
      await ctx.addInitScript({ content: "window.localStorage.setItem('devicesaga.session', '1')" });
      const page = await ctx.newPage();
      cold.push(await loadOnce(page, url));
      warm.push(await loadOnce(page, url));
      await ctx.close();
    }
    const cpu1 = { browser: cpuSeconds(isBrowser), gateway: cpuSeconds(isGateway) };
    const loads = runs * 2;

    const row = (name: string, values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `  ${name.padEnd(34)} p50 ${percentile(sorted, 50).toFixed(0).padStart(5)} ms   p90 ${percentile(sorted, 90).toFixed(0).padStart(5)} ms   max ${(sorted.at(-1) ?? NaN).toFixed(0).padStart(5)} ms`;
    };
    for (const [label, set] of [
      ['cold (empty cache, new context)', cold],
      ['warm (same context, cached assets)', warm],
    ] as const) {
      console.log(`\nDevice page, ${label}, ${runs} loads, from navigation start`);
      console.log(row('first contentful paint', set.map((l) => l.fcp)));
      console.log(row('DOMContentLoaded', set.map((l) => l.domContentLoaded)));
      console.log(row('WebSocket open', set.map((l) => l.wsOpen)));
      console.log(row('first live value on screen', set.map((l) => l.firstLiveValue)));
      console.log(`  transferred: ${kb(percentile([...set.map((l) => l.transferred)].sort((a, b) => a - b), 50))} in ${set[0]?.requests ?? 0} requests (p50)`);
    }
    console.log(`\nCPU per page load (${loads} loads): browser ${((1000 * (cpu1.browser - cpu0.browser)) / loads).toFixed(0)} ms, gateway ${((1000 * (cpu1.gateway - cpu0.gateway)) / loads).toFixed(1)} ms`);

    const initialBrotli = sum(initial, 'brotli') / 1024;
    const p50 = percentile([...cold.map((l) => l.firstLiveValue)].sort((a, b) => a - b), 50);
    console.log('\nBudget');
    console.log(`  initial load ≤ ${budget.initialBrotliKB} KB brotli: ${initialBrotli.toFixed(1)} KB ${initialBrotli <= budget.initialBrotliKB ? 'ok' : 'OVER'}`);
    console.log(`  first live value (cold) p50 ≤ ${budget.firstLiveValueP50Ms} ms: ${p50.toFixed(0)} ms ${p50 <= budget.firstLiveValueP50Ms ? 'ok' : 'OVER'}`);
    console.log(`\ncommand: ${command}`);

    const out = path.join(root, 'bench/dashboard/results');
    mkdirSync(out, { recursive: true });
    writeFileSync(
      path.join(out, 'latest.json'),
      JSON.stringify({ at: new Date().toISOString(), command, runs, files, initial, cold, warm, cpuPerLoadMs: { browser: (1000 * (cpu1.browser - cpu0.browser)) / loads, gateway: (1000 * (cpu1.gateway - cpu0.gateway)) / loads } }, null, 2),
    );
    if (process.argv.includes('--enforce') && (initialBrotli > budget.initialBrotliKB || p50 > budget.firstLiveValueP50Ms)) process.exitCode = 1;
    await call('DELETE', `/api/v1/devices/${created.id}`, undefined, token).catch(() => undefined);
  } finally {
    await device?.stop();
    await browser?.close();
    await stack?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
