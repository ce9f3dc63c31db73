/**
 * Bus benchmark: a chain of 4 hops, each its own process, for each client adapter, as
 *   bare — consume → produce with the raw client (no database), and
 *   full — idempotent consumer + handler + outbox in one PostgreSQL transaction + relay (own database per hop).
 * Per configuration: per-hop latency p50/p99 at a fixed offered rate (1,000 msg/s), then max throughput through the
 * chain (input topic pre-filled, rate measured at the sink from first to last arrival). Then Kafka's own
 * ProducerPerformance as the ceiling. Run: npx tsx bench/bus/run.ts   (env: BENCH_SECONDS, BENCH_ONLY=bare|full,
 * BENCH_ADAPTERS=kafkajs,platformatic, BENCH_RATE=1000, BENCH_PROFILE_HOP=2)
 */
import { fork, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { createBus, createKafkaClient, type RawMessage } from '../../packages/platform/src/bus';
import { brokers, logger, now, percentile, registryUrl, pgBase, TOPIC, type Adapter, type HopConfig, type Mode } from './common';
import type { PayloadOf } from '@devicesaga/contracts';

const HOPS = 4;
const RATE = Number(process.env.BENCH_RATE ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP = 300;
const MAX_N: Record<Mode, number> = { bare: Number(process.env.BENCH_BARE_N ?? 60_000), full: Number(process.env.BENCH_FULL_N ?? 20_000) };
const runId = randomUUID().slice(0, 8);
const started = Date.now();
const log = (s: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${s}`);

function payload(i: number, t0: number | null): PayloadOf<typeof TOPIC> {
  return {
    notificationId: `n-${i}`,
    userId: `user-${i % 64}`,
    seq: i,
    eventType: 'bench',
    title: 'benchmark',
    description: 'a message travelling through the chain',
    payload: t0 === null ? {} : { t: [t0] },
    createdAt: new Date().toISOString(),
  };
}

const children = new Set<import('node:child_process').ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function startChain(mode: Mode, adapter: Adapter, tag: string) {
  const prefix = (i: number) => `bench.${runId}.${tag}.h${i}.`;
  const procs = Array.from({ length: HOPS }, (_, k) => {
    const cfg: HopConfig = {
      mode,
      adapter,
      index: k + 1,
      inTopicPrefix: prefix(k + 1),
      outTopicPrefix: prefix(k + 2),
      brokers,
      registryUrl,
      pgUrl: pgBase,
      groupId: `bench-${runId}-${tag}-h${k + 1}`,
    };
    return fork(join(__dirname, 'hop.ts'), [], {
      execPath: process.execPath,
      // BENCH_PROFILE_HOP=<n>: V8 CPU profile of hop n into bench/bus/results/prof/ (open in Chrome DevTools)
      execArgv: ['--import', 'tsx', ...(process.env.BENCH_PROFILE_HOP === String(k + 1) ? ['--cpu-prof', `--cpu-prof-dir=${join(__dirname, 'results', 'prof')}`] : [])],
      env: { ...process.env, BENCH_HOP: JSON.stringify(cfg) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  });
  for (const p of procs) children.add(p);
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve, reject) => {
          p.once('message', () => resolve());
          p.once('exit', (code) => reject(new Error(`hop exited with ${code}`)));
        }),
    ),
  );
  return {
    input: `${prefix(1)}${TOPIC}`,
    output: `${prefix(HOPS + 1)}${TOPIC}`,
    inputPrefix: prefix(1),
    async stop() {
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((resolve) => {
              if (p.exitCode !== null) return resolve();
              const kill = setTimeout(() => p.kill('SIGKILL'), 15_000);
              p.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              p.send('stop');
            }),
        ),
      );
    },
  };
}

/** A raw consumer at the end of the chain. */
async function sink(adapter: Adapter, topic: string, onMessage: (m: RawMessage, at: number) => void) {
  const client = createKafkaClient(adapter, { clientId: 'bench-sink', brokers, logger });
  await client.ensureTopics([{ name: topic, partitions: 3 }]);
  const consumer = await client.consumer({ groupId: `bench-sink-${randomUUID()}`, topics: [topic], fromBeginning: true });
  await consumer.run((batch) => {
    const at = now();
    for (const m of batch.messages) onMessage(m, at);
    return Promise.resolve();
  });
  return async () => {
    await consumer.stop();
    await client.close();
  };
}

async function waitUntil(cond: () => boolean, timeoutMs: number, progress?: () => string) {
  const until = Date.now() + timeoutMs;
  let lastLog = Date.now();
  while (!cond()) {
    if (Date.now() > until) return false;
    if (progress && Date.now() - lastLog > 5_000) {
      log(progress());
      lastLog = Date.now();
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function timestampsOf(mode: Mode, m: RawMessage): number[] {
  const env = JSON.parse(m.value!.subarray(5).toString('utf8')) as { payload: { payload: { t?: number[] } } };
  const t = env.payload.payload.t ?? [];
  if (mode === 'full') return t;
  return [t[0]!, ...Array.from({ length: HOPS }, (_, i) => Number(m.headers[`x-t${i + 1}`]))];
}

interface Result {
  mode: Mode;
  adapter: Adapter;
  offered: number;
  achieved: number;
  hopP50: number;
  hopP99: number;
  perHopP50: number[];
  e2eP50: number;
  e2eP99: number;
  maxRate: number;
  maxN: number;
  lost: number;
}

async function latencyPhase(mode: Mode, adapter: Adapter) {
  const chain = await startChain(mode, adapter, `${mode}-${adapter}-lat`);
  const hopSamples: number[][] = Array.from({ length: HOPS }, () => []);
  const e2e: number[] = [];
  let received = 0;
  const stopSink = await sink(adapter, chain.output, (m, at) => {
    received++;
    const t = timestampsOf(mode, m);
    const seq = (JSON.parse(m.value!.subarray(5).toString('utf8')) as { payload: { seq: number } }).payload.seq;
    if (seq < WARMUP) return;
    const all = [...t, at];
    for (let i = 1; i <= HOPS; i++) hopSamples[i - 1]!.push(all[i + 1]! - all[i]!);
    e2e.push(at - all[0]!);
  });
  const bus = createBus({ serviceName: 'bench-source', client: adapter, brokers, registryUrl, logger, topicPrefix: chain.inputPrefix, metrics: false });
  // warm-up: the chain's groups join and a few messages flow before measuring
  await bus.publish(Array.from({ length: WARMUP }, (_, i) => ({ topic: TOPIC, key: `user-${i % 64}`, payload: payload(i, now()), correlationId: 'bench' })));
  await waitUntil(() => received >= WARMUP, 90_000, () => `  warm-up: ${received}/${WARMUP}`);
  const total = RATE * SECONDS;
  const t0 = Date.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * RATE));
    if (due > sent) {
      const batch = Array.from({ length: due - sent }, (_, k) => {
        const i = WARMUP + sent + k;
        return { topic: TOPIC, key: `user-${i % 64}`, payload: payload(i, now()), correlationId: 'bench' };
      });
      sent = due;
      await bus.publish(batch);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const achieved = total / ((Date.now() - t0) / 1000);
  await waitUntil(() => received >= WARMUP + total, 60_000, () => `  ${received - WARMUP}/${total} through the chain`);
  const lost = WARMUP + total - received;
  await stopSink();
  await bus.stop();
  await chain.stop();
  const sorted = hopSamples.map((s) => [...s].sort((a, b) => a - b));
  const allHops = sorted.flat().sort((a, b) => a - b);
  const e2eSorted = e2e.sort((a, b) => a - b);
  return {
    achieved,
    hopP50: percentile(allHops, 50),
    hopP99: percentile(allHops, 99),
    perHopP50: sorted.map((s) => percentile(s, 50)),
    e2eP50: percentile(e2eSorted, 50),
    e2eP99: percentile(e2eSorted, 99),
    lost: Math.max(0, lost),
  };
}

async function throughputPhase(mode: Mode, adapter: Adapter) {
  const n = MAX_N[mode];
  const tag = `${mode}-${adapter}-max`;
  const inputPrefix = `bench.${runId}.${tag}.h1.`;
  const bus = createBus({ serviceName: 'bench-source', client: adapter, brokers, registryUrl, logger, topicPrefix: inputPrefix, metrics: false });
  for (let i = 0; i < n; i += 1000) {
    await bus.publish(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ topic: TOPIC, key: `user-${(i + k) % 64}`, payload: payload(i + k, null), correlationId: 'bench' })));
  }
  await bus.stop();
  let received = 0;
  let first = 0;
  let last = 0;
  const output = `bench.${runId}.${tag}.h${HOPS + 1}.${TOPIC}`;
  const stopSink = await sink(adapter, output, (_m, at) => {
    if (received === 0) first = at;
    received++;
    last = at;
  });
  const chain = await startChain(mode, adapter, tag);
  await waitUntil(() => received >= n, 180_000, () => `  ${received}/${n} through the chain`);
  await stopSink();
  await chain.stop();
  return { maxRate: received > 1 ? (received - 1) / ((last - first) / 1000) : 0, maxN: n };
}

function producerPerformance(): string {
  const topic = `bench.${runId}.perf`;
  const r = spawnSync(
    'java',
    ['-cp', 'infra/.cache/kafka-libs/*', 'org.apache.kafka.tools.ProducerPerformance', '--topic', topic, '--num-records', '200000', '--record-size', '200', '--throughput', '-1', '--producer-props', `bootstrap.servers=${brokers[0]}`, 'acks=all'],
    { cwd: join(__dirname, '../..'), encoding: 'utf8', timeout: 120_000 },
  );
  const lines = `${r.stdout ?? ''}`.trim().split('\n');
  return lines[lines.length - 1] ?? `failed: ${r.stderr}`;
}

async function main() {
  const modes = (process.env.BENCH_ONLY ? [process.env.BENCH_ONLY] : ['bare', 'full']) as Mode[];
  const adapters = (process.env.BENCH_ADAPTERS ?? 'kafkajs,platformatic').split(',') as Adapter[];
  log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')} on ${cpus().length} CPUs (figures are only meaningful on a quiet machine)`);
  log(`run ${runId}: ${HOPS} hops, ${RATE} msg/s for ${SECONDS}s, then max throughput (${modes.join(', ')} × ${adapters.join(', ')})`);
  const results: Result[] = [];
  for (const mode of modes) {
    for (const adapter of adapters) {
      log(`${mode} / ${adapter}: latency at ${RATE} msg/s`);
      const lat = await latencyPhase(mode, adapter);
      log(`${mode} / ${adapter}: hop p50 ${lat.hopP50.toFixed(2)} ms, p99 ${lat.hopP99.toFixed(2)} ms; max throughput with ${MAX_N[mode]} messages`);
      const max = await throughputPhase(mode, adapter);
      log(`${mode} / ${adapter}: ${max.maxRate.toFixed(0)} msg/s through ${HOPS} hops`);
      results.push({ mode, adapter, offered: RATE, ...lat, ...max });
    }
  }
  log('Kafka ProducerPerformance (200,000 × 200 B, acks=all)');
  const perf = producerPerformance();

  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '-');
  const table = [
    `| chain (${HOPS} hops) | client | max msg/s through the chain | hop p50 @${RATE}/s (ms) | hop p99 (ms) | per-hop p50 (ms) | end-to-end p50 / p99 (ms) | lost |`,
    '| --- | --- | ---: | ---: | ---: | --- | --- | ---: |',
    ...results.map(
      (r) =>
        `| ${r.mode === 'bare' ? 'bare relay' : 'full hop'} | ${r.adapter} | ${r.maxRate.toFixed(0)} | ${f(r.hopP50)} | ${f(r.hopP99)} | ${r.perHopP50.map(f).join(' / ')} | ${f(r.e2eP50)} / ${f(r.e2eP99)} | ${r.lost} |`,
    ),
  ].join('\n');
  const machine = `${cpus().length} CPUs, load average at the end ${loadavg().map((x) => x.toFixed(1)).join(' / ')}`;
  console.log(`\n${table}\n\nKafka ProducerPerformance: ${perf}\nmachine: ${machine}\n`);
  console.log('command: npx tsx bench/bus/run.ts');
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', 'latest.json'), JSON.stringify({ runId, at: new Date().toISOString(), machine, results, producerPerformance: perf }, null, 2));
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
