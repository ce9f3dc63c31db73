/**
 * `npm run build`: transpiles every backend workspace's `src/**\/*.ts` to `dist/**\/*.js` (CommonJS, Node 24, source
 * maps) with esbuild, file by file, no bundling. Type checking is `npm run typecheck`'s job; this only emits.
 *
 * Compiled services run as `node --conditions=devicesaga-compiled <workspace>/dist/main.js`: the condition makes
 * `@devicesaga/contracts` and `@devicesaga/platform` resolve to their own `dist/` (package.json `exports`), while
 * tsx and jest, without it, keep loading the TypeScript sources.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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

if (require.main === module) {
  buildAll().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
