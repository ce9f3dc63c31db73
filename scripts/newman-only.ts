/**
 * `npm run test:newman`: only the newman collection, against a stack started for it (the instance of TEST_INSTANCE /
 * TEST_PORT_OFFSET, default test/+1000), then stopped. `npm test` runs the same step after the e2e project.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { newmanStep } from './stack/newman';
import { root } from './stack/processes';
import { startStack } from './stack/stack';

async function main() {
  const instance = { name: process.env.TEST_INSTANCE ?? 'test', portOffset: Number(process.env.TEST_PORT_OFFSET ?? 1000) };
  const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', NODE_ENV: 'test' };
  const logDir = path.join(root, '.run/test-logs');
  const stack = await startStack({ env, logDir, instance, onProgress: (line) => console.log(`[newman]   ${line}`) });
  try {
    const result = await newmanStep(stack.gatewayUrl, instance, env, logDir, mkdtempSync(path.join(os.tmpdir(), 'newman-')));
    if (result.skipped) console.log(`[newman] not run: ${result.skipped.requests} requests — ${result.skipped.why}`);
    console.log(`${result.passed} passed, ${result.failed} failed${result.skipped ? `, ${result.skipped.requests} skipped` : ''}`);
    process.exitCode = result.ok ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
