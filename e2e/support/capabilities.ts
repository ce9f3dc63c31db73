import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * Which of the services the dashboard builds on answer on the stack under test: push-service's `/ws`,
 * notification-service's REST, alarm-service's alarm types and the telemetry history. Asked once, synchronously
 * (jest decides which tests run before any of them starts), as a throwaway user. The browser tests of a part whose
 * service does not answer yet are reported as skipped with the reason — never passed — and run as soon as it does.
 */
export interface Capabilities {
  push: boolean;
  notifications: boolean;
  alarms: boolean;
  telemetry: boolean;
}

const probe = `
const { WebSocket } = require('ws');
const base = process.argv[1];
const out = { push: false, notifications: false, alarms: false, telemetry: false };
(async () => {
  const email = 'probe-' + Math.random().toString(36).slice(2, 10) + '@e2e.devicesaga.local';
  const password = 'pw-' + Math.random().toString(36).slice(2) + 'xx';
  const post = (p, body, token) => fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) }, body: JSON.stringify(body) });
  await post('/api/v1/auth/register', { email, password });
  const login = await (await post('/api/v1/auth/login', { email, password })).json();
  const auth = { authorization: 'Bearer ' + login.token };
  const get = async (p) => { const r = await fetch(base + p, { headers: auth }); return { status: r.status, text: await r.text() }; };
  out.notifications = (await get('/api/v1/notifications?limit=1')).status === 200;
  out.alarms = (await get('/api/v1/alarm-types')).status === 200;
  const device = await (await post('/api/v1/devices', { name: 'probe', sensors: [{ parameter: 'temperature' }] }, login.token)).json();
  const now = new Date();
  const history = await get('/api/v1/devices/' + device.id + '/telemetry?sensorId=' + device.sensors[0].id + '&from=' + new Date(now - 60000).toISOString() + '&to=' + now.toISOString());
  out.telemetry = history.status === 200;
  await fetch(base + '/api/v1/devices/' + device.id, { method: 'DELETE', headers: auth });
  out.push = await new Promise((resolve) => {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + '/ws?token=' + encodeURIComponent(login.token));
    const done = (v) => { clearTimeout(t); try { ws.terminate(); } catch {} resolve(v); };
    const t = setTimeout(() => done(false), 5000);
    ws.on('message', (m) => done(JSON.parse(String(m)).type === 'hello'));
    ws.on('error', () => done(false));
    ws.on('unexpected-response', () => done(false));
  });
})().catch(() => undefined).finally(() => { process.stdout.write(JSON.stringify(out)); process.exit(0); });
`;

let cached: Capabilities | undefined;

export function capabilities(gatewayUrl: string): Capabilities {
  if (cached) return cached;
  const root = path.resolve(__dirname, '../..');
  const run = spawnSync(process.execPath, ['-e', probe, gatewayUrl], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  try {
    cached = JSON.parse(run.stdout) as Capabilities;
  } catch {
    throw new Error(`the capability probe of ${gatewayUrl} failed: ${run.stderr || run.error?.message || 'no output'}`);
  }
  return cached;
}
