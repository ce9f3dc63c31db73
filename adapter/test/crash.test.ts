import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import type { MqttClient } from 'mqtt';
import type { DataSource } from 'typeorm';
import { createKafkaClient, createLogger, handleOnce, testDatabaseName, type KafkaClient, type RawConsumer } from '@devicesaga/platform';
import { adapterHandlers } from '../src/handlers';
import { connectAs, createDeviceClient, deleteDeviceClient, mqttEnv, sleep, uniqueId, until, testRoot } from '../../device-simulator/test/support';
import { adapterTestDatabase, approved, recordOnly } from './support';

jest.setTimeout(120_000);
const logger = createLogger('adapter-test', process.env.LOG_LEVEL ?? 'warn');
const root = join(__dirname, '../..');
const tag = uniqueId('k').slice(2);
const database = testDatabaseName('ds_test_adapter_crash');
const prefix = `crash-${tag}.`;
let dataSource: DataSource;
let kafka: KafkaClient;
let sink: RawConsumer | undefined;
const deviceId = uniqueId('crash');
let device: MqttClient;
const children: ChildProcess[] = [];

/** The real adapter as its own process (`adapter/src/main.ts`), with a fixed MQTT session; answers its HTTP port. */
async function startAdapter(): Promise<{ child: ChildProcess; port: number }> {
  const env = mqttEnv();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'adapter/src/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      LOG_LEVEL: 'info',
      DATABASE_NAME: database,
      TOPIC_PREFIX: prefix,
      GROUP_SUFFIX: `-${tag}`,
      MQTT_URL: env.url,
      MQTT_ADAPTER_PASSWORD: env.adapterPassword,
      MQTT_CLIENT_ID: `adapter-crash-${tag}`,
      MQTT_SHARE_GROUP: `crash${tag}`,
      MQTT_SESSION_EXPIRY_S: '120',
      MQTT_TOPIC_ROOT: testRoot,
      REPLY_TIMEOUT_MS: '120000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+),"msg":"adapter started"/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the adapter exited (${code}) before it started:\n${out.slice(-2000)}`)));
  });
  return { child, port };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
  return Number(m?.[1] ?? NaN);
}

beforeAll(async () => {
  dataSource = await adapterTestDatabase('crash', logger);
  device = await connectAs(deviceId, await createDeviceClient(deviceId), deviceId);
  kafka = createKafkaClient('platformatic', { clientId: `crash-test-${tag}`, brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), logger });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await sink?.stop().catch(() => undefined);
  await kafka?.close().catch(() => undefined);
  await device?.endAsync();
  await dataSource?.destroy();
  await deleteDeviceClient(deviceId);
});

describe('adapter: killed in the middle of a reply batch', () => {
  it('the broker redelivers the unacknowledged replies to the restarted adapter, and each command gets exactly one outcome', async () => {
    const events = Array.from({ length: 50 }, () => approved(deviceId));
    const ids = events.map((e) => e.payload.commandId);
    await handleOnce(dataSource, adapterHandlers(recordOnly)['dm.value_set_approved'], events, { logger });
    const first = await startAdapter();

    // hold the rows: the adapter receives the replies, and its transaction waits on the lock, uncommitted
    const blocker = new Client({ host: '127.0.0.1', user: process.env.DATABASE_USER ?? 'postgres', password: process.env.DATABASE_PASSWORD ?? '', database });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM pending_command WHERE command_id = ANY($1::uuid[]) FOR UPDATE', [ids]);
    const received = await metric(first.port, 'adapter_replies_received_total');
    await Promise.all(ids.map((commandId) => device.publishAsync(`${testRoot}/${deviceId}/replies`, JSON.stringify({ commandId, status: 'accepted', value: 21.5 }), { qos: 1 })));
    await until('the replies at the adapter', async () => (await metric(first.port, 'adapter_replies_received_total')) >= received + 50, 30_000);
    await until(
      'its transaction waiting on the lock',
      async () => {
        const [r] = await dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        return Number(r?.n) > 0;
      },
      30_000,
    );

    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    await blocker.query('ROLLBACK');
    await blocker.end();
    await sleep(300); // PostgreSQL ends the dead adapter's transaction with its connection
    const [open] = await dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM pending_command WHERE command_id = ANY($1::uuid[]) AND state = 'PENDING'`, [ids]);
    expect(open?.n).toBe('50'); // nothing was recorded, so nothing may have been acknowledged

    const second = await startAdapter();
    await until(
      'every command closed by a redelivered reply',
      async () => {
        const [r] = await dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM pending_command WHERE command_id = ANY($1::uuid[]) AND state = 'SENT'`, [ids]);
        return r?.n === '50';
      },
      30_000,
    );
    expect(await metric(second.port, 'adapter_replies_received_total')).toBeGreaterThanOrEqual(50);

    // exactly one adapter.value_set_sent per command in Kafka
    const seen = new Map<string, number>();
    sink = await kafka.consumer({ groupId: `crash-sink-${tag}`, topics: [`${prefix}adapter.value_set_sent`], fromBeginning: true });
    await sink.run((batch) => {
      for (const m of batch.messages) {
        if (!m.value) continue;
        const { payload } = JSON.parse(m.value.subarray(5).toString('utf8')) as { payload: { commandId: string } };
        seen.set(payload.commandId, (seen.get(payload.commandId) ?? 0) + 1);
      }
      return Promise.resolve();
    });
    await until('every outcome in Kafka', () => ids.every((id) => seen.has(id)), 30_000);
    await sleep(1000);
    expect(ids.map((id) => seen.get(id))).toEqual(ids.map(() => 1));
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));
  });
});
