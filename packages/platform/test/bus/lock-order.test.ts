import { randomUUID } from 'node:crypto';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import type { EventOf } from '@devicesaga/contracts';
import { createBatchHandler, type RawBatch, type SchemaCodec } from '../../src/bus';
import { dropSchema, measure, testDataSource } from './helpers';

jest.setTimeout(60_000);

/** The codec's part the runner uses, over plain JSON (this test is about transactions, not the registry). */
const jsonCodec = {
  decode: (_topic: string, value: Buffer | null) => ({ ok: true, event: JSON.parse(value?.toString('utf8') ?? 'null') as unknown }),
} as unknown as SchemaCodec;

function batchOf(partition: number, keys: string[]): RawBatch {
  return {
    topic: 'adapter.measure_received',
    partition,
    messages: keys.map((key, i) => {
      const event: EventOf<'adapter.measure_received'> = {
        id: randomUUID(),
        type: 'adapter.measure_received',
        occurredAt: new Date().toISOString(),
        correlationId: randomUUID(),
        causationId: null,
        producer: 'test',
        payload: measure(key, i),
      };
      return { topic: 'adapter.measure_received', partition, offset: String(i), key, value: Buffer.from(JSON.stringify(event)), headers: {} };
    }),
  };
}

describe('consumer transactions and row locks', () => {
  let ds: DataSource;
  beforeAll(async () => {
    ds = await testDataSource();
    await ds.query(`CREATE TABLE locked_rows (key text PRIMARY KEY, touched int NOT NULL DEFAULT 0, handled text[] NOT NULL DEFAULT '{}')`);
  });
  afterAll(async () => {
    await dropSchema(ds);
  });

  it('two lanes whose batches hold the same keys in opposite orders do not deadlock, and one key keeps its order', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `dev-${i}`);
    await ds.query(`INSERT INTO locked_rows (key) SELECT unnest($1::text[])`, [keys]);
    const warnings: string[] = [];
    const handle = createBatchHandler(
      {
        serviceName: 'test',
        dataSource: ds,
        codec: jsonCodec,
        producer: { send: () => Promise.resolve(), close: () => Promise.resolve() },
        logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }),
        catalogTopic: () => 'adapter.measure_received',
      },
      {
        groupId: `g-${randomUUID()}`,
        transactionLanes: 2,
        handlers: {
          'adapter.measure_received': async (event, ctx) => {
            // Holds each row lock a moment, so the two transactions overlap whatever the scheduling.
            await ctx.manager.query(`UPDATE locked_rows SET touched = touched + 1, handled = handled || $2::text WHERE key = $1`, [
              event.payload.deviceId,
              `p${event.payload.values.n}`,
            ]);
            await ctx.manager.query('SELECT pg_sleep(0.02)');
          },
        },
      },
    );
    // Partition 0 in key order, partition 1 reversed, with a key twice (its order must be kept: n 0 before n 8).
    const reversed = [...keys].reverse();
    await Promise.all([handle(batchOf(0, keys)), handle(batchOf(1, [...reversed, 'dev-7']))]);

    expect(warnings.filter((w) => w.includes('deadlock'))).toEqual([]);
    expect(warnings).toEqual([]); // nothing fell back to one transaction per message
    const rows = await ds.query<{ key: string; touched: number; handled: string[] }[]>(`SELECT key, touched, handled FROM locked_rows ORDER BY key`);
    expect(rows.map((r) => r.touched)).toEqual([2, 2, 2, 2, 2, 2, 2, 3]);
    const dev7 = rows.find((r) => r.key === 'dev-7')?.handled ?? [];
    expect(dev7.indexOf('p0')).toBeLessThan(dev7.indexOf('p8'));
  });
});
