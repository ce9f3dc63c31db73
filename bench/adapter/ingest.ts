/**
 * The adapter's telemetry ingest: N MQTT clients publish readings (one per message, QoS 1) and the adapter forwards
 * them to Kafka (`adapter.measure_received`, acks=all), PUBACKing each only once Kafka has it. Beside it, in the same
 * run, raw Mosquitto QoS 1 throughput (the same publishers, a plain subscriber that acknowledges at once).
 *
 *   npx tsx bench/adapter/ingest.ts
 *   env INGEST_SECONDS (10), INGEST_RATES (5000,10000,20000,max), INGEST_CLIENTS (8), INGEST_DEVICES (1000),
 *       INGEST_WINDOW (readings in flight per client, 500), INGEST_REPLIES (20000)
 *
 * Also device replies through the adapter: INGEST_REPLIES pending commands (inserted into the bench adapter's table),
 * all answered at once by the clients; replies/s until every command is closed, and transactions used.
 *
 * Runs its own adapter (compiled, stack instance `ingestbench`: own database, Kafka topics, MQTT session) with device
 * topics under `ingestbench/devices`, so no other stack on the broker sees the load; needs `npm run infra:up`.
 * CPU per reading per process from /proc (adapter, Mosquitto, Kafka, this load generator), and
 * /work/shared/tools/cpu-account over the fastest adapter phase for the whole machine.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Client } from 'pg';
import { createKafkaClient, createLogger } from '@devicesaga/platform';
import { buildAll } from '../../scripts/build';
import { serviceEnv, type Instance } from '../../scripts/stack/instance';
import { root, spawnService, stopProcess, waitReady } from '../../scripts/stack/processes';
import { services } from '../../scripts/stack/services';
import { mqttEnv } from '../../device-simulator/test/support';

const SECONDS = Number(process.env.INGEST_SECONDS ?? 10);
const RATES = (process.env.INGEST_RATES ?? '5000,10000,20000,max').split(',').map((r) => (r.trim() === 'max' ? Infinity : Number(r)));
const CLIENTS = Number(process.env.INGEST_CLIENTS ?? 8);
const DEVICES = Number(process.env.INGEST_DEVICES ?? 1000);
const WINDOW = Number(process.env.INGEST_WINDOW ?? 500);
const REPLIES = Number(process.env.INGEST_REPLIES ?? 20000);
const instance: Instance = { name: 'ingestbench', portOffset: 3100 };
const topicRoot = 'ingestbench/devices';
const env = mqttEnv();
const HZ = 100;

/* ------------------------------------------------------------ CPU from /proc ------------------------------------------------------------ */

function ticksOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function pidsWhere(test: (cmd: string) => boolean): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (test(readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' '))) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** CPU seconds per process of each group (a process gone by the second snapshot is left out of the delta). */
type CpuSnapshot = Map<string, Map<number, number>>;
function cpuSnapshot(groups: Record<string, number[]>): CpuSnapshot {
  const s: CpuSnapshot = new Map();
  for (const [name, pids] of Object.entries(groups)) s.set(name, new Map(pids.map((p) => [p, ticksOf(p) / HZ])));
  const self = process.cpuUsage();
  s.set('load generator (this process)', new Map([[process.pid, (self.user + self.system) / 1e6]]));
  return s;
}
function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, after] of b) {
    if (after.size === 0) {
      out.set(name, NaN);
      continue;
    }
    let used = 0;
    for (const [pid, t] of after) {
      const before = a.get(name)?.get(pid);
      if (before !== undefined && t >= before) used += t - before;
    }
    out.set(name, used);
  }
  return out;
}

/* ------------------------------------------------------------ publishers ------------------------------------------------------------ */

interface Load {
  published: number; // PUBACKed by the broker
  sent: number;
}

