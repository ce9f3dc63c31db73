/**
 * `npm run build`: transpiles every backend workspace's `src/**\/*.ts` to `dist/**\/*.js` (CommonJS, Node 24, source
 * maps) with esbuild, file by file, no bundling. Type checking is `npm run typecheck`'s job; this only emits.
 *
 * Compiled services run as `node --conditions=devicesaga-compiled <workspace>/dist/main.js`: the condition makes
 * `@devicesaga/contracts` and `@devicesaga/platform` resolve to their own `dist/` (package.json `exports`), while
 * tsx and jest, without it, keep loading the TypeScript sources.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(__dirname, '..');

/** Workspaces with a `src/` of Node code (the dashboard builds with its own tool). */
export function backendWorkspaces(): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  return pkg.workspaces.filter((w) => w !== 'dashboard' && exists(path.join(root, w, 'src')));
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

export async function buildAll(log: (line: string) => void = console.log): Promise<void> {
  const t0 = Date.now();
  let files = 0;
  for (const ws of backendWorkspaces()) {
    const src = path.join(root, ws, 'src');
    const out = path.join(root, ws, 'dist');
    rmSync(out, { recursive: true, force: true });
    const entryPoints = tsFiles(src);
    files += entryPoints.length;
    await build({
      entryPoints,
      outbase: src,
      outdir: out,
      format: 'cjs',
      platform: 'node',
      target: 'node24',
      sourcemap: true,
      bundle: false,
      logLevel: 'error',
      tsconfig: path.join(root, 'tsconfig.base.json'),
    });
  }
  log(`built ${files} files of ${backendWorkspaces().length} workspaces in ${Date.now() - t0} ms`);
}

/** What the dashboard's build depends on: its sources and config, the contracts it imports, the lock file. */
function dashboardInputs(): string[] {
  const dash = path.join(root, 'dashboard');
  const walk = (dir: string): string[] =>
    existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])) : [];
  return [
    ...walk(path.join(dash, 'src')),
    ...walk(path.join(dash, 'public')),
    ...walk(path.join(root, 'packages/contracts/src')),
    path.join(dash, 'index.html'),
    path.join(dash, 'vite.config.ts'),
    path.join(dash, 'package.json'),
    path.join(dash, 'tsconfig.json'),
    path.join(root, 'package-lock.json'),
  ]
    .filter((f) => existsSync(f))
    .sort();
}

/**
 * Builds the dashboard (Vite) into dashboard/dist, which the gateway serves — skipped when dist/ was built from the
 * same inputs (a hash of every input file is kept in dist/.build-hash), so a restart of the stack costs nothing.
 */
export function buildDashboard(log: (line: string) => void = console.log, options: { force?: boolean } = {}): void {
  const dist = path.join(root, 'dashboard/dist');
  const stamp = path.join(dist, '.build-hash');
  const hash = createHash('sha256');
  for (const file of dashboardInputs()) hash.update(path.relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  const digest = hash.digest('hex');
  if (!options.force && existsSync(path.join(dist, 'index.html')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) {
    log('dashboard: up to date (dashboard/dist)');
    return;
  }
  const t0 = Date.now();
  const vite = spawnSync(path.join(root, 'node_modules/.bin/node'), [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: path.join(root, 'dashboard'),
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (vite.status !== 0) throw new Error(`the dashboard build failed (vite exited with ${vite.status ?? vite.signal}); run \`npm run build\` to see why`);
  writeFileSync(stamp, digest);
  log(`dashboard: built in ${Date.now() - t0} ms (dashboard/dist)`);
}

if (require.main === module) {
  buildAll()
    .then(() => buildDashboard(console.log, { force: process.argv.includes('--force') }))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
