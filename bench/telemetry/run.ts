/**
 * Telemetry end to end: device-simulator farms (one reading per MQTT message, QoS 1, many devices) → Mosquitto →
 * adapter → Kafka → alarm-service (history stored, alarms evaluated) and device-service (live values), on the
 * `telbench` stack instance. For each offered rate: readings/s stored, consumer lag of both consumers when the load
 * stops, alarm lag (reading's timestamp → `alarm.alarm_created` in Kafka) p50/p99, CPU per reading per process; and,
 * in the same run, Mosquitto's own QoS 1 throughput. Writes bench/results/telemetry-<time>.json and the charts.
 *
 *   npx tsx bench/telemetry/run.ts   (env TEL_RATES=2000,5000,10000,20000  TEL_SECONDS=20  TEL_DEVICES=500
 *                                     TEL_ALARM_DEVICES=20  TEL_CONNECTIONS=4  TEL_RAW_N=50000)
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import mqtt from 'mqtt';
import { createKafkaClient, createLogger } from '@devicesaga/platform';
import { startStack } from '../../scripts/stack/stack';
import { root } from '../../scripts/stack/processes';
import { lineChartSvg } from '../plot';
import { percentile } from '../stats';
import { prepareTarget, removeTarget } from '../saga/target';

const instance = { name: 'telbench', portOffset: 3500 };
const env = (k: string, d: string) => process.env[k] ?? d;
const rates = env('TEL_RATES', '2000,5000,10000,20000').split(',').map(Number);
const seconds = Number(env('TEL_SECONDS', '20'));
const deviceCount = Number(env('TEL_DEVICES', '500'));
const alarmDeviceCount = Number(env('TEL_ALARM_DEVICES', '20'));
const connections = Number(env('TEL_CONNECTIONS', '4'));
const rawN = Number(env('TEL_RAW_N', '50000'));
const mqttUrl = env('MQTT_URL', 'mqtt://127.0.0.1:1884');
const brokers = env('KAFKA_BROKERS', '127.0.0.1:9092').split(',');
const CPU_ACCOUNT = '/work/shared/tools/cpu-account';
const log = (line: string) => console.log(`[telbench] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (source infra/.run/env)`);
  return v;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** CPU seconds per process group over a window, from cpu-account's report. */
function cpuWindow(windowSeconds: number): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(CPU_ACCOUNT, ['--seconds', String(windowSeconds), '--top', '30'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const groups = new Map<string, number>();
      for (const m of out.matchAll(/^\s+(\S.*?)\s+([\d.]+) s\s+[\d.]+% core/gm)) groups.set(m[1]!.trim(), Number(m[2]));
      resolve(groups);
    });
  });
}