async function publishers(): Promise<{ clients: MqttClient[]; run(rate: number, seconds: number, load: Load): Promise<void>; end(): Promise<void> }> {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, (_, i) =>
      mqtt.connectAsync(env.url, { username: env.simulatorUsername, password: env.simulatorPassword, clientId: `ingestbench-pub-${i}`, clean: true, protocolVersion: 4 }),
    ),
  );
  for (const c of clients) (c.stream as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
  const payload = (n: number) => `{"ts":${Date.now()},"values":{"temperature":${(20 + (n % 100) / 10).toFixed(1)}}}`;
  return {
    clients,
    async run(rate, seconds, load) {
      const end = Date.now() + seconds * 1000;
      const start = Date.now();
      await Promise.all(
        clients.map(async (c, ci) => {
          let inFlight = 0;
          let sentHere = 0;
          const perClient = rate / CLIENTS;
          let n = 0;
          let wake: (() => void) | undefined;
          const onAck = () => {
            inFlight--;
            load.published++;
            wake?.();
          };
          while (Date.now() < end) {
            const due = rate === Infinity ? Infinity : Math.floor(((Date.now() - start) / 1000) * perClient) - sentHere;
            let k = 0;
            while (inFlight < WINDOW && k < due && k < 200) {
              const device = (ci + CLIENTS * (n++ % Math.ceil(DEVICES / CLIENTS))) % DEVICES;
              inFlight++;
              sentHere++;
              load.sent++;
              k++;
              c.publish(`${topicRoot}/bench-${device}/telemetry`, payload(n), { qos: 1 }, onAck);
            }
            if (inFlight >= WINDOW) await new Promise<void>((r) => (wake = r));
            else await new Promise((r) => setTimeout(r, k >= 200 ? 0 : 5));
            wake = undefined;
          }
          while (inFlight > 0) await new Promise<void>((r) => (wake = r));
        }),
      );
    },
    end: async () => {
      await Promise.all(clients.map((c) => c.endAsync()));
    },
  };
}

/* ------------------------------------------------------------ phases ------------------------------------------------------------ */

interface Row {
  phase: string;
  offered: string;
  'published/s': number;
  'through/s': number;
  'lag at end': number;
  cpu: Record<string, number>;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

function cpuAccount(seconds: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('/work/shared/tools/cpu-account', ['--seconds', String(seconds)], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => resolve(out));
    child.on('error', () => resolve('(cpu-account not available)'));
  });
}

const perReading = (cpu: Map<string, number>, units: number) =>
  Object.fromEntries([...cpu].map(([k, v]) => [k, units > 0 ? Math.round((v * 1e6) / units) / 1000 : NaN])); // ms per reading, 3 decimals

