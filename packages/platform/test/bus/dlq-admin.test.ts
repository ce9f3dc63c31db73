import { dlqTopic } from '@devicesaga/contracts';
import type { DataSource } from 'typeorm';
import { DlqAdmin } from '../../src/bus';
import { brokers, dropSchema, effectsOf, measure, testBus, testDataSource, uid, waitFor } from './helpers';

jest.setTimeout(90_000);

describe('DLQ tooling', () => {
  let ds: DataSource;
  beforeAll(async () => {
    ds = await testDataSource();
    await ds.query(`CREATE TABLE IF NOT EXISTS known_devices (id text PRIMARY KEY)`);
  });
  afterAll(async () => {
    await dropSchema(ds);
  });

  it('lists a dead-lettered message with its error; once the cause is fixed, redriving it has it handled exactly once, and purge empties the DLQ', async () => {
    const prefix = `t${uid()}.`;
    const groupId = `g-${uid()}`;
    const bus = testBus('platformatic', ds, prefix);
    const admin = new DlqAdmin({ brokers, topicPrefix: prefix });
    // a second group on the same topic handles everything: a redrive must not make it handle anything twice
    let otherCalls = 0;
    try {
      await bus.consume({
        groupId,
        maxAttempts: 2,
        retryBaseMs: 10,
        handlers: {
          // the "cause": a reading for a device the registry does not know yet fails (foreign key)
          'adapter.measure_received': async (event, ctx) => {
            const [known] = await ctx.manager.query<unknown[]>(`SELECT 1 FROM known_devices WHERE id = $1`, [event.payload.deviceId]);
            if (!known) throw new Error(`unknown device ${event.payload.deviceId}`);
            await ctx.manager.query('INSERT INTO effects (message_id, key, value) VALUES ($1, $2, $3)', [event.id, event.payload.deviceId, event.payload.values.n]);
          },
        },
      });
      await bus.consume({
        groupId: `${groupId}-other`,
        handlers: {
          'adapter.measure_received': () => {
            otherCalls++;
            return Promise.resolve();
          },
        },
      });
      const poison = { topic: 'adapter.measure_received' as const, key: 'dev-x', payload: measure('dev-x', 7), correlationId: 'dlq-test', id: crypto.randomUUID() };
      await bus.publish([poison]);
      const topic = dlqTopic(bus.publishTopic('adapter.measure_received'));
      const [listed] = await waitFor('the message in the DLQ', async () => {
        const all = await admin.list(topic);
        return all.length > 0 ? all : null;
      });
      expect(listed).toMatchObject({ dlqTopic: topic, originalTopic: bus.publishTopic('adapter.measure_received'), group: groupId, messageId: poison.id, type: 'adapter.measure_received' });
      expect(listed!.error).toContain('unknown device dev-x');
      expect(await admin.topics()).toContain(topic);
      await waitFor('the other group to handle it', () => otherCalls === 1);

      await ds.query(`INSERT INTO known_devices (id) VALUES ('dev-x')`); // the fix
      expect(await admin.redrive({ dlqTopic: topic, partition: listed!.partition, offset: listed!.offset })).toBe(1);
      await waitFor('the redriven message to be handled', async () => (await effectsOf(ds, poison.id)) === 1);
      const [inbox] = await ds.query<{ outcome: string }[]>('SELECT outcome FROM inbox WHERE consumer_group = $1 AND message_id = $2', [groupId, poison.id]);
      expect(inbox?.outcome).toBe('processed');

      // the other group saw the redriven copy and skipped it as a duplicate (its handler was not called again)
      await new Promise((r) => setTimeout(r, 1_000));
      expect(otherCalls).toBe(1);
      expect(await effectsOf(ds, poison.id)).toBe(1);

      await admin.purge(topic);
      expect(await admin.list(topic)).toEqual([]);
    } finally {
      await bus.stop();
    }
  });
});
