/**
 * Where a command's time goes: runs the saga stack instance `sagabench`, sends commands (first one at a time, then an
 * open-loop phase), and splits each command's life into the hops between the timestamps the services record:
 *
 *   POST → command row (command-service tx)           client clock vs created_at
 *   command row → saga row (device-service tx)        command.value_set: outbox relay, Kafka, device-service consumer
 *   saga row → pending row (adapter tx)               dm.value_set_approved: relay, Kafka, adapter consumer
 *   pending row → closed (adapter tx)                 MQTT publish, device reply, reply transaction
 *   closed → terminal (command-service tx)            adapter.value_set_sent: relay, Kafka, command-service consumer
 *   closed → saga ended (device-service tx)           same event, device-service consumer (releases the sensor lock)
 *
 * plus each service's event-loop delay (prom-client's nodejs_eventloop_lag_p99_seconds) read during the phase.
 *
 * Run: npx tsx bench/saga/trace.ts   (env TRACE_RATE=100 commands/s, TRACE_SECONDS=10, TRACE_DEVICES=200,
 *                                     TRACE_SEQUENTIAL=20 one-at-a-time commands first,
 *                                     TRACE_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the services)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';
import { services } from '../../scripts/stack/services';
import { databaseOf, portOf } from '../../scripts/stack/instance';
import { runPhase } from './load';
import { sagaBenchInstance as instance, withSagaBench } from './session';
import { summarize } from './stats';

const RATE = Number(process.env.TRACE_RATE ?? 100);
const SECONDS = Number(process.env.TRACE_SECONDS ?? 10);
const DEVICES = Number(process.env.TRACE_DEVICES ?? 200);
const SEQUENTIAL = Number(process.env.TRACE_SEQUENTIAL ?? 20);
const t0 = Date.now();
const log = (s: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${s}`);

function db(name: string): Client {
  const spec = services.find((s) => s.name === name);
  if (!spec) throw new Error(`no service ${name}`);
  return new Client({
    host: process.env.DATABASE_HOST ?? '127.0.0.1',
    port: Number(process.env.DATABASE_PORT ?? 5432),
    user: process.env.DATABASE_USER ?? 'postgres',
    database: databaseOf(spec, instance),
  });
}

interface Times {
  created: number;
  sagaCreated?: number;
  pendingSent?: number;
  pendingClosed?: number;
  sagaEnded?: number;
  terminal?: number;
}

/** Reads every command of `userId` created since `since` and the matching rows of device-service and the adapter. */
async function collect(userId: string, since: Date): Promise<Map<string, Times>> {
  const [command, device, adapter] = [db('command-service'), db('device-service'), db('adapter')];
  await Promise.all([command.connect(), device.connect(), adapter.connect()]);
  try {
    const times = new Map<string, Times>();
    const c = await command.query<{ id: string; created_at: Date; updated_at: Date; status: string }>(
      `SELECT id, created_at, updated_at, status FROM commands WHERE user_id = $1 AND created_at >= $2`,
      [userId, since],
    );
    for (const r of c.rows) {
      times.set(r.id, { created: r.created_at.getTime(), terminal: ['SUCCEEDED', 'REJECTED', 'COMPENSATED'].includes(r.status) ? r.updated_at.getTime() : undefined });
    }
    const ids = [...times.keys()];
    const s = await device.query<{ command_id: string; created_at: Date; ended_at: Date | null }>(
      `SELECT command_id, created_at, ended_at FROM sagas WHERE command_id = ANY($1::uuid[])`,
      [ids],
    );
    for (const r of s.rows) {
      const t = times.get(r.command_id);
      if (t) Object.assign(t, { sagaCreated: r.created_at.getTime(), sagaEnded: r.ended_at?.getTime() });
    }
    const p = await adapter.query<{ command_id: string; sent_at: Date; closed_at: Date | null }>(
      `SELECT command_id, sent_at, closed_at FROM pending_command WHERE command_id = ANY($1::uuid[])`,
      [ids],
    );
    for (const r of p.rows) {
      const t = times.get(r.command_id);
      if (t) Object.assign(t, { pendingSent: r.sent_at.getTime(), pendingClosed: r.closed_at?.getTime() });
    }
    return times;
  } finally {
    await Promise.all([command.end(), device.end(), adapter.end()]);
  }
}

const HOPS: [string, keyof Times, keyof Times][] = [
  ['command row → saga row (device-service)', 'created', 'sagaCreated'],
  ['saga row → pending row (adapter)', 'sagaCreated', 'pendingSent'],
  ['pending → closed (MQTT round trip)', 'pendingSent', 'pendingClosed'],
  ['closed → terminal (command-service)', 'pendingClosed', 'terminal'],
  ['closed → saga ended (device-service)', 'pendingClosed', 'sagaEnded'],
  ['command row → terminal', 'created', 'terminal'],
];

