/**
 * Saga step 1 against the database (docs/saga.md): every function runs inside the caller's transaction and emits
 * its events through `emit` (the outbox of that same transaction). Lock order everywhere: sensor row, then saga row,
 * then queued rows — so handlers and the sweeper never deadlock.
 */
import type { EntityManager } from 'typeorm';
import type { PayloadOf } from '@devicesaga/contracts';
import type { Logger } from '@devicesaga/platform';
import { decide, sagaDeadline, shouldRestore, type CommandInput, type SensorView } from '../domain/command';
import { isUuid } from '../domain/ids';
import { grantedTo } from '../http/access';

export type SagaEvent =
  | { topic: 'dm.value_set_approved'; key: string; correlationId: string; causationId: string | null; payload: PayloadOf<'dm.value_set_approved'> }
  | { topic: 'dm.value_set_error'; key: string; correlationId: string; causationId: string | null; payload: PayloadOf<'dm.value_set_error'> };

export type Emit = (event: SagaEvent) => Promise<void>;

export interface SagaSettings {
  graceMs: number;
  maxQueue: number;
  now: () => Date;
}

export const defaultSagaSettings: SagaSettings = { graceMs: 30_000, maxQueue: 1000, now: () => new Date() };

/** TypeORM answers UPDATE/DELETE with `[rows, rowCount]`. */
export function modified<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

interface SensorRow {
  id: string;
  device_id: string;
  parameter: string;
  value: number | null;
  min: number;
  max: number;
  group_id: string;
  in_flight_command_id: string | null;
  queued: number;
  /** Whether the user lockSensor was asked about may access the device (null when none was asked about). */
  may_access: boolean | null;
}

type Command = PayloadOf<'command.value_set'>;
type FailureReason = PayloadOf<'adapter.value_set_error'>['reason'];

interface Ctx {
  m: EntityManager;
  emit: Emit;
  settings: SagaSettings;
  logger: Logger;
  /** The message being handled (causation of what is emitted), when there is one. */
  causationId: string | null;
}

/**
 * Locks the sensor `sensorIdSql` selects and reads what validation needs, in one round trip; `mayAccessSql` answers
 * whether the user in question may access the sensor's device (NULL when nobody is asked about).
 */
async function selectSensorForUpdate(m: EntityManager, sensorIdSql: string, params: unknown[], mayAccessSql = 'NULL'): Promise<SensorRow | null> {
  const rows: SensorRow[] = await m.query(
    `SELECT s.id, s.device_id, s.parameter, s.value::float8 AS value, p.min::float8 AS min, p.max::float8 AS max,
            d.group_id, s.in_flight_command_id,
            (SELECT count(*) FROM queued_commands q WHERE q.sensor_id = s.id)::int AS queued,
            ${mayAccessSql} AS may_access
       FROM sensors s JOIN devices d ON d.id = s.device_id JOIN parameters p ON p.name = s.parameter
      WHERE s.id = ${sensorIdSql}
      FOR UPDATE OF s`,
    params,
  );
  return rows[0] ?? null;
}

/** A sensor, locked; with `userId`, also whether that user may access its device. */
async function lockSensor(m: EntityManager, sensorId: string, userId?: string): Promise<SensorRow | null> {
  if (!isUuid(sensorId)) return null;
  return userId === undefined
    ? selectSensorForUpdate(m, '$1', [sensorId])
    : selectSensorForUpdate(m, '$1', [sensorId, userId], grantedTo('d.group_id', '$2'));
}

/** The sensor of a saga, locked (a saga's sensor first, then the saga: the one lock order). */
function lockSensorOfSaga(m: EntityManager, commandId: string): Promise<SensorRow | null> {
  return selectSensorForUpdate(m, '(SELECT sensor_id FROM sagas WHERE command_id = $1)', [commandId]);
}

function view(row: SensorRow | null): SensorView | null {
  if (!row) return null;
  return { id: row.id, deviceId: row.device_id, value: row.value, min: row.min, max: row.max, locked: row.in_flight_command_id !== null, queued: row.queued };
}

async function reject(ctx: Ctx, cmd: Command, reason: PayloadOf<'dm.value_set_error'>['reason'], message: string, causationId: string | null) {
  ctx.logger.info({ commandId: cmd.commandId, reason }, 'command rejected');
  await ctx.emit({
    topic: 'dm.value_set_error',
    key: cmd.deviceId,
    correlationId: cmd.commandId,
    causationId,
    payload: { commandId: cmd.commandId, userId: cmd.userId, deviceId: cmd.deviceId, sensorId: cmd.sensorId, stage: 'REJECTED', reason, message },
  });
}

