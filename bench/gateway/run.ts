/**
 * CPU per proxied request through the gateway (issue 8, "one cheap HTTP hop").
 *
 *   npx tsx bench/gateway/run.ts [--repo <checkout>] [--n 20000] [--concurrency 16]
 *
 * Builds the checkout (`scripts/build.ts`), starts its compiled gateway and a minimal upstream service built on that
 * checkout's platform (bench/proxy-upstream: its `requireUser`, so the upstream's verification cost counts), logs a
 * user in, warms up, then runs a keep-alive load (bench/gateway/load.ts: alternating GET and POST with a JSON body)
 * under `/work/shared/tools/cpu-account --per N`, and reports CPU per request of the gateway and of the upstream
 * from /proc (exact for those pids, whatever else runs on the machine), beside cpu-account's own table.
 * `--repo` points at another checkout (e.g. a worktree of main) to measure the code before a change.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const here = path.resolve(__dirname, '../..');
const node = path.join(here, 'node_modules/.bin/node');
const HZ = 100; // USER_HZ on Linux

function ticks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function startProcess(entry: string, env: NodeJS.ProcessEnv, cwd: string): ChildProcess {
  return spawn(node, [entry], { cwd, env: { ...process.env, ...env, NODE_OPTIONS: '--conditions=devicesaga-compiled' }, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function waitFor(url: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`${url} not ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repo: { type: 'string' }, n: { type: 'string' }, concurrency: { type: 'string' } } });
  const repo = path.resolve(values.repo ?? here);
  const n = Number(values.n ?? 20000);
  const concurrency = Number(values.concurrency ?? 16);
  const commit = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim().slice(0, 100);
  console.log(`[bench] checkout ${repo} at ${commit}`);

  execFileSync(path.join(here, 'node_modules/.bin/tsx'), [path.join(repo, 'scripts/build.ts')], { cwd: repo, stdio: 'ignore' });
  const upstreamSrc = path.join(repo, 'bench/proxy-upstream/src/main.ts');
  if (!existsSync(upstreamSrc)) {
    mkdirSync(path.dirname(upstreamSrc), { recursive: true });
    copyFileSync(path.join(here, 'bench/proxy-upstream/src/main.ts'), upstreamSrc);
  }
  const upstreamJs = path.join(repo, 'bench/proxy-upstream/dist/main.js');
  await build({ entryPoints: [upstreamSrc], outfile: upstreamJs, platform: 'node', format: 'cjs', target: 'node24', bundle: false, logLevel: 'silent' });
  const loadJs = path.join(here, 'bench/gateway/dist/load.js');
  await build({ entryPoints: [path.join(here, 'bench/gateway/load.ts')], outfile: loadJs, platform: 'node', format: 'cjs', target: 'node24', logLevel: 'silent' });

  const upstream = startProcess(upstreamJs, { PORT: '0', LOG_LEVEL: 'warn' }, repo);
  const upstreamPort = await new Promise<number>((resolve, reject) => {
    upstream.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    upstream.once('exit', () => reject(new Error('upstream exited')));
  });
  const port = 3000 + 6080; // the benchmark instance range (+3000), gateway-owned
  const gateway = startProcess(
    path.join(repo, 'gateway/dist/main.js'),
    {
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_NAME: 'ds_bench_gateway_proxy',
      REDIS_KEY_PREFIX: 'bench:gwproxy:',
      DEVICE_SERVICE_URL: `http://127.0.0.1:${upstreamPort}`,
      RATE_LIMIT_USER_PER_SEC: '1000000',
      RATE_LIMIT_AUTH_IP_PER_MIN: '100000',
      STATIC_DIR: '/nonexistent',
    },
    repo,
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${base}/health/ready`);
    const email = `bench-${Date.now()}@bench.local`;
    const password = 'bench-password-0000';
    await fetch(`${base}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    const login = (await (await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })).json()) as { token: string };

    execFileSync(node, [loadJs, base, login.token, '3000', String(concurrency)], { stdio: 'ignore' }); // warm-up (JIT, pools)
    const before = { gateway: ticks(gateway.pid!), upstream: ticks(upstream.pid!) };
    const t0 = Date.now();
    const command = ['/work/shared/tools/cpu-account', '--per', String(n), '--top', '8', '--', node, loadJs, base, login.token, String(n), String(concurrency)];
    const out = execFileSync(command[0]!, command.slice(1), { encoding: 'utf8' });
    const seconds = (Date.now() - t0) / 1000;
    const after = { gateway: ticks(gateway.pid!), upstream: ticks(upstream.pid!) };
    const ms = (k: 'gateway' | 'upstream') => ((after[k] - before[k]) / HZ / n) * 1000;
    console.log(`[bench] ${command.join(' ').replace(login.token, '<token>')}`);
    console.log(out.replace(login.token, '<token>').trimEnd());
    console.log(`[bench] CPU per proxied request (from /proc of the two pids, ${n} requests, ${seconds.toFixed(1)} s, concurrency ${concurrency}):`);
    console.log(`  gateway   ${ms('gateway').toFixed(3)} ms`);
    console.log(`  upstream  ${ms('upstream').toFixed(3)} ms`);
    console.log(`  both      ${(ms('gateway') + ms('upstream')).toFixed(3)} ms`);
  } finally {
    gateway.kill('SIGTERM');
    upstream.kill('SIGTERM');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
