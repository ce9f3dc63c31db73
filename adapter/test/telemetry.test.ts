import type { MqttClient } from 'mqtt';
import type { DataSource } from 'typeorm';
import { createLogger } from '@devicesaga/platform';
import { DeviceEdge } from '../src/edge';
import { connectAs, createDeviceClient, deleteDeviceClient, sleep, uniqueId, until, testRoot } from '../../device-simulator/test/support';
import { adapterTestDatabase, collectingBus, edgeConfig } from './support';

jest.setTimeout(60_000);
const logger = createLogger('adapter-test', process.env.LOG_LEVEL ?? 'warn');
let dataSource: DataSource;
const edges: DeviceEdge[] = [];
const deviceId = uniqueId('tele');
let device: MqttClient;

beforeAll(async () => {
  dataSource = await adapterTestDatabase('telemetry', logger);
  device = await connectAs(deviceId, await createDeviceClient(deviceId), deviceId);
});

afterAll(async () => {
  for (const e of edges) await e.stop().catch(() => undefined);
  await device?.endAsync();
  await dataSource?.destroy();
  await deleteDeviceClient(deviceId);
});

async function startEdge(config: ReturnType<typeof edgeConfig>, bus: ReturnType<typeof collectingBus>): Promise<DeviceEdge> {
  const edge = new DeviceEdge({ dataSource, bus: bus.bus, logger, config });
  edges.push(edge);
  await edge.start();
  return edge;
}

/** The readings of this test's device that reached Kafka (the `n` of each), in order. */
const counters = (bus: ReturnType<typeof collectingBus>) =>
  bus.published.filter((e) => e.key === deviceId).map((e) => (e.payload as unknown as { values: { n: number } }).values.n);

const send = (from: number, count: number) =>
  Promise.all(
    Array.from({ length: count }, (_, i) =>
      device.publishAsync(`${testRoot}/${deviceId}/telemetry`, JSON.stringify({ ts: Date.now(), values: { n: from + i } }), { qos: 1 }),
    ),
  );

describe('adapter: telemetry', () => {
  it('a reading is PUBACKed only once Kafka has it: readings taken but not yet in Kafka come back after a crash', async () => {
    const config = edgeConfig();
    const slow = collectingBus(() => dataSource, logger);
    const first = await startEdge(config, slow);
    slow.holdPublishes(); // Kafka does not answer
    const acked = first.pubacksSent.telemetry;
    const readings = first.telemetryStats.readings;
    await send(0, 40);
    await until('the readings at the adapter', () => first.telemetryStats.readings >= readings + 40);
    await sleep(300);
    // the telemetry connection's PUBACKs go in arrival order: none of these (nor any after them) went out
    expect(first.pubacksSent.telemetry).toBe(acked);
    await first.abort(); // the adapter dies with the publish in flight
    slow.releasePublishes(); // …which then completes, too late: its PUBACKs have no connection to go to
    await sleep(100);
    expect(first.pubacksSent.telemetry).toBe(acked);

    const fast = collectingBus(() => dataSource, logger);
    const second = await startEdge(config, fast);
    await until('every reading redelivered and published', () => new Set(counters(fast)).size === 40, 15_000);
    expect(counters(fast)).toEqual(Array.from({ length: 40 }, (_, i) => i)); // in order
    await until('their PUBACKs', () => second.pubacksSent.telemetry >= 40);
    await second.stop();
  });

  it('malformed telemetry is counted and dropped with a log line; the readings around it go through', async () => {
    const bus = collectingBus(() => dataSource, logger);
    const edge = await startEdge(edgeConfig(), bus);
    const dropped = edge.telemetryStats.dropped;
    await send(100, 1);
    for (const garbage of ['not json', '{"values":{"t":"hot"}}', '{"ts":"yesterday","values":{"t":1}}', '[{"values":{"t":null}}]', '']) {
      await device.publishAsync(`${testRoot}/${deviceId}/telemetry`, garbage, { qos: 1 });
    }
    await send(101, 1);
    await until('both readings published', () => counters(bus).includes(100) && counters(bus).includes(101));
    expect(counters(bus)).toEqual([100, 101]);
    expect(edge.telemetryStats.dropped - dropped).toBe(5);
    await edge.stop();
  });

  it('an array of readings becomes one event per reading, keyed by device, with the device time', async () => {
    const bus = collectingBus(() => dataSource, logger);
    const edge = await startEdge(edgeConfig(), bus);
    const t0 = Date.parse('2026-11-26T10:00:00.000Z');
    await device.publishAsync(`${testRoot}/${deviceId}/telemetry`, JSON.stringify([0, 1, 2].map((i) => ({ ts: t0 + i * 1000, values: { n: 200 + i, temperature: 20 + i } }))), { qos: 1 });
    await until('three events', () => counters(bus).length === 3);
    expect(bus.published.filter((e) => e.key === deviceId).map((e) => e.payload)).toEqual([0, 1, 2].map((i) => ({ deviceId, ts: new Date(t0 + i * 1000).toISOString(), values: { n: 200 + i, temperature: 20 + i } })));
    await edge.stop();
  });
});
