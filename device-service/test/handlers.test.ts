/* eslint-disable @typescript-eslint/no-unsafe-assignment -- jest's asymmetric matchers are typed any */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { PayloadOf } from '@devicesaga/contracts';
import { createHandlers } from '../src/handlers';
import { sweepOnce } from '../src/saga/sweeper';
import type { SagaSettings } from '../src/saga/saga';
import { collector, envelope, logger, openTestDataSource, seedDevice, truncateAll } from './helpers';
import { testDatabaseName } from '@devicesaga/platform';

let ds: DataSource;
let clock = new Date();
const settings: SagaSettings = { graceMs: 30_000, maxQueue: 1000, now: () => clock };

beforeAll(async () => {
  ds = await openTestDataSource(testDatabaseName('ds_test_device_handlers'));
});
afterAll(async () => {
  await ds.destroy();
});
beforeEach(async () => {
  clock = new Date();
  await truncateAll(ds);
});

function harness() {
  const c = collector();
  const handlers = createHandlers({ settings });
  const inMinutes = (n: number) => new Date(clock.getTime() + n * 60_000).toISOString();
  const command = (fx: { deviceId: string; sensorId: string }, userId: string, over: Partial<PayloadOf<'command.value_set'>> = {}) => {
    const payload: PayloadOf<'command.value_set'> = {
      commandId: randomUUID(),
      userId,
      deviceId: fx.deviceId,
      sensorId: fx.sensorId,
      action: 'set',
      value: 30,
      expiresAt: inMinutes(1),
      ...over,
    };
    return c.run(ds, handlers['command.value_set'], envelope('command.value_set', payload, payload.commandId)).then(() => payload);
  };
  const sent = (cmd: PayloadOf<'command.value_set'>, deviceValue?: number) =>
    c.run(
      ds,
      handlers['adapter.value_set_sent'],
      envelope(
        'adapter.value_set_sent',
        { commandId: cmd.commandId, userId: cmd.userId, deviceId: cmd.deviceId, sensorId: cmd.sensorId, value: cmd.value, ...(deviceValue === undefined ? {} : { deviceValue }) },
        cmd.commandId,
      ),
    );
  const errorEvent = (cmd: PayloadOf<'command.value_set'>) =>
    envelope(
      'adapter.value_set_error',
      { commandId: cmd.commandId, userId: cmd.userId, deviceId: cmd.deviceId, sensorId: cmd.sensorId, reason: 'REFUSED', message: 'device said no' },
      cmd.commandId,
    );
  const refused = (cmd: PayloadOf<'command.value_set'>) => c.run(ds, handlers['adapter.value_set_error'], errorEvent(cmd));
  const measure = (deviceId: string, values: Record<string, number>) =>
    c.run(ds, handlers['adapter.measure_received'], envelope('adapter.measure_received', { deviceId, ts: clock.toISOString(), values }, randomUUID()));
  return { ...c, handlers, command, sent, refused, errorEvent, measure, inMinutes };
}

async function valueOf(sensorId: string): Promise<number | null> {
  const rows: { value: number | null; in_flight_command_id: string | null }[] = await ds.query(
    `SELECT value::float8 AS value, in_flight_command_id FROM sensors WHERE id = $1`,
    [sensorId],
  );
  return rows[0]!.value;
}

async function sagaState(commandId: string): Promise<string | undefined> {
  const rows: { state: string }[] = await ds.query(`SELECT state FROM sagas WHERE command_id = $1`, [commandId]);
  return rows[0]?.state;
}

const user = 'user-a';