async function main() {
  const log = (line: string) => console.log(`[ingest] ${line}`);
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  log(`building (the adapter runs compiled)…`);
  await buildAll(() => undefined);
  const mosquitto = Number(readFileSync(path.join(root, 'infra/.run/mosquitto/mosquitto.pid'), 'utf8').trim());
  const kafka = pidsWhere((c) => c.includes('java') && c.includes('kafka.Kafka'));
  const pub = await publishers();
  const rows: Row[] = [];

  // 1. raw Mosquitto QoS 1: the same publishers, one subscriber that acknowledges each message at once
  {
    const sub = await mqtt.connectAsync(env.url, { username: env.adapterUsername, password: env.adapterPassword, clientId: 'ingestbench-raw-sub', clean: true, protocolVersion: 5, properties: { receiveMaximum: 65535 } });
    (sub.stream as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    let received = 0;
    sub.on('message', () => received++);
    await sub.subscribeAsync(`${topicRoot}/+/telemetry`, { qos: 1 });
    await pub.run(2000, 1, { published: 0, sent: 0 }); // warm-up
    const load: Load = { published: 0, sent: 0 };
    const r0 = received;
    const c0 = cpuSnapshot({ adapter: [], mosquitto: [mosquitto], kafka });
    const t0 = Date.now();
    await pub.run(Infinity, SECONDS, load);
    const secs = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    const through = received - r0;
    rows.push({ phase: 'raw Mosquitto QoS 1', offered: 'max', 'published/s': Math.round(load.published / secs), 'through/s': Math.round(through / secs), 'lag at end': load.published - through, cpu: perReading(cpuDelta(c0, cpuSnapshot({ adapter: [], mosquitto: [mosquitto], kafka })), through) });
    log(`raw Mosquitto: ${Math.round(through / secs)} messages/s published and delivered`);
    await sub.endAsync();
  }

  // 2. the adapter
  const spec = services.find((s) => s.name === 'adapter')!;
  const port = spec.port! + instance.portOffset;
  const adapter = spawnService(
    spec,
    { ...process.env, ...serviceEnv(spec, services, instance), MQTT_TOPIC_ROOT: topicRoot, MQTT_ADAPTER_PASSWORD: env.adapterPassword, LOG_LEVEL: 'warn' },
    path.join(root, '.run/logs/ingestbench'),
    [],
    port,
  );
  let machine = '';
  try {
    await waitReady(adapter);
    log(`adapter ready on :${port} (pid ${adapter.child.pid})`);
    await pub.run(2000, 2, { published: 0, sent: 0 }); // warm-up: topics, producer, JIT
    await new Promise((r) => setTimeout(r, 1000));
    // device replies: REPLIES pending commands, all answered as fast as the clients can publish
    {
      const db = new Client({ host: process.env.DATABASE_HOST ?? '127.0.0.1', user: process.env.DATABASE_USER ?? 'postgres', password: process.env.DATABASE_PASSWORD ?? '', database: `ds_adapter_${instance.name}` });
      await db.connect();
      const open = (
        await db.query<{ command_id: string; device_id: string }>(
          `INSERT INTO pending_command (command_id, device_id, sensor_id, user_id, parameter, action, value, expires_at, sent_at, reply_deadline, state)
           SELECT gen_random_uuid(), 'bench-' || (i % ${DEVICES}), 's', 'u', 'temperature', 'set', 21.5, now() + interval '10 min', now(), now() + interval '10 min', 'PENDING'
           FROM generate_series(1, $1::int) i RETURNING command_id, device_id`,
          [REPLIES],
        )
      ).rows;
      await db.end();
      const closed0 = await metric(port, 'adapter_replies_closed_total');
      const groups = { adapter: [adapter.child.pid!], mosquitto: [mosquitto], kafka, postgresql: pidsWhere((c) => c.startsWith('postgres')) };
      const c0 = cpuSnapshot(groups);
      const t0 = Date.now();
      let next = 0;
      await Promise.all(
        pub.clients.map(async (c) => {
          let inFlight = 0;
          let wake: (() => void) | undefined;
          while (next < open.length) {
            while (inFlight < WINDOW && next < open.length) {
              const r = open[next++]!;
              inFlight++;
              c.publish(`${topicRoot}/${r.device_id}/replies`, `{"commandId":"${r.command_id}","status":"accepted","value":21.5}`, { qos: 1 }, () => {
                inFlight--;
                wake?.();
              });
            }
            await new Promise<void>((r) => (wake = r));
          }
        }),
      );
      let closed = closed0;
      while (closed - closed0 < open.length && Date.now() - t0 < 120_000) {
        await new Promise((r) => setTimeout(r, 50));
        closed = await metric(port, 'adapter_replies_closed_total');
      }
      const secs = (Date.now() - t0) / 1000;
      const c1 = cpuSnapshot(groups);
      const batchesText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const txs = Number(/^adapter_reply_batches_total(?:\{[^}]*\})? (\d+)/m.exec(batchesText)?.[1]);
      rows.push({ phase: `device replies (${open.length} commands closed)`, offered: 'max', 'published/s': Math.round(open.length / secs), 'through/s': Math.round((closed - closed0) / secs), 'lag at end': open.length - (closed - closed0), cpu: perReading(cpuDelta(c0, c1), closed - closed0) });
      log(`replies: ${closed - closed0} commands closed in ${secs.toFixed(1)} s = ${Math.round((closed - closed0) / secs)} replies/s, in ${txs} transactions (${((closed - closed0) / txs).toFixed(0)} per transaction)`);
    }
    let best = 0;
    for (const rate of RATES) {
      const load: Load = { published: 0, sent: 0 };
      const a0 = await metric(port, 'adapter_telemetry_acked_total');
      const groups = { adapter: [adapter.child.pid!], mosquitto: [mosquitto], kafka };
      const c0 = cpuSnapshot(groups);
      const t0 = Date.now();
      const account = rate === Infinity ? cpuAccount(SECONDS) : undefined;
      await pub.run(rate, SECONDS, load);
      const secs = (Date.now() - t0) / 1000;
      const a1 = await metric(port, 'adapter_telemetry_acked_total');
      const c1 = cpuSnapshot(groups);
      const through = a1 - a0;
      if (account) machine = await account;
      // what was still on its way to Kafka when the publishers stopped
      let drained = a1;
      for (let i = 0; i < 100 && drained - a0 < load.published; i++) {
        await new Promise((r) => setTimeout(r, 100));
        drained = await metric(port, 'adapter_telemetry_acked_total');
      }
      rows.push({
        phase: 'through the adapter',
        offered: rate === Infinity ? 'max' : String(rate),
        'published/s': Math.round(load.published / secs),
        'through/s': Math.round(through / secs),
        'lag at end': load.published - through,
        cpu: perReading(cpuDelta(c0, c1), through),
      });
      best = Math.max(best, through / secs);
      log(`offered ${rate === Infinity ? 'max' : rate}/s: ${Math.round(through / secs)} readings/s into Kafka (${load.published - through} behind at the end, ${load.published - (drained - a0)} after 10 s)`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const batches = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const sum = Number(/^adapter_telemetry_batch_size_sum(?:\{[^}]*\})? (\d+)/m.exec(batches)?.[1]);
    const count = Number(/^adapter_telemetry_batch_size_count(?:\{[^}]*\})? (\d+)/m.exec(batches)?.[1]);
    log(`mean readings per Kafka publish: ${(sum / count).toFixed(0)}; best ${Math.round(best)} readings/s`);
  } finally {
    await stopProcess(adapter);
    await pub.end();
    const kafkaClient = createKafkaClient('platformatic', { clientId: 'ingestbench', brokers: ['127.0.0.1:9092'], logger: createLogger('ingestbench', 'warn') });
    await kafkaClient.deleteTopics([`${instance.name}.adapter.measure_received`]).catch(() => undefined);
    await kafkaClient.close();
  }

  const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`\nAdapter telemetry ingest — ${CLIENTS} MQTT clients, ${DEVICES} devices, one reading per message, QoS 1, ${SECONDS} s per phase, window ${WINDOW} per client; load average ${load0} → ${load1}`);
  console.log('\n| phase | offered/s | published/s | through/s | lag at end | CPU ms per message, by process |');
  console.log('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const r of rows) {
    const cpu = Object.entries(r.cpu).map(([k, v]) => `${k.split(' ')[0]} ${Number.isNaN(v) ? '–' : v.toFixed(3)}`).join(', ');
    console.log(`| ${r.phase} | ${r.offered} | ${r['published/s']} | ${r['through/s']} | ${r['lag at end']} | ${cpu} |`);
  }
  console.log(`\ncpu-account over the 'max' phase (whole machine, ${SECONDS} s):\n${machine}`);
  console.log(`command: INGEST_SECONDS=${SECONDS} INGEST_RATES=${process.env.INGEST_RATES ?? '5000,10000,20000,max'} INGEST_CLIENTS=${CLIENTS} INGEST_DEVICES=${DEVICES} INGEST_WINDOW=${WINDOW} INGEST_REPLIES=${REPLIES} npx tsx bench/adapter/ingest.ts`);
  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  const file = path.join(root, `bench/results/adapter-ingest-${new Date().toISOString().slice(0, 19).replace(/[:]/g, '')}.json`);
  writeFileSync(file, JSON.stringify({ seconds: SECONDS, clients: CLIENTS, devices: DEVICES, window: WINDOW, loadavg: [load0, load1], rows, machine }, null, 2));
  console.log(`results: ${path.relative(root, file)}`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
