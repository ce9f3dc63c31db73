import type { EntityManager } from 'typeorm';
import type { CommandState } from '../domain/outcome';
import type { PendingCommand } from './entities';

/** Raw `pending_command` row (snake_case, as pg returns it). */
export interface PendingRow {
  command_id: string;
  device_id: string;
  sensor_id: string;
  user_id: string;
  parameter: string;
  action: 'set' | 'add';
  value: number;
  expires_at: Date;
  sent_at: Date;
  reply_deadline: Date | null;
  state: CommandState;
  reason: string | null;
  device_value: number | null;
  causation_id: string | null;
  closed_at: Date | null;
}

export function toPending(r: PendingRow): PendingCommand {
  return {
    commandId: r.command_id,
    deviceId: r.device_id,
    sensorId: r.sensor_id,
    userId: r.user_id,
    parameter: r.parameter,
    action: r.action,
    value: Number(r.value),
    expiresAt: r.expires_at,
    sentAt: r.sent_at,
    replyDeadline: r.reply_deadline,
    state: r.state,
    reason: r.reason,
    deviceValue: r.device_value === null ? null : Number(r.device_value),
    causationId: r.causation_id,
    closedAt: r.closed_at,
  };
}

/**
 * Runs a statement that yields rows. UPDATE/DELETE … RETURNING must be wrapped in a CTE
 * (`WITH u AS (…) SELECT * FROM u`): TypeORM answers `[rows, count]` for a bare UPDATE.
 */
export async function rows<T>(m: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return m.query<T[]>(sql, params);
}

export async function pendingRows(m: EntityManager, sql: string, params: unknown[] = []): Promise<PendingCommand[]> {
  return (await rows<PendingRow>(m, sql, params)).map(toPending);
}