describe('device-service saga step 1 handlers (real PostgreSQL)', () => {
  it('a valid set is applied and approved, and confirmation keeps it', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const cmd = await h.command(fx, user, { value: 42 });
    expect(await valueOf(fx.sensorId)).toBe(42);
    expect(h.emitted).toHaveLength(1);
    expect(h.emitted[0]).toMatchObject({
      topic: 'dm.value_set_approved',
      key: fx.deviceId,
      correlationId: cmd.commandId,
      payload: { commandId: cmd.commandId, parameter: 'temperature', value: 42, previousValue: 20, action: 'set' },
    });
    expect(await sagaState(cmd.commandId)).toBe('IN_FLIGHT');
    await h.sent(cmd);
    expect(await sagaState(cmd.commandId)).toBe('CONFIRMED');
    expect(await valueOf(fx.sensorId)).toBe(42);
  });

  it('when the device reports its own value on acceptance, that value is stored', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const cmd = await h.command(fx, user, { value: 42 });
    await h.sent(cmd, 41.5);
    expect(await valueOf(fx.sensorId)).toBe(41.5);
  });

  it('an add is applied to the current value and approved with the absolute value', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    await h.command(fx, user, { action: 'add', value: 2.5, expectedValue: 20 });
    expect(await valueOf(fx.sensorId)).toBe(22.5);
    expect(h.emitted[0]).toMatchObject({ topic: 'dm.value_set_approved', payload: { action: 'add', value: 22.5, previousValue: 20 } });
  });

  it('an out-of-range value is rejected and nothing changes', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const cmd = await h.command(fx, user, { value: 101 });
    expect(await valueOf(fx.sensorId)).toBe(20);
    expect(await sagaState(cmd.commandId)).toBeUndefined();
    expect(h.emitted).toEqual([
      expect.objectContaining({ topic: 'dm.value_set_error', correlationId: cmd.commandId, payload: expect.objectContaining({ stage: 'REJECTED', reason: 'OUT_OF_RANGE' }) }),
    ]);
  });

  it('an unknown sensor, a foreign user, an expired command and a wrong expected value are rejected with their reason', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    await h.command({ deviceId: fx.deviceId, sensorId: randomUUID() }, user);
    await h.command({ deviceId: fx.deviceId, sensorId: 'not-a-uuid' }, user);
    await h.command(fx, 'user-b');
    await h.command(fx, user, { expiresAt: new Date(clock.getTime() - 1000).toISOString() });
    await h.command(fx, user, { action: 'add', value: 1, expectedValue: 19 });
    expect(h.emitted.map((e) => e.payload.reason)).toEqual(['SENSOR_NOT_FOUND', 'SENSOR_NOT_FOUND', 'FORBIDDEN', 'EXPIRED', 'EXPECTED_VALUE_MISMATCH']);
    expect(await valueOf(fx.sensorId)).toBe(20);
  });

  it('when the device refuses, the previous value is restored exactly once (a duplicate error event is a no-op)', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const cmd = await h.command(fx, user, { value: 55 });
    const err = h.errorEvent(cmd);
    await h.run(ds, h.handlers['adapter.value_set_error'], err);
    expect(await valueOf(fx.sensorId)).toBe(20);
    expect(await sagaState(cmd.commandId)).toBe('COMPENSATED');
    // a later measurement moves the value; a duplicate (same or re-sent) error must not restore again
    await h.measure(fx.deviceId, { temperature: 33 });
    await h.run(ds, h.handlers['adapter.value_set_error'], err);
    await h.refused(cmd);
    expect(await valueOf(fx.sensorId)).toBe(33);
    const compensations = h.emitted.filter((e) => e.topic === 'dm.value_set_error');
    expect(compensations).toHaveLength(1);
    expect(compensations[0]).toMatchObject({ correlationId: cmd.commandId, payload: { stage: 'COMPENSATED', reason: 'REFUSED', restoredValue: 20 } });
  });

  it('a late acceptance after compensation changes nothing', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const cmd = await h.command(fx, user, { value: 55 });
    await h.refused(cmd);
    await h.sent(cmd, 55);
    expect(await valueOf(fx.sensorId)).toBe(20);
    expect(await sagaState(cmd.commandId)).toBe('COMPENSATED');
  });

  it('a measurement updates values, except a sensor whose setpoint is in flight', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    await h.measure(fx.deviceId, { temperature: 21.5, humidity: 40 });
    expect(await valueOf(fx.sensorId)).toBe(21.5);
    const cmd = await h.command(fx, user, { value: 60 });
    await h.measure(fx.deviceId, { temperature: 22 });
    expect(await valueOf(fx.sensorId)).toBe(60);
    await h.sent(cmd);
    await h.measure(fx.deviceId, { temperature: 59.5 });
    expect(await valueOf(fx.sensorId)).toBe(59.5);
  });

  it('a command arriving while the sensor is locked is queued, then approved against the then-current value when the first saga ends', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const first = await h.command(fx, user, { value: 50 });
    const second = await h.command(fx, user, { action: 'add', value: 10 });
    expect(h.emitted).toHaveLength(1); // only the first is approved; the second waits (still PENDING)
    expect(await valueOf(fx.sensorId)).toBe(50);
    await h.refused(first); // restores 20, then the queued add applies to 20
    expect(await valueOf(fx.sensorId)).toBe(30);
    const approvedSecond = h.emitted.find((e) => e.topic === 'dm.value_set_approved' && e.correlationId === second.commandId);
    expect(approvedSecond).toMatchObject({ payload: { value: 30, previousValue: 20 } });
    await h.sent(second);
    expect(await valueOf(fx.sensorId)).toBe(30);
    expect(await sagaState(second.commandId)).toBe('CONFIRMED');
  });

  it('50 queued commands with mixed refusals end with the value of the last succeeded one', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const cmds: PayloadOf<'command.value_set'>[] = [];
    for (let i = 0; i < 50; i++) cmds.push(await h.command(fx, user, { value: i + 1 }));
    // The device's verdicts: every third refuses. Drive the saga like the adapter would: answer whatever is in flight.
    const refuses = (i: number) => i % 3 === 2;
    let lastSucceeded: number | null = null;
    for (let i = 0; i < 50; i++) {
      const inFlight: { in_flight_command_id: string | null }[] = await ds.query(`SELECT in_flight_command_id FROM sensors WHERE id = $1`, [fx.sensorId]);
      expect(inFlight[0]!.in_flight_command_id).toBe(cmds[i]!.commandId); // FIFO
      if (refuses(i)) await h.refused(cmds[i]!);
      else {
        await h.sent(cmds[i]!);
        lastSucceeded = cmds[i]!.value;
      }
    }
    expect(lastSucceeded).toBe(50);
    expect(await valueOf(fx.sensorId)).toBe(50);
    const approvals = h.emitted.filter((e) => e.topic === 'dm.value_set_approved');
    expect(approvals).toHaveLength(50);
    expect(h.emitted.filter((e) => e.topic === 'dm.value_set_error')).toHaveLength(16);
    // each approval's previousValue is the value the sensor held then: the last succeeded one before it
    let expectedPrev = 20;
    for (let i = 0; i < 50; i++) {
      const a = approvals.find((e) => e.correlationId === cmds[i]!.commandId)!;
      expect(a.payload.previousValue).toBe(expectedPrev);
      if (!refuses(i)) expectedPrev = i + 1;
    }
  });

  it('the last command refused restores the last succeeded value', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const a = await h.command(fx, user, { value: 70 });
    const b = await h.command(fx, user, { value: 80 });
    await h.sent(a);
    await h.refused(b);
    expect(await valueOf(fx.sensorId)).toBe(70);
  });

  it('the sweeper compensates a saga past its deadline', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const cmd = await h.command(fx, user, { value: 77 });
    const queued = await h.command(fx, user, { value: 78, expiresAt: h.inMinutes(10) });
    expect(await sweepOnce({ transaction: h.transaction(ds), settings, logger })).toEqual({ compensated: 0, expired: 0 });
    clock = new Date(clock.getTime() + 60_000 + 31_000); // past expiresAt + 30 s grace
    expect(await sweepOnce({ transaction: h.transaction(ds), settings, logger })).toEqual({ compensated: 1, expired: 0 });
    expect(await sagaState(cmd.commandId)).toBe('COMPENSATED');
    expect(h.emitted.find((e) => e.topic === 'dm.value_set_error')).toMatchObject({
      correlationId: cmd.commandId,
      payload: { stage: 'COMPENSATED', reason: 'DEADLINE_EXCEEDED', restoredValue: 20 },
    });
    // the queued one was next in line
    expect(await valueOf(fx.sensorId)).toBe(78);
    expect(await sagaState(queued.commandId)).toBe('IN_FLIGHT');
    // an adapter error arriving afterwards does not compensate a second time
    await h.refused(cmd);
    expect(h.emitted.filter((e) => e.topic === 'dm.value_set_error')).toHaveLength(1);
  });

  it('an expired queued command is rejected by the sweeper with EXPIRED', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const first = await h.command(fx, user, { value: 40, expiresAt: h.inMinutes(10) });
    const queued = await h.command(fx, user, { value: 45, expiresAt: h.inMinutes(1) });
    clock = new Date(clock.getTime() + 61_000);
    expect(await sweepOnce({ transaction: h.transaction(ds), settings, logger })).toEqual({ compensated: 0, expired: 1 });
    expect(h.emitted.find((e) => e.correlationId === queued.commandId)).toMatchObject({
      topic: 'dm.value_set_error',
      payload: { stage: 'REJECTED', reason: 'EXPIRED' },
    });
    const left: unknown[] = await ds.query(`SELECT 1 FROM queued_commands`);
    expect(left).toHaveLength(0);
    await h.sent(first);
    expect(await valueOf(fx.sensorId)).toBe(40);
  });

  it('a duplicate command.value_set (same command id) changes nothing', async () => {
    const h = harness();
    const fx = await seedDevice(ds, user);
    const cmd = await h.command(fx, user, { value: 42 });
    await h.command(fx, user, { ...cmd, value: 43 });
    expect(await valueOf(fx.sensorId)).toBe(42);
    expect(h.emitted).toHaveLength(1);
  });
});
