/**
 * `npm test` after bootstrap: typecheck, lint, the unit project, then the e2e project against the whole stack
 * started as separate processes. Prints each step with its duration and ends with `N passed, N failed`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newmanStep } from './stack/newman';
import { ensureOperator } from './stack/operator';
import { startStack } from './stack/stack';
import { root } from './stack/processes';

interface JestSummary {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTotalTestSuites: number;
}

/**
 * The e2e stack runs as its own instance, so `npm test` works while `npm start` runs. TEST_INSTANCE and
 * TEST_PORT_OFFSET pick another one (two checkouts testing on one machine at once).
 */
const testInstance = { name: process.env.TEST_INSTANCE ?? 'test', portOffset: Number(process.env.TEST_PORT_OFFSET ?? 1000) };

/** The e2e tests' operator (DLQ tooling, alarm types, parameters). */
const e2eOperator = { username: 'e2e-operator', email: 'e2e-operator@devicesaga.local', password: 'e2e-operator-password-2026' };

const totals = { passed: 0, failed: 0, skipped: 0 };
const steps: string[] = [];
let ok = true;

function step(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): boolean {
  const t0 = Date.now();
  console.log(`\n[test] ${name}…`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const passed = result.status === 0;
  steps.push(`${passed ? 'ok  ' : 'FAIL'} ${name} (${seconds} s)`);
  if (!passed) ok = false;
  return passed;
}

function jest(project: string, env: NodeJS.ProcessEnv, extra: string[]) {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'jest-')), 'result.json');
  step(`jest ${project}`, path.join(root, 'node_modules/.bin/node'), [
    '--experimental-vm-modules',
    '--no-warnings=ExperimentalWarning',
    path.join(root, 'node_modules/jest/bin/jest.js'),
    '--selectProjects',
    project,
    '--json',
    `--outputFile=${out}`,
    ...extra,
  ], env);
  try {
    const summary = JSON.parse(readFileSync(out, 'utf8')) as JestSummary;
    totals.passed += summary.numPassedTests;
    totals.failed += summary.numFailedTests;
    totals.skipped += summary.numPendingTests;
  } catch {
    totals.failed += 1; // jest could not even report: count the run as a failure
  }
}

/** The newman collection against the started stack (scripts/stack/newman.ts); its assertions count in the summary. */
async function newman(gatewayUrl: string, env: NodeJS.ProcessEnv, logDir: string) {
  const t0 = Date.now();
  console.log('\n[test] newman (postman/devicesaga.postman_collection.json)…');
  let result;
  try {
    result = await newmanStep(gatewayUrl, testInstance, env, logDir, mkdtempSync(path.join(os.tmpdir(), 'newman-')));
  } catch (err) {
    console.error(`[test] newman could not run: ${err instanceof Error ? err.message : String(err)}`);
    result = { ok: false, passed: 0, failed: 1 };
  }
  totals.passed += result.passed;
  totals.failed += result.failed;
  if (result.skipped) totals.skipped += result.skipped.requests;
  steps.push(`${result.ok ? 'ok  ' : 'FAIL'} newman: ${result.passed} assertions passed, ${result.failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (result.skipped) steps.push(`skip newman: ${result.skipped.requests} requests not run — ${result.skipped.why}`);
  if (!result.ok) ok = false;
}

/** The error and fatal lines of each service log, so a CI run that cannot start the stack says why. */
function printErrorLines(logDir: string) {
  if (!existsSync(logDir)) return;
  for (const file of readdirSync(logDir)) {
    const lines = readFileSync(path.join(logDir, file), 'utf8')
      .split('\n')
      .filter((l) => /"level":(50|60)|Error|error:/.test(l))
      .slice(-5);
    for (const line of lines) console.error(`[test]   ${file}: ${line.slice(0, 1500)}`);
  }
}

async function main() {
  const extra = process.argv.slice(2);
  const bin = (name: string) => path.join(root, 'node_modules/.bin', name);
  step('typecheck (tsc strict)', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']);
  step('typecheck the dashboard (tsc strict, DOM, JSX)', bin('tsc'), ['-p', 'dashboard/tsconfig.json', '--noEmit']);
  step('lint (eslint, type-aware)', bin('eslint'), ['.', '--max-warnings=0']);
  const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', NODE_ENV: 'test' };
  jest('unit', env, extra);

  console.log('\n[test] starting the stack for the e2e tests…');
  const logDir = path.join(root, '.run/test-logs');
  let stack;
  try {
    // a short lock timeout: the DLQ e2e test holds a sensor's row and waits for the command to be dead-lettered;
    // every e2e test registers its users from this one IP: the gateway's per-IP login/register limit (10/min) is for the world
    const stackEnv = { ...env, DATABASE_LOCK_TIMEOUT_MS: '3000', RATE_LIMIT_AUTH_IP_PER_MIN: process.env.RATE_LIMIT_AUTH_IP_PER_MIN ?? '1000' };
    stack = await startStack({ env: stackEnv, logDir, instance: testInstance, onProgress: (line) => console.log(`[test]   ${line}`) });
  } catch (err) {
    console.error(`[test] the stack did not start: ${err instanceof Error ? err.message : String(err)}`);
    printErrorLines(logDir);
    steps.push('FAIL start the stack');
    ok = false;
    totals.failed += 1;
  }
  if (stack) {
    try {
      await ensureOperator(stack.gatewayUrl, testInstance, env, e2eOperator);
      jest(
        'e2e',
        {
          ...env,
          GATEWAY_URL: stack.gatewayUrl,
          TOPIC_PREFIX: `${testInstance.name}.`,
          E2E_INSTANCE: testInstance.name,
          E2E_LOG_DIR: logDir,
          E2E_OPERATOR_LOGIN: e2eOperator.username,
          E2E_OPERATOR_PASSWORD: e2eOperator.password,
        },
        extra,
      );
      await newman(stack.gatewayUrl, env, logDir);
    } finally {
      await stack.stop();
    }
  }

  console.log('\n[test] summary');
  for (const line of steps) console.log(`  ${line}`);
  console.log(`${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
  process.exit(ok && totals.failed === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
