import { Client } from 'pg';
import type { MqttClient } from 'mqtt';
import type { DataSource } from 'typeorm';
import { createLogger, handleOnce, testDatabaseName } from '@devicesaga/platform';
import { DeviceEdge } from '../src/edge';
import { adapterHandlers } from '../src/handlers';
import { connectAs, createDeviceClient, deleteDeviceClient, sleep, uniqueId, until, testRoot } from '../../device-simulator/test/support';
import { adapterTestDatabase, approved, collectingBus, edgeConfig, outcomesOf, recordOnly } from './support';

jest.setTimeout(60_000);
const logger = createLogger('adapter-test', process.env.LOG_LEVEL ?? 'warn');
let dataSource: DataSource;
const collected = collectingBus(() => dataSource, logger);
let edge: DeviceEdge;
const deviceId = uniqueId('burst');
let device: MqttClient;

beforeAll(async () => {
  dataSource = await adapterTestDatabase('batching', logger);
  edge = new DeviceEdge({ dataSource, bus: collected.bus, logger, config: edgeConfig() });
  await edge.start();
  device = await connectAs(deviceId, await createDeviceClient(deviceId), deviceId);
});

afterAll(async () => {
  await device?.endAsync();
  await edge?.stop();
  await dataSource?.destroy();
  await deleteDeviceClient(deviceId);
});

/** Records `n` approved commands for the device (no MQTT publish: the test plays the device's replies itself). */
async function pendingCommands(n: number): Promise<string[]> {
  const events = Array.from({ length: n }, () => approved(deviceId));
  await handleOnce(dataSource, adapterHandlers(recordOnly)['dm.value_set_approved'], events, { logger });
  return events.map((e) => e.payload.commandId);
}

const reply = (commandId: string) => device.publishAsync(`${testRoot}/${deviceId}/replies`, JSON.stringify({ commandId, status: 'accepted', value: 21.5 }), { qos: 1 });

/** Backends of the test database waiting for a row lock (the adapter's transaction behind the test's lock). */
async function waitingOnLock(): Promise<number> {
  const [r] = await dataSource.query<{ n: string }[]>(
    `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
  );
  return Number(r?.n ?? 0);
}

describe('adapter: device replies in batches', () => {
  // The broker is shared: this edge also receives the replies of every other device on it (other stacks' farms), so
  // the test counts its own commands' rows, outcomes and transactions.
  it('replies arriving faster than one transaction are all recorded, once each, in a few batches, none PUBACKed before its commit', async () => {
    const ids = await pendingCommands(300);
    const mine = new Set(ids);
    const transactionsBefore = collected.transactions.length;
    // the first reply's transaction cannot commit while this lock holds its row
    const blocker = new Client({ host: '127.0.0.1', user: process.env.DATABASE_USER ?? 'postgres', password: process.env.DATABASE_PASSWORD ?? '', database: testDatabaseName('ds_test_adapter_batching') });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM pending_command WHERE command_id = $1 FOR UPDATE', [ids[0]]);
      await reply(ids[0]!);
      await until("the first reply's transaction blocked on the row lock", async () => (await waitingOnLock()) > 0);
      await sleep(100);
      // PUBACKs go in arrival order: behind the blocked transaction, none can go out any more
      const pubacksBlocked = edge.pubacksSent.control;
      const received = edge.replyStats.received;
      await Promise.all(ids.slice(1).map(reply));
      await until('the 299 other replies taken', () => edge.replyStats.received >= received + 299);
      await sleep(300);
      expect(edge.pubacksSent.control).toBe(pubacksBlocked);
      const [open] = await dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM pending_command WHERE command_id = ANY($1::uuid[]) AND state = 'PENDING'`, [ids]);
      expect(open?.n).toBe('300');
      expect(ids.filter((id) => outcomesOf(collected.enqueued, id).length > 0)).toEqual([]);
    } finally {
      await blocker.query('COMMIT');
      await blocker.end();
    }
    await until('every outcome', () => ids.every((id) => outcomesOf(collected.enqueued, id).length > 0), 15_000);
    await sleep(300);
    for (const id of ids) expect(outcomesOf(collected.enqueued, id)).toHaveLength(1);
    const states = await dataSource.query<{ state: string; n: string }[]>(`SELECT state, count(*) AS n FROM pending_command WHERE command_id = ANY($1::uuid[]) GROUP BY state`, [ids]);
    expect(states).toEqual([{ state: 'SENT', n: '300' }]);
    // the first reply's transaction, then the 299 that queued behind it: far fewer transactions than replies
    const withMine = collected.transactions
      .slice(transactionsBefore)
      .filter((events) => events.some((e) => mine.has((e.payload as { commandId?: string }).commandId ?? '')));
    expect(withMine.length).toBeLessThanOrEqual(4);
    expect(withMine[0]).toHaveLength(1);
  });

  it('a reply redelivered after its command closed changes nothing (exactly one outcome)', async () => {
    const [id] = await pendingCommands(1);
    await reply(id!);
    await until('the outcome', () => outcomesOf(collected.enqueued, id!).length > 0);
    const ignored = edge.replyStats.ignored;
    await reply(id!);
    await until('the second reply ignored', () => edge.replyStats.ignored === ignored + 1);
    expect(outcomesOf(collected.enqueued, id!)).toHaveLength(1);
  });
});
