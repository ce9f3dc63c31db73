import { z } from 'zod';

const id = z.string().min(1).max(64);
const finite = z.number().finite();
const timestamp = z.iso.datetime({ offset: true });

export const commandAction = z.enum(['set', 'add']);
export type CommandAction = z.infer<typeof commandAction>;

/** A user asked to set (or add to) a sensor value. */
export const commandValueSet = z.object({
  commandId: z.uuid(),
  userId: id,
  deviceId: id,
  sensorId: id,
  action: commandAction,
  value: finite,
  expectedValue: finite.optional(),
  expiresAt: timestamp,
});

/** Validated and applied to the stored value; `previousValue` is what compensation restores. */
export const dmValueSetApproved = z.object({
  commandId: z.uuid(),
  userId: id,
  deviceId: id,
  sensorId: id,
  parameter: z.string().min(1),
  action: commandAction,
  value: finite,
  previousValue: finite.nullable(),
  expiresAt: timestamp,
});

export const rejectionReason = z.enum([
  'SENSOR_NOT_FOUND',
  'FORBIDDEN',
  'OUT_OF_RANGE',
  'EXPECTED_VALUE_MISMATCH',
  'SENSOR_BUSY',
  'EXPIRED',
]);
export const deviceFailureReason = z.enum(['REFUSED', 'TIMEOUT', 'EXPIRED', 'DEADLINE_EXCEEDED']);

/** Rejected by validation (stage REJECTED) or compensated after the device failed (stage COMPENSATED). */
export const dmValueSetError = z.object({
  commandId: z.uuid(),
  userId: id,
  deviceId: id,
  sensorId: id,
  stage: z.enum(['REJECTED', 'COMPENSATED']),
  reason: z.union([rejectionReason, deviceFailureReason]),
  message: z.string(),
  restoredValue: finite.nullable().optional(),
});

/** The device accepted the command: the pivot. */
export const adapterValueSetSent = z.object({
  commandId: z.uuid(),
  userId: id,
  deviceId: id,
  sensorId: id,
  value: finite,
  deviceValue: finite.optional(),
});

/** The device refused, timed out, or was offline past the command's TTL. */
export const adapterValueSetError = z.object({
  commandId: z.uuid(),
  userId: id,
  deviceId: id,
  sensorId: id,
  reason: deviceFailureReason,
  message: z.string(),
});

/** A batch of measurements from one device at one instant. */
export const adapterMeasureReceived = z.object({
  deviceId: id,
  ts: timestamp,
  values: z.record(z.string().min(1).max(64), finite),
});

export const adapterDeviceStatus = z.object({
  deviceId: id,
  online: z.boolean(),
  at: timestamp,
});

/** The original system's red and orange zones, as four severities (most severe first). */
export const alarmSeverity = z.enum(['CRITICAL', 'MAJOR', 'MINOR', 'WARNING']);

/** What every alarm event says about the alarm. */
const alarmFields = {
  alarmId: id,
  alarmTypeId: id,
  /** The alarm type's name, e.g. "High temperature". */
  name: z.string().min(1).max(200),
  severity: alarmSeverity,
  deviceId: id,
  sensorId: id,
  parameter: z.string().min(1).max(64),
};

/** An alarm type's condition held (after its minimum duration): one active alarm per (device, sensor, alarm type). */
export const alarmCreated = z.object({
  ...alarmFields,
  /** The value that raised it. */
  value: finite,
  raisedAt: timestamp,
});

/** The condition ended (value out of the range by the hysteresis), or a person cleared it (`clearedBy`). */
export const alarmCleared = z.object({
  ...alarmFields,
  /** The last value seen while it was active. */
  value: finite,
  occurrences: z.number().int().positive(),
  clearedAt: timestamp,
  /** The user who cleared it, or null when the value left the range. */
  clearedBy: id.nullable(),
});

export const notificationCreated = z.object({
  notificationId: id,
  userId: id,
  seq: z.number().int().nonnegative(),
  eventType: z.string().min(1),
  title: z.string(),
  description: z.string(),
  payload: z.record(z.string(), z.unknown()),
  createdAt: timestamp,
});