/** Mosquitto alone: one QoS 1 publisher and one QoS 1 subscriber on a topic of the bench's own client. */
async function rawMosquitto(n: number): Promise<{ perSec: number; cpu: Map<string, number> }> {
  const admin = ['-h', '127.0.0.1', '-p', '1884', '-u', need('MQTT_ADMIN_USERNAME'), '-P', need('MQTT_ADMIN_PASSWORD'), 'dynsec'];
  const user = 'telbench-raw';
  const password = randomUUID();
  const ctl = (...args: string[]) => {
    try {
      execFileSync('mosquitto_ctrl', [...admin, ...args], { stdio: 'pipe' });
    } catch {
      /* exists already */
    }
  };
  ctl('deleteClient', user);
  ctl('createRole', user);
  ctl('addRoleACL', user, 'publishClientSend', 'telbench/#', 'allow');
  ctl('addRoleACL', user, 'subscribePattern', 'telbench/#', 'allow');
  ctl('createClient', user, '-p', password);
  ctl('addClientRole', user, user);
  const topic = `telbench/raw/${randomUUID().slice(0, 8)}`;
  const sub = await mqtt.connectAsync(mqttUrl, { username: user, password, clientId: `${user}-sub`, clean: true });
  const pub = await mqtt.connectAsync(mqttUrl, { username: user, password, clientId: `${user}-pub`, clean: true });
  for (const c of [sub, pub]) (c.stream as { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
  await sub.subscribeAsync(topic, { qos: 1 });
  let received = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((r) => (done = r));
  sub.on('message', () => {
    if (++received === n) done();
  });
  const payload = JSON.stringify({ ts: new Date().toISOString(), values: { temperature: 21.5 } });
  const cpu = cpuWindow(5);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    pub.publish(topic, payload, { qos: 1 });
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await Promise.race([all, sleep(120_000)]);
  const perSec = received / ((performance.now() - t0) / 1000);
  const usage = await cpu;
  await Promise.all([sub.endAsync(), pub.endAsync()]);
  ctl('deleteClient', user);
  ctl('deleteRole', user);
  return { perSec, cpu: usage };
}

interface Step {
  offered: number;
  sent: number;
  seconds: number;
  storedPerSec: number;
  lagAtEnd: Record<string, number>;
  drainSeconds: Record<string, number>;
  alarms: number;
  alarmLagP50: number;
  alarmLagP99: number;
  cpuMsPerReading: Record<string, number>;
  cpuTotalMsPerReading: number;
}

let interrupted: (() => void) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => interrupted?.());

async function main() {
  const stack = await startStack({
    instance,
    env: { LOG_LEVEL: 'warn', RATE_LIMIT_USER_PER_SEC: '1000000' },
    logDir: path.join(root, '.run/bench-logs'),
    onProgress: log,
  });
  const alarmPort = 8103 + instance.portOffset;
  let target: Awaited<ReturnType<typeof prepareTarget>> | undefined;
  const steps: Step[] = [];
  let raw1: Awaited<ReturnType<typeof rawMosquitto>> | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];
  // Ctrl-C / SIGTERM: the devices go (their MQTT clients too), and the stack stops
  interrupted = () => {
    log('interrupted: cleaning up');
    void (async () => {
      if (target) await removeTarget(target).catch(() => undefined);
      for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
      await stack.stop();
      process.exit(130);
    })();
  };
  try {
    const kafka = new Kafka({ clientId: 'telbench', brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const topic = `${instance.name}.adapter.measure_received`;
    const lagOf = async (groupId: string) => {
      const [end, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const endBy = new Map(end.map((p) => [p.partition, Number(p.high)]));
      return committed[0]!.partitions.reduce((n, p) => n + Math.max(0, (endBy.get(p.partition) ?? 0) - Math.max(0, Number(p.offset))), 0);
    };
    const groups = { 'alarm-service': `alarm-service-${instance.name}`, 'device-service': `device-service-${instance.name}` };

    // alarm lag: alarm.alarm_created as any consumer of it sees it
    const lags: { at: number; lag: number }[] = [];
    const raw = createKafkaClient('platformatic', { clientId: 'telbench-alarms', brokers, logger: createLogger('telbench', 'silent') });
    await raw.ensureTopics([{ name: `${instance.name}.alarm.alarm_created`, partitions: 3 }]);
    const alarmConsumer = await raw.consumer({ groupId: `telbench-${randomUUID()}`, topics: [`${instance.name}.alarm.alarm_created`], fromBeginning: false });
    cleanups.push(async () => {
      await alarmConsumer.stop();
      await raw.close();
    });
    await alarmConsumer.run((batch) => {
      const now = Date.now();
      for (const m of batch.messages) {
        if (!m.value) continue;
        const e = JSON.parse(m.value.subarray(5).toString('utf8')) as { payload: { raisedAt: string } };
        lags.push({ at: now, lag: now - Date.parse(e.payload.raisedAt) });
      }
      return Promise.resolve();
    });

    log(`creating ${deviceCount} devices (one temperature sensor each)`);
    target = await prepareTarget(stack.gatewayUrl, deviceCount);
    const devices = target.sensors.map((s) => s.deviceId);
    const alarmDevices = devices.slice(0, alarmDeviceCount);

    log(`raw Mosquitto QoS 1: ${rawN} messages, one publisher, one subscriber`);
    raw1 = await rawMosquitto(rawN);
    log(`raw Mosquitto QoS 1: ${Math.round(raw1.perSec)} msg/s`);

    const farmEnv = (rate: number, secs: number) => ({
      ...process.env,
      TELBENCH_FARM: JSON.stringify({
        mqttUrl,
        username: need('MQTT_SIMULATOR_USERNAME'),
        password: need('MQTT_SIMULATOR_PASSWORD'),
        devices,
        alarmDevices,
        rate,
        seconds: secs,
        connections,
        swingMs: 500,
        run: randomUUID().slice(0, 6),
      }),
    });
    /** Starts the fleet; `ready` resolves once it is connected and sending, `done` with what it sent. */
    const runFarm = (rate: number, secs: number) => {
      let onReady: () => void = () => undefined;
      const ready = new Promise<void>((r) => (onReady = r));
      const done = new Promise<{ sent: number; seconds: number }>((resolve, reject) => {
        const child = spawn(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'bench/telemetry/farm.ts')], { env: farmEnv(rate, secs), stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('"ready"')) onReady();
        });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as { sent: number; seconds: number }) : reject(new Error(`farm exited ${code}`))));
      });
      return { ready, done };
    };

    log('warm-up: 10 s at 1,000 readings/s');
    await runFarm(1000, 10).done;
    await sleep(3000);

    for (const rate of rates) {
      log(`offering ${rate} readings/s for ${seconds} s`);
      // the window: from the moment the fleet sends, `seconds` long; CPU and stored readings are counted in it
      const farm = runFarm(rate, seconds);
      await farm.ready;
      const lags0 = lags.length;
      const stored0 = await metric(alarmPort, 'telemetry_readings_stored_total');
      const t0 = Date.now();
      const cpu = cpuWindow(seconds);
      await sleep(seconds * 1000);
      const stored1 = await metric(alarmPort, 'telemetry_readings_stored_total');
      const elapsed = (Date.now() - t0) / 1000;
      const usage = await cpu;
      const { sent, seconds: sending } = await farm.done;
      const lagAtEnd: Record<string, number> = {};
      for (const [name, g] of Object.entries(groups)) lagAtEnd[name] = await lagOf(g);
      // then everything sent must arrive: the adapter's backlog and both consumers' lag drain
      const drainSeconds: Record<string, number> = {};
      const d0 = Date.now();
      while ((await metric(alarmPort, 'telemetry_readings_stored_total')) < stored0 + sent && Date.now() - d0 < 120_000) await sleep(500);
      for (const [name, g] of Object.entries(groups)) {
        while ((await lagOf(g)) > 0 && Date.now() - d0 < 120_000) await sleep(500);
        drainSeconds[name] = (Date.now() - d0) / 1000;
      }
      const inWindow = Math.max(1, stored1 - stored0);
      const stepLags = lags.slice(lags0).map((l) => l.lag).sort((a, b) => a - b);
      const cpuMsPerReading: Record<string, number> = {};
      let total = 0;
      for (const [g, s] of usage) {
        const ms = (s * 1000) / inWindow;
        cpuMsPerReading[g] = Math.round(ms * 1000) / 1000;
        total += ms;
      }
      const step: Step = {
        offered: rate,
        sent,
        seconds: sending,
        storedPerSec: Math.round((stored1 - stored0) / elapsed),
        lagAtEnd,
        drainSeconds,
        alarms: stepLags.length,
        alarmLagP50: stepLags.length ? percentile(stepLags, 50) : Number.NaN,
        alarmLagP99: stepLags.length ? percentile(stepLags, 99) : Number.NaN,
        cpuMsPerReading,
        cpuTotalMsPerReading: Math.round(total * 1000) / 1000,
      };
      steps.push(step);
      log(
        `offered ${rate}/s: sent ${sent} (${Math.round(sent / sending)}/s), stored ${step.storedPerSec}/s, lag at end ${JSON.stringify(lagAtEnd)}, drained in ${JSON.stringify(drainSeconds)} s, ` +
          `alarm lag p50 ${step.alarmLagP50} ms p99 ${step.alarmLagP99} ms (${step.alarms} alarms), CPU ${step.cpuTotalMsPerReading} ms/reading`,
      );
    }
  } finally {
    if (target) await removeTarget(target).catch((err: unknown) => console.error(`removing the benchmark devices failed: ${String(err)}`));
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    await stack.stop();
  }

  const at = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15).replace('T', 'T');
  const dir = path.join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const result = { at, command: 'npx tsx bench/telemetry/run.ts', settings: { rates, seconds, deviceCount, alarmDeviceCount, connections }, rawMosquitto: { perSec: raw1?.perSec, cpu: Object.fromEntries(raw1?.cpu ?? []) }, steps };
  writeFileSync(path.join(dir, `telemetry-${at}.json`), JSON.stringify(result, null, 2));
  writeFileSync(
    path.join(dir, 'telemetry-throughput.svg'),
    lineChartSvg({
      title: 'Telemetry: readings/s stored against offered (QoS 1, one reading per message)',
      xLabel: 'offered readings/s',
      yLabel: 'readings/s',
      series: [
        { name: 'stored by alarm-service', points: steps.map((s) => [s.offered, s.storedPerSec]) },
        { name: 'sent (PUBACKed)', points: steps.map((s) => [s.offered, Math.round(s.sent / s.seconds)]) },
        { name: 'raw Mosquitto QoS 1', points: steps.map((s) => [s.offered, Math.round(raw1?.perSec ?? 0)]) },
      ],
      logX: true,
      logY: true,
    }),
  );
  writeFileSync(
    path.join(dir, 'telemetry-alarm-lag.svg'),
    lineChartSvg({
      title: 'Alarm lag (reading timestamp → alarm.alarm_created in Kafka)',
      xLabel: 'offered readings/s',
      yLabel: 'ms',
      series: [
        { name: 'p50', points: steps.filter((s) => s.alarms).map((s) => [s.offered, Math.max(1, s.alarmLagP50)]) },
        { name: 'p99', points: steps.filter((s) => s.alarms).map((s) => [s.offered, Math.max(1, s.alarmLagP99)]) },
      ],
      logX: true,
      logY: true,
    }),
  );
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
