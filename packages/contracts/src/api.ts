import { z } from 'zod';

/**
 * Public REST and WebSocket shapes (DESIGN.md §5) that more than one workspace reads: the services that answer them,
 * the dashboard and the tests. A service parses its input with its own stricter schemas; these describe what it answers.
 */

const id = z.string().min(1).max(64);
const timestamp = z.iso.datetime({ offset: true });

/* ------------------------------------------------------------ commands ------------------------------------------------------------ */

/** STUCK is not a status: command-service flags a command it has heard nothing about long past its deadline with `reason: 'STUCK'`. */
export const commandStatus = z.enum(['PENDING', 'APPROVED', 'SUCCEEDED', 'FAILED', 'REJECTED', 'COMPENSATED']);
export type CommandStatusName = z.infer<typeof commandStatus>;

export const commandHistoryEntry = z.object({ status: commandStatus, at: timestamp, reason: z.string().optional() });

export const commandView = z.object({
  id: z.uuid(),
  version: z.number().int().positive(),
  status: commandStatus,
  reason: z.string().optional(),
  deviceId: id,
  sensorId: id,
  action: z.enum(['set', 'add']),
  value: z.number(),
  expectedValue: z.number().optional(),
  ttlSeconds: z.number().int(),
  expiresAt: timestamp,
  createdAt: timestamp,
  updatedAt: timestamp,
  history: z.array(commandHistoryEntry).optional(),
});
export type CommandViewDto = z.infer<typeof commandView>;

/* ------------------------------------------------------------ notifications ------------------------------------------------------------ */

export const notificationView = z.object({
  id: id,
  seq: z.number().int().nonnegative(),
  /** The Kafka topic of the event it tells about (`adapter.value_set_sent`, `alarm.alarm_created`, ...). */
  eventType: z.string().min(1),
  title: z.string(),
  description: z.string(),
  payload: z.record(z.string(), z.unknown()),
  createdAt: timestamp,
  readAt: timestamp.nullable(),
});
export type NotificationView = z.infer<typeof notificationView>;

export const notificationPage = z.object({ items: z.array(notificationView), nextCursor: z.string().nullable(), unread: z.number().int().nonnegative().optional() });

/* ------------------------------------------------------------ alarms ------------------------------------------------------------ */

/** The original system's red and orange zones became four severities, most severe first. */
export const alarmSeverities = ['CRITICAL', 'MAJOR', 'MINOR', 'WARNING'] as const;
export const alarmSeverityName = z.enum(alarmSeverities);
export type AlarmSeverityName = z.infer<typeof alarmSeverityName>;

/** Clearing (the condition ended) and acknowledging (a person saw it) are independent. */
export const alarmStatuses = ['ACTIVE_UNACK', 'ACTIVE_ACK', 'CLEARED_UNACK', 'CLEARED_ACK'] as const;
export const alarmStatus = z.enum(alarmStatuses);
export type AlarmStatusName = z.infer<typeof alarmStatus>;

export const alarmTypeView = z.object({
  id: id,
  name: z.string().min(1).max(200),
  parameter: z.string().min(1).max(64),
  /** The alarming range is [lower, upper]. */
  lower: z.number(),
  upper: z.number(),
  severity: alarmSeverityName,
  /** Only devices of this group, or every device when null. */
  deviceGroupId: id.nullable(),
  /** The value must leave the range by this much before the alarm clears. */
  hysteresis: z.number().nonnegative(),
  /** The value must stay in the range this long before the alarm is raised (flap suppression). */
  minDurationSeconds: z.number().nonnegative(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type AlarmTypeView = z.infer<typeof alarmTypeView>;

export const alarmView = z.object({
  id: id,
  alarmTypeId: id,
  name: z.string(),
  severity: alarmSeverityName,
  status: alarmStatus,
  deviceId: id,
  sensorId: id,
  parameter: z.string(),
  /** The value that raised it, and the latest one in range. */
  firstValue: z.number(),
  lastValue: z.number(),
  occurrences: z.number().int().positive(),
  raisedAt: timestamp,
  lastSeenAt: timestamp,
  ackAt: timestamp.nullable(),
  ackBy: id.nullable(),
  clearedAt: timestamp.nullable(),
  clearedBy: id.nullable(),
});
export type AlarmView = z.infer<typeof alarmView>;

/* ------------------------------------------------------------ telemetry ------------------------------------------------------------ */

export const telemetryPoint = z.object({ ts: timestamp, value: z.number() });
export const telemetryBucket = z.object({ ts: timestamp, min: z.number(), max: z.number(), avg: z.number(), last: z.number(), count: z.number().int().positive() });
/** `bucket` absent: raw points; present (e.g. `1m`): one entry per bucket start. */
export const telemetrySeries = z.object({
  deviceId: id,
  sensorId: id,
  parameter: z.string(),
  from: timestamp,
  to: timestamp,
  bucket: z.string().nullable(),
  points: z.array(z.union([telemetryPoint, telemetryBucket])),
});
export type TelemetrySeries = z.infer<typeof telemetrySeries>;

/* ------------------------------------------------------------ WebSocket (DESIGN.md §5.2) ------------------------------------------------------------ */

export const wsServerFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), userId: id, lastSeq: z.number().int().nonnegative() }),
  z.object({
    type: z.literal('notification'),
    seq: z.number().int().nonnegative(),
    notification: notificationView.omit({ seq: true, readAt: true }),
  }),
  z.object({ type: z.literal('command'), command: commandView }),
  z.object({ type: z.literal('measurement'), deviceId: id, sensorId: id, parameter: z.string(), value: z.number(), ts: timestamp }),
  z.object({ type: z.literal('alarm'), alarm: alarmView }),
  z.object({ type: z.literal('device'), deviceId: id, online: z.boolean(), at: timestamp }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type WsServerFrame = z.infer<typeof wsServerFrame>;

export const wsClientFrame = z.discriminatedUnion('type', [
  z.object({ type: z.literal('resume'), lastSeq: z.number().int().nonnegative() }),
  z.object({ type: z.literal('ack'), seq: z.number().int().nonnegative() }),
  z.object({ type: z.literal('subscribe'), deviceIds: z.array(id).min(1).max(500) }),
  z.object({ type: z.literal('unsubscribe'), deviceIds: z.array(id).min(1).max(500) }),
]);
export type WsClientFrame = z.infer<typeof wsClientFrame>;
