import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import { dlqTopic } from '@devicesaga/contracts';
import { batch, createKafkaClient, type KafkaClient, type KafkaClientName, type OutgoingEvent } from '../../src/bus';
import { adapters, brokers, collect, dropSchema, effectsOf, logger, measure, testBus, testDataSource, uid, waitFor } from './helpers';

/** Wraps a client so the test sees every message delivered to the bus's consumers. */
function spyClient(adapter: KafkaClientName, delivered: string[]): KafkaClient {
  const inner = createKafkaClient(adapter, { clientId: `spy-${uid()}`, brokers, logger });
  return {
    name: inner.name,
    producer: () => inner.producer(),
    ensureTopics: (t) => inner.ensureTopics(t),
    listTopics: () => inner.listTopics(),
    deleteTopics: (names) => inner.deleteTopics(names),
    close: () => inner.close(),
    consumer: async (o) => {
      const c = await inner.consumer(o);
      return {
        run: (onBatch) =>
          c.run(async (batch) => {
            for (const m of batch.messages) delivered.push(m.value ? m.value.subarray(5).toString('utf8') : '');
            await onBatch(batch);
          }),
        stop: () => c.stop(),
      };
    },
  };
}

const m = (key: string, n: number, id: string = randomUUID()): OutgoingEvent<'adapter.measure_received'> => ({
  id,
  topic: 'adapter.measure_received',
  key,
  payload: measure(key, n),
  correlationId: `corr-${n}`,
});

jest.setTimeout(60_000);

