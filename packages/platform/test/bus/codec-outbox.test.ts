import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { jsonSchemaOf, subjectOf, type EventOf } from '@devicesaga/contracts';
import { SchemaCodec, SchemaRegistryError, SchemaValidationError, registerJsonSchema } from '../../src/bus';
import { adapters, collect, dropSchema, measure, registryUrl, testBus, testDataSource, uid, waitFor } from './helpers';

jest.setTimeout(60_000);

describe('schema registry', () => {
  it('registers every catalog schema under <topic>-value and answers the same id on a second registration', async () => {
    const codec = new SchemaCodec(registryUrl);
    await codec.init();
    const id = codec.schemaId('command.value_set');
    await expect(registerJsonSchema(registryUrl, subjectOf('command.value_set'), jsonSchemaOf('command.value_set'))).resolves.toBe(id);
  });

  it('refuses an incompatible change (a new required field) under BACKWARD compatibility', async () => {
    const subject = `bus-test-${uid()}-value`;
    const v1 = jsonSchemaOf('adapter.device_status');
    try {
      await registerJsonSchema(registryUrl, subject, v1);
      const props = v1.properties as Record<string, unknown>;
      const v2 = { ...v1, properties: { ...props, tenantId: { type: 'string' } }, required: [...(v1.required as string[]), 'tenantId'] };
      const refused = await registerJsonSchema(registryUrl, subject, v2).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(SchemaRegistryError);
      expect((refused as SchemaRegistryError).status).toBe(409);
    } finally {
      await fetch(`${registryUrl}/subjects/${subject}`, { method: 'DELETE' }).catch(() => undefined);
      await fetch(`${registryUrl}/subjects/${subject}?permanent=true`, { method: 'DELETE' }).catch(() => undefined);
    }
  });
});

