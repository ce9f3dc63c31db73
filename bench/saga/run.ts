/**
 * Saga benchmark: commands through the whole stack — gateway → command-service → Kafka → device-service → adapter →
 * MQTT → simulated device → back — measured from the POST to the terminal status command-service publishes.
 * Starts its own stack instance (`sagabench`, ports +3000, own databases and topics) with the simulator farm, so it runs
 * beside `npm start`; then, in the same run, the bus benchmark's bare 4-hop relay for comparison.
 *
 * Run: npx tsx bench/saga/run.ts        (env: SAGA_SECONDS=15, SAGA_RATES=20,40,100,500, SAGA_SENSORS=500 devices,
 *                                        SAGA_SKIP_RELAY=1 to skip the bare relay)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startStack } from '../../scripts/stack/stack';
import { root } from '../../scripts/stack/processes';
import { runPhase, type PhaseResult, type Target } from './load';
import { prepareTarget, removeTarget } from './target';
import { summarize } from './stats';
import { writeSagaCharts } from './charts';

const SECONDS = Number(process.env.SAGA_SECONDS ?? 15);
const RATES = (process.env.SAGA_RATES ?? '20,40,100,500').split(',').map(Number);
const SENSORS = Number(process.env.SAGA_SENSORS ?? 500);
const t0 = Date.now();
const log = (s: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${s}`);

function row(r: PhaseResult) {
  const s = summarize(r.latencies);
  return {
    'offered/s': r.offeredPerSec,
    sent: r.sent,
    accepted: r.accepted,
    terminal: r.terminal,
    succeeded: r.succeeded,
    errors: r.errors,
    'completed/s': Math.round(r.completedPerSec),
    'p50 ms': Math.round(s.p50 * 10) / 10,
    'p90 ms': Math.round(s.p90 * 10) / 10,
    'p99 ms': Math.round(s.p99 * 10) / 10,
    'max ms': Math.round(s.max),
  };
}

async function main() {
  log(`saga benchmark on ${cpus().length} cores, KAFKA_CLIENT=${process.env.KAFKA_CLIENT ?? 'platformatic (default)'}`);
  const stack = await startStack({
    // not +2000: fetch refuses port 10080 (on the Fetch standard's list of bad ports)
    instance: { name: 'sagabench', portOffset: 3000 },
    env: { LOG_LEVEL: 'warn', RATE_LIMIT_USER_PER_SEC: '1000000' },
    logDir: path.join(root, '.run/bench-logs'),
    withSimulatorFarm: true,
    simulatorArgs: ['--telemetry-ms', '0'],
    onProgress: (line) => log(line),
  });
  const subscriber = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  let target: Target | undefined;
  const results: ReturnType<typeof row>[] = [];
  try {
    target = await prepareTarget(stack.gatewayUrl, SENSORS);
    // Warm-up: one command to every device (each comes online at the simulator and the adapter on its first command,
    // which must not be measured), then JIT and pools are warm too.
    log(`${target.sensors.length} devices with a temperature sensor each; warming up (one command per device at 50/s)`);
    await runPhase(target, subscriber, 50, target.sensors.length / 50, log);
    for (const rate of RATES) {
      log(`phase: ${rate} commands/s for ${SECONDS} s`);
      const r = await runPhase(target, subscriber, rate, SECONDS, log);
      results.push(row(r));
      log(`  → ${JSON.stringify(row(r))}`);
    }
  } finally {
    // the bench's devices go, with their MQTT clients and retained statuses (a long-lived broker would keep them)
    if (target) await removeTarget(target).catch((err: unknown) => console.error(`removing the benchmark devices failed: ${String(err)}`));
    subscriber.disconnect();
    await stack.stop();
  }

  let relay = '(skipped)';
  if (!process.env.SAGA_SKIP_RELAY) {
    log('bare 4-hop Kafka relay (bench/bus, same run) for comparison…');
    const adapter = process.env.KAFKA_CLIENT ?? 'platformatic';
    const out = spawnSync(path.join(root, 'node_modules/.bin/tsx'), ['bench/bus/run.ts'], {
      cwd: root,
      env: { ...process.env, BENCH_ONLY: 'bare', BENCH_ADAPTERS: adapter, BENCH_SECONDS: '5', BENCH_SKIP_PERF: '1' },
      encoding: 'utf8',
      timeout: 300_000,
    });
    relay = `${out.stdout}`.split('\n').filter((l) => /bare|hop|msg\/s|p50|\|/.test(l)).join('\n') || `bus bench exited ${out.status}: ${out.stderr.slice(-500)}`;
  }

  console.log('\nSaga: POST /api/v1/commands → terminal status (SUCCEEDED/REJECTED/COMPENSATED), whole stack on this machine');
  console.table(results);
  console.log('\nBare relay (bench/bus), same run:\n' + relay);
  console.log(`\nmachine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('command: npx tsx bench/saga/run.ts' + (process.env.SAGA_RATES ? `  (SAGA_RATES=${process.env.SAGA_RATES})` : ''));
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(root, `bench/results/saga-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), seconds: SECONDS, sensors: SENSORS, results, relay }, null, 2));
  log(`results written to ${path.relative(root, file)}`);
  for (const out of writeSagaCharts(results)) log(`chart written to ${path.relative(root, out)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