describe.each(adapters)('consumer over %s', (adapter) => {
  let ds: DataSource;
  beforeAll(async () => {
    ds = await testDataSource();
  });
  afterAll(async () => {
    await dropSchema(ds);
  });

  const recordEffect = async (event: { id: string; payload: { deviceId: string; values: Record<string, number> } }, ctx: { manager: { query: (q: string, p: unknown[]) => Promise<unknown> } }) => {
    await ctx.manager.query('INSERT INTO effects (message_id, key, value) VALUES ($1, $2, $3)', [event.id, event.payload.deviceId, event.payload.values.n ?? null]);
  };

  it('a message delivered twice (same batch and a later batch) has one effect, and its emitted event is in the outbox once', async () => {
    // the fast path (one transaction per batch) must do it: the one-by-one fallback would hide a broken fast path
    const warnings: string[] = [];
    const bus = testBus(adapter, ds, `t${uid()}.`, { logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }) });
    let calls = 0;
    try {
      await bus.consume({
        groupId: `g-${uid()}`,
        handlers: {
          'adapter.measure_received': async (event, ctx) => {
            calls++;
            await recordEffect(event, ctx);
            ctx.emit({ topic: 'adapter.device_status', key: event.payload.deviceId, payload: { deviceId: event.payload.deviceId, online: true, at: event.payload.ts }, correlationId: event.correlationId, causationId: event.id });
          },
        },
      });
      const dup = m('dev-1', 1);
      await bus.publish([dup, dup]);
      await bus.publish([dup, m('dev-1', 2)]);
      const last = m('dev-1', 3);
      await bus.publish([last]);
      await waitFor('the last message to be handled', async () => (await effectsOf(ds, last.id!)) === 1);
      expect(await effectsOf(ds, dup.id!)).toBe(1);
      expect(calls).toBe(3);
      const emitted = await ds.query<{ envelope: { correlationId: string; type: string } }[]>(`SELECT envelope FROM outbox WHERE envelope->>'causationId' = $1`, [dup.id]);
      expect(emitted).toHaveLength(1);
      expect(emitted[0]!.envelope).toMatchObject({ type: 'adapter.device_status', correlationId: 'corr-1' });
      expect(warnings.filter((w) => w.includes('transaction failed'))).toEqual([]);
    } finally {
      await bus.stop();
    }
  });

  it('when the consumer is killed after the database commit and before the offset commit, the message is redelivered and still has one effect', async () => {
    const prefix = `t${uid()}.`;
    const groupId = `g-${uid()}`;
    const [{ s: schema }] = await ds.query<[{ s: string }]>('SELECT current_schema() AS s');
    const publisher = testBus(adapter, ds, prefix);
    const first = m('dev-9', 1);
    await publisher.publish([first]);
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures/crash-consumer.ts'), adapter, schema, prefix, groupId], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    expect(await effectsOf(ds, first.id!)).toBe(1); // the effect committed before the kill

    const delivered: string[] = [];
    const bus = testBus(spyClient(adapter, delivered), ds, prefix);
    try {
      await bus.consume({ groupId, handlers: { 'adapter.measure_received': recordEffect } });
      const second = m('dev-9', 2);
      await publisher.publish([second]);
      await waitFor('the next message to be handled', async () => (await effectsOf(ds, second.id!)) === 1);
      expect(delivered.some((v) => v.includes(first.id!))).toBe(true); // redelivered: the offset was never committed
      expect(await effectsOf(ds, first.id!)).toBe(1);
    } finally {
      await bus.stop();
      await publisher.stop();
    }
  });

  it('a poison message (garbage bytes) lands in the DLQ with its error and origin, and the next message is processed', async () => {
    const bus = testBus(adapter, ds, `t${uid()}.`);
    const topic = bus.publishTopic('adapter.measure_received');
    const groupId = `g-${uid()}`;
    const dlq = await collect(adapter, [dlqTopic(topic)]);
    try {
      await bus.consume({ groupId, handlers: { 'adapter.measure_received': recordEffect } });
      const producer = await bus.client.producer();
      const garbage = Buffer.from('\u0001not the wire format at all');
      await producer.send([{ topic, key: 'dev-2', value: garbage, headers: {} }]);
      const next = m('dev-2', 2);
      await bus.publish([next]);
      await waitFor('the next message to be handled', async () => (await effectsOf(ds, next.id!)) === 1);
      const [dead] = await waitFor('the DLQ record', () => (dlq.messages.length > 0 ? dlq.messages : null));
      expect(dead!.value!.equals(garbage)).toBe(true);
      expect(dead!.key).toBe('dev-2');
      expect(dead!.headers).toMatchObject({ 'x-dlq-group': groupId, 'x-dlq-original-topic': topic, 'x-dlq-original-offset': '0' });
      expect(dead!.headers['x-dlq-original-partition']).toMatch(/^\d+$/);
      expect(dead!.headers['x-dlq-error']).toContain('wire format');
      await producer.close();
    } finally {
      await dlq.stop();
      await bus.stop();
    }
  });

  it('a handler that always throws is retried with backoff, then its message goes to the DLQ with the error, and the partition moves on', async () => {
    const bus = testBus(adapter, ds, `t${uid()}.`);
    const topic = bus.publishTopic('adapter.measure_received');
    const groupId = `g-${uid()}`;
    const dlq = await collect(adapter, [dlqTopic(topic)]);
    let badCalls = 0;
    try {
      await bus.consume({
        groupId,
        maxAttempts: 3,
        retryBaseMs: 10,
        handlers: {
          'adapter.measure_received': async (event, ctx) => {
            if (event.payload.values.n === 666) {
              badCalls++;
              throw new Error('sensor exploded');
            }
            await recordEffect(event, ctx);
          },
        },
      });
      const bad = m('dev-3', 666);
      const before = m('dev-3', 1);
      const after = m('dev-3', 2);
      await bus.publish([before, bad, after]);
      await waitFor('the message after the failing one to be handled', async () => (await effectsOf(ds, after.id!)) === 1);
      expect(await effectsOf(ds, before.id!)).toBe(1);
      expect(await effectsOf(ds, bad.id!)).toBe(0);
      expect(badCalls).toBe(3);
      const [dead] = await waitFor('the DLQ record', () => (dlq.messages.length > 0 ? dlq.messages : null));
      expect(dead!.headers['x-dlq-error']).toContain('sensor exploded');
      expect(dead!.headers['x-dlq-group']).toBe(groupId);
      expect(bus.codec.decode('adapter.measure_received', dead!.value)).toMatchObject({ ok: true, event: { id: bad.id } });
      const [inbox] = await ds.query<{ outcome: string }[]>('SELECT outcome FROM inbox WHERE consumer_group = $1 AND message_id = $2', [groupId, bad.id]);
      expect(inbox?.outcome).toBe('dead-lettered'); // a redelivery does not run it again
    } finally {
      await dlq.stop();
      await bus.stop();
    }
  });

  it('a batch handler gets the whole batch in one call; when one message fails, the others are handled once each and the bad one goes to the DLQ', async () => {
    const registry = new Registry();
    const bus = testBus(adapter, ds, `t${uid()}.`, { metrics: { registry } });
    const topic = bus.publishTopic('adapter.measure_received');
    const groupId = `g-${uid()}`;
    const dlq = await collect(adapter, [dlqTopic(topic)]);
    const sizes: number[] = [];
    try {
      await bus.consume({
        groupId,
        maxAttempts: 2,
        retryBaseMs: 10,
        handlers: {
          'adapter.measure_received': batch(async (events, ctx) => {
            sizes.push(events.length);
            if (events.some((e) => e.payload.values.n === 666)) throw new Error('one bad reading spoils the batch');
            // one statement for the whole batch
            await ctx.manager.query(
              `INSERT INTO effects (message_id, key, value) SELECT * FROM unnest($1::uuid[], $2::text[], $3::float8[])`,
              [events.map((e) => e.id), events.map((e) => e.payload.deviceId), events.map((e) => e.payload.values.n ?? null)],
            );
            for (const e of events) {
              ctx.emit({
                topic: 'adapter.device_status',
                key: e.payload.deviceId,
                payload: { deviceId: e.payload.deviceId, online: true, at: e.payload.ts },
                correlationId: `own-${e.payload.values.n}`,
                causationId: e.id,
              });
            }
          }),
        },
      });
      const good = [m('dev-a', 1), m('dev-b', 2), m('dev-a', 3)];
      const bad = m('dev-b', 666);
      await bus.publish([good[0]!, bad, good[1]!, good[2]!]);
      await waitFor('the good messages to be handled', async () => (await Promise.all(good.map((g) => effectsOf(ds, g.id!)))).every((n) => n === 1));
      const [dead] = await waitFor('the DLQ record', () => (dlq.messages.length > 0 ? dlq.messages : null));
      expect(bus.codec.decode('adapter.measure_received', dead!.value)).toMatchObject({ ok: true, event: { id: bad.id } });
      expect(await effectsOf(ds, bad.id!)).toBe(0);
      // some call saw several messages at once (the batch), the bad one was then tried alone twice
      expect(Math.max(...sizes)).toBeGreaterThan(1);
      expect(sizes.filter((n) => n === 1).length).toBeGreaterThanOrEqual(2);
      // each good message's event is in the outbox (or already relayed) once, with the correlation id the handler gave it
      const rows = await ds.query<{ correlation: string; causation: string }[]>(
        `SELECT envelope->>'correlationId' AS correlation, envelope->>'causationId' AS causation FROM outbox WHERE topic = 'adapter.device_status'`,
      );
      for (const g of good) expect(rows.filter((r) => r.causation === g.id).map((r) => r.correlation)).toEqual([`own-${g.payload.values.n}`]);
      // the stage latency histogram and the DLQ counter saw them
      const text = await registry.metrics();
      expect(text).toMatch(new RegExp(`bus_event_age_seconds_count\\{topic="adapter.measure_received",group="${groupId}"\\} 3`));
      expect(text).toMatch(/bus_messages_dead_lettered_total\{topic="[^"]*adapter.measure_received",reason="failed"\} 1/);
    } finally {
      await dlq.stop();
      await bus.stop();
    }
  });

  it('stop() waits for the batch in flight, commits it, and a new consumer of the group does not see it again', async () => {
    const prefix = `t${uid()}.`;
    const groupId = `g-${uid()}`;
    const bus = testBus(adapter, ds, prefix);
    let entered = false;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = m('dev-5', 1);
    await bus.consume({
      groupId,
      handlers: {
        'adapter.measure_received': async (event, ctx) => {
          entered = true;
          await gate;
          await recordEffect(event, ctx);
        },
      },
    });
    await bus.publish([slow]);
    await waitFor('the handler to start', () => entered);
    const stopping = bus.stop();
    setTimeout(release, 200);
    await stopping;
    expect(await effectsOf(ds, slow.id!)).toBe(1); // finished, not abandoned

    const delivered: string[] = [];
    const bus2 = testBus(spyClient(adapter, delivered), ds, prefix);
    try {
      await bus2.consume({ groupId, handlers: { 'adapter.measure_received': recordEffect } });
      const next = m('dev-5', 2);
      await bus2.publish([next]);
      await waitFor('the next message to be handled', async () => (await effectsOf(ds, next.id!)) === 1);
      expect(delivered.some((v) => v.includes(slow.id!))).toBe(false); // its offset was committed on stop
    } finally {
      await bus2.stop();
    }
  });
});
