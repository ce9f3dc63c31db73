import type { DataSource, EntityManager } from 'typeorm';
import type { AlarmSeverityName, AlarmView } from '@devicesaga/contracts';
import type { TxContext } from '@devicesaga/platform';
import { alarmStatus } from '../domain/alarm-status';

export interface AlarmRow {
  id: string;
  alarm_type_id: string;
  name: string;
  severity: AlarmSeverityName;
  parameter: string;
  device_id: string;
  sensor_id: string;
  first_value: number;
  last_value: number;
  occurrences: number;
  raised_at: Date;
  last_seen_at: Date;
  ack_at: Date | null;
  ack_by: string | null;
  cleared_at: Date | null;
  cleared_by: string | null;
}

export const ALARM_COLUMNS = `a.id::text, a.alarm_type_id::text, a.name, a.severity, a.parameter, a.device_id::text, a.sensor_id::text, a.first_value,
  a.last_value, a.occurrences, a.raised_at, a.last_seen_at, a.ack_at, a.ack_by, a.cleared_at, a.cleared_by`;

const isoOrNull = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export const alarmView = (r: AlarmRow): AlarmView => ({
  id: r.id,
  alarmTypeId: r.alarm_type_id,
  name: r.name,
  severity: r.severity,
  status: alarmStatus(r.cleared_at !== null, r.ack_at !== null),
  deviceId: r.device_id,
  sensorId: r.sensor_id,
  parameter: r.parameter,
  firstValue: r.first_value,
  lastValue: r.last_value,
  occurrences: r.occurrences,
  raisedAt: new Date(r.raised_at).toISOString(),
  lastSeenAt: new Date(r.last_seen_at).toISOString(),
  ackAt: isoOrNull(r.ack_at),
  ackBy: r.ack_by,
  clearedAt: isoOrNull(r.cleared_at),
  clearedBy: r.cleared_by,
});

export async function findAlarm(m: DataSource | EntityManager, id: string): Promise<AlarmRow | undefined> {
  const rows = (await m.query<AlarmRow[]>(`SELECT ${ALARM_COLUMNS} FROM alarms a WHERE a.id = $1`, [id]));
  return rows[0];
}

/** Acknowledges an alarm (once: a second acknowledgement changes nothing); answers it as it now is. */
export async function acknowledge(m: DataSource | EntityManager, id: string, userId: string): Promise<AlarmRow | undefined> {
  await m.query(`UPDATE alarms SET ack_at = now(), ack_by = $2 WHERE id = $1 AND ack_at IS NULL`, [id, userId]);
  return findAlarm(m, id);
}

/**
 * Clears the active alarms `filter` selects, by a person, and announces each (`alarm.alarm_cleared` with `clearedBy`)
 * in the same transaction. An alarm already cleared is left as it is (no second event).
 */
export async function clearAlarms(ctx: TxContext, filter: { where: string; params: unknown[] }, userId: string): Promise<string[]> {
  const [rows] = (await ctx.manager.query<[AlarmRow[], number]>(
    `UPDATE alarms a SET cleared_at = now(), cleared_by = $1 WHERE ${filter.where} RETURNING ${ALARM_COLUMNS}`,
    [userId, ...filter.params],
  ));
  for (const row of rows) {
    ctx.emit({
      topic: 'alarm.alarm_cleared',
      key: row.device_id,
      correlationId: row.id,
      causationId: null,
      payload: {
        alarmId: row.id,
        alarmTypeId: row.alarm_type_id,
        name: row.name,
        severity: row.severity,
        deviceId: row.device_id,
        sensorId: row.sensor_id,
        parameter: row.parameter,
        value: row.last_value,
        occurrences: row.occurrences,
        clearedAt: new Date(row.cleared_at!).toISOString(),
        clearedBy: userId,
      },
    });
  }
  return rows.map((r) => r.id);
}
