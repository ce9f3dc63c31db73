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
import { root } from '../../scripts/stack/processes';
import { runPhase, type PhaseResult } from './load';
import { withSagaBench } from './session';
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
  const results = await withSagaBench({ devices: SENSORS, log }, async ({ target, subscriber }) => {
    const rows: ReturnType<typeof row>[] = [];
    for (const rate of RATES) {
      log(`phase: ${rate} commands/s for ${SECONDS} s`);
      const r = row(await runPhase(target, subscriber, rate, SECONDS, log));
      rows.push(r);
      log(`  → ${JSON.stringify(r)}`);
    }
    return rows;
  });

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