function report(title: string, times: Map<string, Times>): void {
  const rows = HOPS.map(([hop, from, to]) => {
    const d: number[] = [];
    for (const t of times.values()) {
      const a = t[from];
      const b = t[to];
      if (a !== undefined && b !== undefined) d.push(b - a);
    }
    const s = summarize(d);
    return { hop, n: s.count, 'p50 ms': Math.round(s.p50), 'p90 ms': Math.round(s.p90), 'p99 ms': Math.round(s.p99), 'max ms': Math.round(s.max) };
  });
  console.log(`\n${title} (${times.size} commands)`);
  console.table(rows);
}

/** Samples each service's event-loop delay p99 (ms) from its /metrics while `work` runs; returns the worst seen. */
async function sampleEventLoop<T>(work: Promise<T>): Promise<{ result: T; lag: Record<string, number> }> {
  const lag: Record<string, number> = {};
  let done = false;
  const sampling = (async () => {
    while (!done) {
      await Promise.all(
        services.map(async (spec) => {
          const port = portOf(spec, instance);
          try {
            const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
            const m = /^nodejs_eventloop_lag_p99_seconds\{[^}]*\} ([0-9.e+-]+)$/m.exec(text);
            if (m) lag[spec.name] = Math.max(lag[spec.name] ?? 0, Number(m[1]) * 1000);
          } catch {
            /* a service without /metrics on that port: skip */
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  const result = await work;
  done = true;
  await sampling;
  return { result, lag };
}

/** CPU seconds used so far by the processes of each service and of the infrastructure (from /proc, Linux only). */
function cpuByOwner(): Map<string, number> {
  const owners: [string, RegExp][] = [
    ...services.map((s): [string, RegExp] => [s.name, new RegExp(s.entry.replace(/[.]/g, '\\.'))]),
    ['device-simulator', /device-simulator\/src\/main\.ts/],
    ['kafka', /kafka\.Kafka|kafka-server|KafkaRaftServer/],
    ['schema registry', /apicurio|quarkus/i],
    ['postgres', /^(\S*\/)?postgres[: ]/],
    ['mosquitto', /mosquitto/],
    ['redis', /redis-server/],
    ['bench (load)', new RegExp(`bench/saga/trace\\.ts`)],
  ];
  const ticks = 100; // USER_HZ
  const cpu = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const owner = owners.find(([, re]) => re.test(cmd))?.[0];
      if (!owner) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpu.set(owner, (cpu.get(owner) ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticks);
    } catch {
      /* the process ended meanwhile */
    }
  }
  return cpu;
}

function cpuReport(before: Map<string, number>, after: Map<string, number>, seconds: number, what: string, commands = 0): void {
  const rows = [...after].map(([owner, s]) => {
    const used = s - (before.get(owner) ?? 0);
    return { process: owner, 'CPU %': Math.round((used / seconds) * 100), ...(commands ? { 'CPU ms per command': Math.round((used * 1000 * 10) / commands) / 10 } : {}) };
  });
  rows.sort((a, b) => b['CPU %'] - a['CPU %']);
  const total = rows.reduce((sum, r) => sum + r['CPU %'], 0);
  console.log(`CPU, ${what} (${seconds.toFixed(1)} s; 100 % = one core; total ${total} %${commands ? `, ${Math.round((total * seconds * 100) / commands) / 10} ms per command` : ''}):`);
  console.table(rows);
}

async function main() {
  await withSagaBench(
    { devices: DEVICES, log, env: process.env.TRACE_NODE_OPTIONS ? { NODE_OPTIONS: process.env.TRACE_NODE_OPTIONS } : {} },
    async ({ target, subscriber }) => {
      const idleBefore = cpuByOwner();
      await new Promise((r) => setTimeout(r, 5000));
      cpuReport(idleBefore, cpuByOwner(), 5, 'idle (no commands)');

      let since = new Date();
      for (let i = 0; i < SEQUENTIAL; i++) await runPhase(target, subscriber, 1, 1, () => undefined);
      report(`one command at a time`, await collect(target.userId, since));

      since = new Date();
      log(`phase: ${RATE} commands/s for ${SECONDS} s`);
      const cpuBefore = cpuByOwner();
      const phaseStart = Date.now();
      const { result, lag } = await sampleEventLoop(runPhase(target, subscriber, RATE, SECONDS, log));
      cpuReport(cpuBefore, cpuByOwner(), (Date.now() - phaseStart) / 1000, 'over the phase', result.sent);
      const s = summarize(result.latencies);
      report(
        `${RATE}/s for ${SECONDS} s: ${result.terminal}/${result.sent} terminal, ${Math.round(result.completedPerSec)} completed/s, POST→terminal p50 ${Math.round(s.p50)} ms p99 ${Math.round(s.p99)} ms`,
        await collect(target.userId, since),
      );
      console.log('event-loop delay p99, worst sample (ms):', Object.fromEntries(Object.entries(lag).map(([k, v]) => [k, Math.round(v)])));
      console.log(`command: npx tsx bench/saga/trace.ts  (TRACE_RATE=${RATE} TRACE_SECONDS=${SECONDS} TRACE_DEVICES=${DEVICES})`);
    },
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