async function approve(ctx: Ctx, cmd: Command, sensor: SensorRow, previousValue: number | null, newValue: number, causationId: string | null) {
  await ctx.m.query(`UPDATE sensors SET value = $2, in_flight_command_id = $3, updated_at = $4 WHERE id = $1`, [
    sensor.id,
    newValue,
    cmd.commandId,
    ctx.settings.now(),
  ]);
  await ctx.m.query(
    `INSERT INTO sagas (command_id, sensor_id, device_id, user_id, action, requested_value, previous_value, applied_value, state,
                        expires_at, deadline_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'IN_FLIGHT', $9, $10, $11)`,
    [
      cmd.commandId,
      sensor.id,
      sensor.device_id,
      cmd.userId,
      cmd.action,
      cmd.value,
      previousValue,
      newValue,
      new Date(cmd.expiresAt),
      sagaDeadline(cmd.expiresAt, ctx.settings.graceMs),
      ctx.settings.now(),
    ],
  );
  ctx.logger.info({ commandId: cmd.commandId, sensorId: sensor.id, previousValue, newValue }, 'command approved');
  await ctx.emit({
    topic: 'dm.value_set_approved',
    key: cmd.deviceId,
    correlationId: cmd.commandId,
    causationId,
    payload: {
      commandId: cmd.commandId,
      userId: cmd.userId,
      deviceId: cmd.deviceId,
      sensorId: cmd.sensorId,
      parameter: sensor.parameter,
      action: cmd.action,
      // The absolute value now stored (for `add`: current + delta), i.e. what the device must be set to.
      value: newValue,
      previousValue,
      expiresAt: new Date(cmd.expiresAt).toISOString(),
    },
  });
}

