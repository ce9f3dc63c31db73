/**
 * Saga step 1, pure rules (docs/saga.md): the validation order, the semantic lock with a per-sensor FIFO queue, the
 * action arithmetic and the compensation rule. No I/O here.
 */
import type { CommandAction, PayloadOf } from '@devicesaga/contracts';
import type { rejectionReason } from '@devicesaga/contracts';
import type { z } from 'zod';

export type RejectionReason = z.infer<typeof rejectionReason>;

export interface CommandInput {
  deviceId: string;
  sensorId: string;
  action: CommandAction;
  value: number;
  expectedValue?: number | undefined;
  /** ISO timestamp or Date. */
  expiresAt: string | Date;
}

/** The sensor as it is now (null when it does not exist). */
export interface SensorView {
  id: string;
  deviceId: string;
  value: number | null;
  min: number;
  max: number;
  /** A saga is in flight on it (the semantic lock). */
  locked: boolean;
  /** Commands waiting behind the lock. */
  queued: number;
}

export interface DecideOptions {
  /** The command's user may access the sensor's device. */
  mayAccess: boolean;
  now: Date;
  /** Queue capacity per sensor (beyond it: SENSOR_BUSY). */
  maxQueue: number;
  /**
   * True when the command is the head of the queue being drained: the lock and the queue no longer apply to it
   * (the saga before it has ended), it is validated against the value as it now is.
   */
  dequeued?: boolean;
}

export type Decision =
  | { kind: 'reject'; reason: RejectionReason; message: string }
  | { kind: 'queue' }
  | { kind: 'approve'; previousValue: number | null; newValue: number };

/** The value an action produces from the current one (`add` on an unset value starts from 0). */
export function applyAction(action: CommandAction, current: number | null, value: number): number {
  switch (action) {
    case 'set':
      return value;
    case 'add':
      return (current ?? 0) + value;
  }
}

export function isExpired(expiresAt: string | Date, now: Date): boolean {
  return new Date(expiresAt).getTime() <= now.getTime();
}

/**
 * Decides a command, in the order of docs/saga.md: sensor exists and belongs to the device, user may access the
 * device, not expired, then the lock (queue behind an in-flight saga or a non-empty queue — FIFO), then for `add` the
 * expected value, then the range of the new value.
 */
export function decide(cmd: CommandInput, sensor: SensorView | null, opts: DecideOptions): Decision {
  if (!sensor || sensor.deviceId !== cmd.deviceId) {
    return { kind: 'reject', reason: 'SENSOR_NOT_FOUND', message: `sensor ${cmd.sensorId} not found on device ${cmd.deviceId}` };
  }
  if (!opts.mayAccess) return { kind: 'reject', reason: 'FORBIDDEN', message: 'the user may not access this device' };
  if (isExpired(cmd.expiresAt, opts.now)) return { kind: 'reject', reason: 'EXPIRED', message: 'the command expired before it could be applied' };
  if (!opts.dequeued && (sensor.locked || sensor.queued > 0)) {
    if (sensor.queued >= opts.maxQueue) {
      return { kind: 'reject', reason: 'SENSOR_BUSY', message: `sensor has ${sensor.queued} commands waiting` };
    }
    return { kind: 'queue' };
  }
  if (cmd.action === 'add' && cmd.expectedValue !== undefined && cmd.expectedValue !== sensor.value) {
    return {
      kind: 'reject',
      reason: 'EXPECTED_VALUE_MISMATCH',
      message: `expected value ${cmd.expectedValue} but the sensor holds ${String(sensor.value)}`,
    };
  }
  const newValue = applyAction(cmd.action, sensor.value, cmd.value);
  if (!Number.isFinite(newValue) || newValue < sensor.min || newValue > sensor.max) {
    return { kind: 'reject', reason: 'OUT_OF_RANGE', message: `value ${newValue} outside [${sensor.min}, ${sensor.max}]` };
  }
  return { kind: 'approve', previousValue: sensor.value, newValue };
}

/**
 * Compensation restores the value its own saga replaced, and only if nothing newer overwrote it (the sensor still
 * holds the applied value).
 */
export function shouldRestore(saga: { appliedValue: number }, currentValue: number | null): boolean {
  return currentValue === saga.appliedValue;
}

/** The saga's deadline: the command's expiry plus a grace for the adapter to report. */
export function sagaDeadline(expiresAt: string | Date, graceMs: number): Date {
  return new Date(new Date(expiresAt).getTime() + graceMs);
}

export type CommandPayload = PayloadOf<'command.value_set'>;
