import type { DataSource } from 'typeorm';
import { createLogger, handleOnce } from '@devicesaga/platform';
import { DeviceEdge } from '../src/edge';
import { adapterHandlers } from '../src/handlers';
import { sleep, uniqueId, until } from '../../device-simulator/test/support';
import { adapterTestDatabase, approved, collectingBus, edgeConfig, outcomesOf, recordOnly } from './support';

jest.setTimeout(60_000);
const logger = createLogger('adapter-test', process.env.LOG_LEVEL ?? 'warn');
let dataSource: DataSource;
const collected = collectingBus(() => dataSource, logger);
const edges: DeviceEdge[] = [];

beforeAll(async () => {
  dataSource = await adapterTestDatabase('restart', logger);
});

afterAll(async () => {
  for (const e of edges) await e.stop().catch(() => undefined);
  await dataSource?.destroy();
});

async function startEdge(config: ReturnType<typeof edgeConfig>): Promise<DeviceEdge> {
  const edge = new DeviceEdge({ dataSource, bus: collected.bus, logger, config });
  edges.push(edge);
  await edge.start();
  return edge;
}

/**
 * Records commands the way the approval handler does, without publishing them: on a shared broker another stack's
 * simulator farm would answer them, and these tests are about silence. (The edge does not publish a command whose
 * TTL has passed, so none of them reaches MQTT after the restart either.)
 */
const record = (...events: ReturnType<typeof approved>[]) => handleOnce(dataSource, adapterHandlers(recordOnly)['dm.value_set_approved'], events, { logger });

describe('adapter: deadlines live in memory and are rebuilt from the table', () => {
  it('an idle adapter arms no timer; a pending command arms one, its outcome disarms it', async () => {
    const edge = await startEdge(edgeConfig());
    await sleep(1200); // past the start-up grace
    expect(edge.deadlines.size).toBe(0);
    expect(edge.deadlines.nextWakeAt).toBeUndefined();
    // through the edge's own dispatch; already past its TTL, so it is not published, only closed
    const event = approved(uniqueId('late'), { expiresAt: new Date(Date.now() - 1000).toISOString() });
    await handleOnce(dataSource, adapterHandlers(edge)['dm.value_set_approved'], event, { logger });
    expect(edge.deadlines.size).toBe(1);
    const outcome = await until('EXPIRED', () => outcomesOf(collected.enqueued, event.payload.commandId)[0]);
    expect(outcome).toMatchObject({ topic: 'adapter.value_set_error', payload: { reason: 'EXPIRED' } });
    await until('no deadline left, no timer', () => edge.deadlines.size === 0 && edge.deadlines.nextWakeAt === undefined);
    expect(edge.publisher.stats.published).toBe(0);
    await edge.stop();
  });

  it('a command pending across an adapter restart still times out, once', async () => {
    const config = edgeConfig({ REPLY_TIMEOUT_MS: 1000 });
    const first = await startEdge(config);
    // the device was online (reply deadline in 1 s) and never answered; the TTL ends 1.5 s later
    const event = approved(uniqueId('mute'), { expiresAt: new Date(Date.now() + 2500).toISOString() });
    await handleOnce(dataSource, adapterHandlers({ ...recordOnly, replyTimeoutMs: 1000 })['dm.value_set_approved'], event, { logger });
    await first.stop();
    await sleep(3000); // both deadlines pass while no adapter runs
    expect(outcomesOf(collected.enqueued, event.payload.commandId)).toEqual([]);
    const second = await startEdge(config);
    expect(second.deadlines.size).toBe(1);
    const outcome = await until('TIMEOUT after the restart', () => outcomesOf(collected.enqueued, event.payload.commandId)[0]);
    expect(outcome).toMatchObject({ topic: 'adapter.value_set_error', payload: { reason: 'TIMEOUT' } });
    await sleep(300);
    expect(outcomesOf(collected.enqueued, event.payload.commandId)).toHaveLength(1);
    await second.stop();
  });

  it('a command for an offline device pending across an adapter restart still expires at its TTL, once', async () => {
    const config = edgeConfig();
    const first = await startEdge(config);
    const event = approved(uniqueId('never'), { expiresAt: new Date(Date.now() + 1500).toISOString() });
    await handleOnce(dataSource, adapterHandlers({ ...recordOnly, isOnline: () => false })['dm.value_set_approved'], event, { logger });
    await first.stop();
    await sleep(2000);
    expect(outcomesOf(collected.enqueued, event.payload.commandId)).toEqual([]);
    const second = await startEdge(config);
    const outcome = await until('EXPIRED after the restart', () => outcomesOf(collected.enqueued, event.payload.commandId)[0]);
    expect(outcome).toMatchObject({ topic: 'adapter.value_set_error', payload: { reason: 'EXPIRED' } });
    await sleep(300);
    expect(outcomesOf(collected.enqueued, event.payload.commandId)).toHaveLength(1);
    await second.stop();
  });

  it('a restarted adapter closes many overdue commands in a few transactions', async () => {
    const config = edgeConfig();
    const first = await startEdge(config);
    const events = Array.from({ length: 200 }, () => approved(uniqueId('gone'), { expiresAt: new Date(Date.now() + 500).toISOString() }));
    await record(...events);
    await first.stop();
    await sleep(1000);
    const before = collected.transactions.length;
    await startEdge(config);
    await until('200 EXPIRED', () => events.every((e) => outcomesOf(collected.enqueued, e.payload.commandId).length === 1));
    const mine = new Set(events.map((e) => e.payload.commandId));
    const closing = collected.transactions.slice(before).filter((t) => t.some((e) => mine.has((e.payload as { commandId?: string }).commandId ?? '')));
    expect(closing.length).toBeLessThanOrEqual(2);
  });
});