/** `command.value_set`: reject, queue behind the lock, or approve (one transaction with the outbox event). */
export async function handleCommand(ctx: Ctx, cmd: Command): Promise<void> {
  const seen: unknown[] = await ctx.m.query(
    `SELECT 1 FROM sagas WHERE command_id = $1 UNION ALL SELECT 1 FROM queued_commands WHERE command_id = $1`,
    [cmd.commandId],
  );
  if (seen.length > 0) {
    ctx.logger.info({ commandId: cmd.commandId }, 'command already known: ignored');
    return;
  }
  const sensor = isUuid(cmd.deviceId) ? await lockSensor(ctx.m, cmd.sensorId, cmd.userId) : null;
  const mayAccess = sensor?.may_access === true;
  const decision = decide(cmd, view(sensor), { mayAccess, now: ctx.settings.now(), maxQueue: ctx.settings.maxQueue });
  switch (decision.kind) {
    case 'reject':
      await reject(ctx, cmd, decision.reason, decision.message, ctx.causationId);
      return;
    case 'queue':
      await ctx.m.query(
        `INSERT INTO queued_commands (command_id, sensor_id, device_id, user_id, action, value, expected_value, expires_at, source_event_id, queued_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          cmd.commandId,
          cmd.sensorId,
          cmd.deviceId,
          cmd.userId,
          cmd.action,
          cmd.value,
          cmd.expectedValue ?? null,
          new Date(cmd.expiresAt),
          ctx.causationId,
          ctx.settings.now(),
        ],
      );
      ctx.logger.info({ commandId: cmd.commandId, sensorId: cmd.sensorId }, 'sensor busy: command queued');
      return;
    case 'approve':
      // sensor is non-null when approved
      await approve(ctx, cmd, sensor!, decision.previousValue, decision.newValue, ctx.causationId);
      return;
  }
}

interface QueuedRow {
  command_id: string;
  sensor_id: string;
  device_id: string;
  user_id: string;
  action: 'set' | 'add';
  value: number;
  expected_value: number | null;
  expires_at: Date;
  source_event_id: string | null;
}

function commandOf(q: QueuedRow): Command & CommandInput {
  return {
    commandId: q.command_id,
    userId: q.user_id,
    deviceId: q.device_id,
    sensorId: q.sensor_id,
    action: q.action,
    value: q.value,
    ...(q.expected_value === null ? {} : { expectedValue: q.expected_value }),
    expiresAt: new Date(q.expires_at).toISOString(),
  };
}

/**
 * After a saga on the sensor ended (sensor row locked by the caller): takes queued commands in FIFO order, validates
 * each against the value as it now is, rejecting until one is approved (which takes the lock) or the queue is empty.
 */
async function drainQueue(ctx: Ctx, sensorId: string): Promise<void> {
  for (;;) {
    const rows = modified<QueuedRow>(
      await ctx.m.query(
      `DELETE FROM queued_commands WHERE seq = (
         SELECT seq FROM queued_commands WHERE sensor_id = $1 ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING command_id, sensor_id, device_id, user_id, action, value::float8 AS value,
                 expected_value::float8 AS expected_value, expires_at, source_event_id`,
      [sensorId],
    ));
    const q = rows[0];
    if (!q) return;
    const cmd = commandOf(q);
    const sensor = await lockSensor(ctx.m, sensorId, cmd.userId);
    const mayAccess = sensor?.may_access === true;
    const decision = decide(cmd, view(sensor), { mayAccess, now: ctx.settings.now(), maxQueue: ctx.settings.maxQueue, dequeued: true });
    switch (decision.kind) {
      case 'reject':
        await reject(ctx, cmd, decision.reason, decision.message, q.source_event_id);
        continue;
      case 'queue':
        throw new Error('unreachable: a dequeued command is never queued again');
      case 'approve':
        await approve(ctx, cmd, sensor!, decision.previousValue, decision.newValue, q.source_event_id);
        return;
    }
  }
}

interface SagaRow {
  command_id: string;
  sensor_id: string;
  device_id: string;
  user_id: string;
  previous_value: number | null;
  applied_value: number;
  state: 'IN_FLIGHT' | 'CONFIRMED' | 'COMPENSATED';
}

/** Locks the saga's sensor then the saga (the one lock order); null when unknown. */
async function lockSaga(m: EntityManager, commandId: string): Promise<{ saga: SagaRow; sensor: SensorRow | null } | null> {
  if (!isUuid(commandId)) return null;
  const sensor = await lockSensorOfSaga(m, commandId);
  const rows: SagaRow[] = await m.query(
    `SELECT command_id, sensor_id, device_id, user_id, previous_value::float8 AS previous_value,
            applied_value::float8 AS applied_value, state
       FROM sagas WHERE command_id = $1 FOR UPDATE`,
    [commandId],
  );
  const saga = rows[0];
  return saga ? { saga, sensor } : null;
}

/** `adapter.value_set_sent`: the pivot was reached, the saga is confirmed and the lock passes to the next command. */
export async function confirm(ctx: Ctx, sent: PayloadOf<'adapter.value_set_sent'>): Promise<void> {
  const locked = await lockSaga(ctx.m, sent.commandId);
  if (!locked) {
    ctx.logger.warn({ commandId: sent.commandId }, 'value_set_sent for an unknown saga: ignored');
    return;
  }
  const { saga } = locked;
  if (saga.state !== 'IN_FLIGHT') {
    ctx.logger.warn({ commandId: saga.command_id, state: saga.state }, 'value_set_sent for an ended saga: ignored');
    return;
  }
  const now = ctx.settings.now();
  // One statement: the saga ends, the sensor's lock is released (if this saga holds it) and the value the device
  // reports, if any, is stored.
  await ctx.m.query(
    `WITH ended AS (UPDATE sagas SET state = 'CONFIRMED', ended_at = $3 WHERE command_id = $2)
     UPDATE sensors SET in_flight_command_id = CASE WHEN in_flight_command_id = $2 THEN NULL ELSE in_flight_command_id END,
                        value = CASE WHEN $4::boolean THEN $5::numeric ELSE value END,
                        updated_at = CASE WHEN $4::boolean THEN $3 ELSE updated_at END
      WHERE id = $1`,
    [saga.sensor_id, saga.command_id, now, sent.deviceValue !== undefined, sent.deviceValue ?? null],
  );
  ctx.logger.info({ commandId: saga.command_id }, 'saga confirmed');
  // The queue count was read under the sensor's lock, which every enqueue takes first: 0 means nothing to drain.
  if (locked.sensor === null || locked.sensor.queued > 0) await drainQueue(ctx, saga.sensor_id);
}

/**
 * Compensates exactly once (IN_FLIGHT → COMPENSATED; a duplicate or late failure is a no-op): restores the previous
 * value unless something newer overwrote the applied one, emits `dm.value_set_error` COMPENSATED, then lets the next
 * queued command go.
 */
export async function compensate(ctx: Ctx, commandId: string, reason: FailureReason, message: string): Promise<boolean> {
  const locked = await lockSaga(ctx.m, commandId);
  if (!locked) {
    ctx.logger.warn({ commandId }, 'failure for an unknown saga: ignored');
    return false;
  }
  const { saga, sensor } = locked;
  if (saga.state !== 'IN_FLIGHT') {
    ctx.logger.info({ commandId, state: saga.state }, 'failure for an ended saga: ignored');
    return false;
  }
  const now = ctx.settings.now();
  await ctx.m.query(`UPDATE sagas SET state = 'COMPENSATED', reason = $2, ended_at = $3 WHERE command_id = $1`, [commandId, reason, now]);
  const restore = sensor !== null && shouldRestore({ appliedValue: saga.applied_value }, sensor.value);
  if (restore) {
    await ctx.m.query(`UPDATE sensors SET value = $2, updated_at = $3 WHERE id = $1`, [saga.sensor_id, saga.previous_value, now]);
  }
  await ctx.m.query(`UPDATE sensors SET in_flight_command_id = NULL WHERE id = $1 AND in_flight_command_id = $2`, [saga.sensor_id, commandId]);
  ctx.logger.info({ commandId, reason, restored: restore }, 'saga compensated');
  await ctx.emit({
    topic: 'dm.value_set_error',
    key: saga.device_id,
    correlationId: commandId,
    causationId: ctx.causationId,
    payload: {
      commandId,
      userId: saga.user_id,
      deviceId: saga.device_id,
      sensorId: saga.sensor_id,
      stage: 'COMPENSATED',
      reason,
      message,
      restoredValue: restore ? saga.previous_value : null,
    },
  });
  if (sensor === null || sensor.queued > 0) await drainQueue(ctx, saga.sensor_id);
  return true;
}

/** `adapter.measure_received`: current values of the device's sensors, except those whose setpoint is in flight. */
export async function applyMeasurements(ctx: Ctx, measure: PayloadOf<'adapter.measure_received'>): Promise<number> {
  if (!isUuid(measure.deviceId)) return 0;
  const entries = Object.entries(measure.values);
  if (entries.length === 0) return 0;
  const rows = modified<{ id: string }>(
    await ctx.m.query(
    `UPDATE sensors s SET value = v.value, updated_at = $4
       FROM unnest($2::text[], $3::numeric[]) AS v(parameter, value)
      WHERE s.device_id = $1 AND s.parameter = v.parameter AND s.in_flight_command_id IS NULL
      RETURNING s.id`,
    [measure.deviceId, entries.map(([k]) => k), entries.map(([, v]) => v), ctx.settings.now()],
  ));
  return rows.length;
}

/** Sweeper, one pass: compensates sagas past their deadline, rejects queued commands past their expiry. */
export async function sweepDeadlines(ctx: Omit<Ctx, 'causationId'>, limit = 50): Promise<number> {
  const due: { command_id: string }[] = await ctx.m.query(
    `SELECT sg.command_id FROM sagas sg JOIN sensors s ON s.id = sg.sensor_id
      WHERE sg.state = 'IN_FLIGHT' AND sg.deadline_at < $1
      ORDER BY sg.deadline_at LIMIT $2
      FOR UPDATE OF s SKIP LOCKED`,
    [ctx.settings.now(), limit],
  );
  let n = 0;
  for (const { command_id } of due) {
    if (await compensate({ ...ctx, causationId: null }, command_id, 'DEADLINE_EXCEEDED', 'no outcome from the adapter before the saga deadline')) n++;
  }
  return n;
}

export async function sweepExpiredQueued(ctx: Omit<Ctx, 'causationId'>, limit = 100): Promise<number> {
  const rows = modified<QueuedRow>(
    await ctx.m.query(
    `DELETE FROM queued_commands WHERE seq IN (
       SELECT seq FROM queued_commands WHERE expires_at <= $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED)
     RETURNING command_id, sensor_id, device_id, user_id, action, value::float8 AS value,
               expected_value::float8 AS expected_value, expires_at, source_event_id`,
    [ctx.settings.now(), limit],
  ));
  for (const q of rows) {
    await reject({ ...ctx, causationId: null }, commandOf(q), 'EXPIRED', 'the command expired while waiting for the sensor', q.source_event_id);
  }
  return rows.length;
}
