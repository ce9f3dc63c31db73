import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ServiceSpec } from './services';

export const root = path.resolve(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
const node = path.join(root, 'node_modules/.bin/node');

/**
 * Services run compiled (`npm run build` output on plain Node, see scripts/build.ts) unless STACK_RUNTIME=tsx asks
 * for the TypeScript sources (development: no build step, slower start, more memory).
 */
export const runtime = process.env.STACK_RUNTIME === 'tsx' ? 'tsx' : 'node';

/** `device-service/src/main.ts` → `device-service/dist/main.js`. */
export function compiledEntry(entry: string): string {
  return entry.replace(/\/src\//, '/dist/').replace(/\.ts$/, '.js');
}

function commandOf(entry: string, args: string[]): [string, string[]] {
  if (runtime === 'tsx') return [tsx, [entry, ...args]];
  return [node, ['--conditions=devicesaga-compiled', '--enable-source-maps', compiledEntry(entry), ...args]];
}

export interface Started {
  spec: ServiceSpec;
  port?: number;
  child: ChildProcess;
  logFile: string;
}

/** Starts one process with its output in `<logDir>/<name>.log`. */
export function spawnService(spec: ServiceSpec, env: NodeJS.ProcessEnv, logDir: string, args: string[] = [], port = spec.port): Started {
  mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `${spec.name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const [command, argv] = commandOf(spec.entry, args);
  const child = spawn(command, argv, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return { spec, child, logFile, ...(port === undefined ? {} : { port }) };
}

/** Polls `/health/ready` until it answers 200; fails fast if the process exits. STACK_READY_TIMEOUT_MS for a busy machine. */
export async function waitReady(started: Started, timeoutMs = Number(process.env.STACK_READY_TIMEOUT_MS ?? 90_000)): Promise<void> {
  const { spec, child, port } = started;
  if (!port) return;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${spec.name} exited with ${child.exitCode}; see ${started.logFile}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${spec.name} not ready after ${timeoutMs} ms (${last}); see ${started.logFile}`);
}

/** SIGTERM (graceful drain), then SIGKILL after the grace period. */
export async function stopProcess(started: Started, graceMs = 15_000): Promise<void> {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