describe.each(adapters)('bus over %s', (adapter) => {
  let ds: DataSource;
  beforeAll(async () => {
    ds = await testDataSource();
  });
  afterAll(async () => {
    await dropSchema(ds);
  });

  it('a published event round-trips through Kafka in the registry wire format and decodes to the same envelope', async () => {
    const prefix = `t${uid()}.`;
    const bus = testBus(adapter, ds, prefix);
    const sink = await collect(adapter, [bus.publishTopic('adapter.measure_received')]);
    try {
      const correlationId = randomUUID();
      await bus.publish([{ topic: 'adapter.measure_received', key: 'dev-1', payload: measure('dev-1', 42), correlationId }]);
      const [msg] = await waitFor('the message', () => (sink.messages.length > 0 ? sink.messages : null));
      expect(msg!.value!.readUInt8(0)).toBe(0);
      expect(msg!.value!.readInt32BE(1)).toBe(bus.codec.schemaId('adapter.measure_received'));
      expect(msg!.key).toBe('dev-1');
      expect(msg!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      const decoded = bus.codec.decode('adapter.measure_received', msg!.value);
      expect(decoded.ok).toBe(true);
      const event = (decoded as { event: EventOf<'adapter.measure_received'> }).event;
      expect(event).toMatchObject({ type: 'adapter.measure_received', correlationId, causationId: null, producer: 'bus-test' });
      expect(event.payload.values).toEqual({ n: 42 });
    } finally {
      await sink.stop();
      await bus.stop();
    }
  });

  it("a payload its schema rejects is never sent: publish and a transaction's emit throw", async () => {
    const bus = testBus(adapter, ds, `t${uid()}.`);
    try {
      const bad = { deviceId: 'dev-1', ts: 'yesterday', values: { n: 1 } };
      await expect(bus.publish([{ topic: 'adapter.measure_received', key: 'dev-1', payload: bad, correlationId: 'c' }])).rejects.toBeInstanceOf(SchemaValidationError);
      await expect(bus.transaction((tx) => Promise.resolve(tx.emit({ topic: 'adapter.measure_received', key: 'dev-1', payload: bad, correlationId: 'c' })))).rejects.toBeInstanceOf(SchemaValidationError);
      const [row] = await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM outbox');
      expect(row!.n).toBe(0);
    } finally {
      await bus.stop();
    }
  });

  it('when the relay dies between send and delete, a standby relay takes the lock and every event arrives, in order per key', async () => {
    const prefix = `t${uid()}.`;
    let crashes = 0;
    // relay 1 "crashes" after Kafka acknowledged each batch and before deleting its rows
    const bus1 = testBus(adapter, ds, prefix, {
      relay: { pollMs: 100, lockRetryMs: 100, batchSize: 7, afterSend: () => { crashes++; throw new Error('simulated crash after send'); } },
    });
    const bus2 = testBus(adapter, ds, prefix);
    const topic = bus1.publishTopic('adapter.measure_received');
    const sink = await collect(adapter, [topic]);
    const keys = ['dev-a', 'dev-b', 'dev-c'];
    const expected: Record<string, string[]> = { 'dev-a': [], 'dev-b': [], 'dev-c': [] };
    try {
      for (let tx = 0; tx < 3; tx++) {
        await bus1.transaction((t) => {
          const events = Array.from({ length: 10 }, (_, i) => {
            const key = keys[(tx * 10 + i) % 3]!;
            const id = randomUUID();
            expected[key]!.push(id);
            return { id, topic: 'adapter.measure_received' as const, key, payload: measure(key, tx * 10 + i), correlationId: 'relay-test' };
          });
          for (const e of events) t.emit(e);
          return Promise.resolve();
        });
      }
      await bus1.startRelay();
      await waitFor('relay 1 to crash after a send', () => crashes > 0);
      await bus2.startRelay(); // standby: relay 1 still holds the advisory lock (or retakes it after its crash)
      await bus1.relay!.stop(); // relay 1 is gone for good; its rows were sent but not deleted
      await waitFor('every event', () => new Set(sink.messages.map((m) => bus2.codec.decode('adapter.measure_received', m.value)).map((d) => (d.ok ? d.event.id : ''))).size >= 30);
      await waitFor('relay 2 to empty the outbox', async () => (await ds.query<{ n: number }[]>('SELECT count(*)::int AS n FROM outbox'))[0]!.n === 0);
      expect(bus2.relay!.active).toBe(true);
      const seen: Record<string, string[]> = { 'dev-a': [], 'dev-b': [], 'dev-c': [] };
      for (const m of sink.messages) {
        const d = bus2.codec.decode('adapter.measure_received', m.value);
        if (!d.ok) throw new Error(d.error);
        const list = seen[m.key!]!;
        if (!list.includes(d.event.id)) list.push(d.event.id); // first delivery of each id, in arrival order
      }
      if (process.env.BUS_DEBUG) console.log(JSON.stringify({ expected, msgs: sink.messages.map((m) => [m.key, m.partition, m.offset, (bus2.codec.decode('adapter.measure_received', m.value) as { event: { id: string; payload: { values: unknown } } }).event.payload.values]) }));
      expect(seen).toEqual(expected);
      expect(sink.messages.length).toBeGreaterThan(30); // the batch sent before the crash was re-sent (at-least-once)
    } finally {
      await sink.stop();
      await bus1.stop();
      await bus2.stop();
    }
  });

  it('two relays on one outbox: exactly one holds the lock, the other takes over when it stops', async () => {
    const prefix = `t${uid()}.`;
    const a = testBus(adapter, ds, prefix);
    const b = testBus(adapter, ds, prefix);
    try {
      await a.startRelay();
      await waitFor('relay a to be active', () => a.relay!.active);
      await b.startRelay();
      await new Promise((r) => setTimeout(r, 300)); // b retries the lock every 100 ms in the meantime
      expect(b.relay!.active).toBe(false);
      await a.relay!.stop();
      await waitFor('relay b to take over', () => b.relay!.active);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it("the active relay deletes inbox entries and the service's rows past their retention, and keeps the recent ones", async () => {
    const old = [randomUUID(), randomUUID()];
    const recent = randomUUID();
    await ds.query(
      `INSERT INTO inbox (consumer_group, message_id, processed_at) VALUES ('prune-test', $1, now() - interval '2 hours'),
         ('prune-test', $2, now() - interval '2 hours'), ('prune-test', $3, now())`,
      [old[0], old[1], recent],
    );
    await ds.query(`CREATE TABLE IF NOT EXISTS finished_work (id int PRIMARY KEY, done boolean NOT NULL, ended_at timestamptz NOT NULL)`);
    await ds.query(`TRUNCATE finished_work`);
    await ds.query(`INSERT INTO finished_work VALUES (1, true, now() - interval '2 days'), (2, false, now() - interval '2 days'), (3, true, now())`);
    const bus = testBus(adapter, ds, `t${uid()}.`, {
      relay: {
        pollMs: 50,
        lockRetryMs: 100,
        inboxRetentionMs: 3600_000,
        pruneEveryMs: 100,
        retention: [{ table: 'finished_work', where: `done AND ended_at < now() - interval '1 day'` }],
      },
    });
    try {
      await bus.startRelay();
      const left = () => ds.query<{ id: string }[]>(`SELECT message_id::text AS id FROM inbox WHERE consumer_group = 'prune-test'`);
      await waitFor('the old entries to be pruned', async () => (await left()).length === 1);
      expect((await left()).map((r) => r.id)).toEqual([recent]);
      await waitFor('the finished work past its retention to be pruned', async () => (await ds.query<unknown[]>(`SELECT 1 FROM finished_work`)).length === 2);
      expect((await ds.query<{ id: number }[]>(`SELECT id FROM finished_work ORDER BY id`)).map((r) => r.id)).toEqual([2, 3]);
    } finally {
      await bus.stop();
      await ds.query(`DELETE FROM inbox WHERE consumer_group = 'prune-test'`);
    }
  });
});
