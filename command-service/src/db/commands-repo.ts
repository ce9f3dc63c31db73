import type { EntityManager } from 'typeorm';
import type { CommandState, CommandStatus, HistoryEntry } from '../domain/command-status';
import type { CursorPosition } from '../domain/cursor';

/** A command row as read by the queries below. */
export interface CommandRow {
  id: string;
  userId: string;
  deviceId: string;
  sensorId: string;
  action: 'set' | 'add';
  value: number;
  expectedValue: number | null;
  ttlSeconds: number;
  expiresAt: Date;
  status: CommandStatus;
  reason: string | null;
  version: number;
  history: HistoryEntry[];
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = `id, user_id AS "userId", device_id AS "deviceId", sensor_id AS "sensorId", action, value,
  expected_value AS "expectedValue", ttl_seconds AS "ttlSeconds", expires_at AS "expiresAt", status, reason, version,
  history, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The command as the API answers it (the listing leaves `history` out). */
export interface CommandView {
  id: string;
  version: number;
  status: CommandStatus;
  reason?: string;
  deviceId: string;
  sensorId: string;
  action: 'set' | 'add';
  value: number;
  expectedValue?: number;
  ttlSeconds: number;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
  history?: HistoryEntry[];
}

export function toView(row: CommandRow, withHistory: boolean): CommandView {
  return {
    id: row.id,
    version: row.version,
    status: row.status,
    ...(row.reason !== null ? { reason: row.reason } : {}),
    deviceId: row.deviceId,
    sensorId: row.sensorId,
    action: row.action,
    value: row.value,
    ...(row.expectedValue !== null ? { expectedValue: row.expectedValue } : {}),
    ttlSeconds: row.ttlSeconds,
    expiresAt: row.expiresAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    ...(withHistory ? { history: row.history } : {}),
  };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function insertCommand(manager: EntityManager, row: Omit<CommandRow, 'updatedAt'>): Promise<void> {
  await manager.query(
    `INSERT INTO commands (id, user_id, device_id, sensor_id, action, value, expected_value, ttl_seconds, expires_at, status,
       reason, version, history, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14, $14)`,
    [
      row.id,
      row.userId,
      row.deviceId,
      row.sensorId,
      row.action,
      row.value,
      row.expectedValue,
      row.ttlSeconds,
      row.expiresAt,
      row.status,
      row.reason,
      row.version,
      JSON.stringify(row.history),
      row.createdAt,
    ],
  );
}

/** A command of this user (another user's command is "not found"). */
export async function findCommand(manager: EntityManager, id: string, userId: string): Promise<CommandRow | undefined> {
  if (!UUID.test(id)) return undefined;
  const rows = await manager.query<CommandRow[]>(`SELECT ${COLUMNS} FROM commands WHERE id = $1 AND user_id = $2`, [id, userId]);
  return rows[0];
}

/** Locks a command for a status change (in the consumer's transaction). */
export async function lockCommand(manager: EntityManager, id: string): Promise<CommandRow | undefined> {
  const rows = await manager.query<CommandRow[]>(`SELECT ${COLUMNS} FROM commands WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0];
}

export async function saveState(manager: EntityManager, id: string, state: CommandState, at: Date): Promise<Date> {
  await manager.query(`UPDATE commands SET status = $2, reason = $3, version = $4, history = $5::jsonb, updated_at = $6 WHERE id = $1`, [
    id,
    state.status,
    state.reason,
    state.version,
    JSON.stringify(state.history),
    at,
  ]);
  return at;
}

export interface ListFilter {
  userId: string;
  deviceId?: string;
  status?: CommandStatus;
  limit: number;
  after?: CursorPosition;
}

/** The user's commands newest first, keyset-paginated on (created_at, id); one row more than asked tells "more". */
export async function listCommands(manager: EntityManager, filter: ListFilter): Promise<CommandRow[]> {
  const params: unknown[] = [filter.userId];
  const where = ['user_id = $1'];
  if (filter.deviceId !== undefined) {
    params.push(filter.deviceId);
    where.push(`device_id = $${params.length}`);
  }
  if (filter.status !== undefined) {
    params.push(filter.status);
    where.push(`status = $${params.length}`);
  }
  if (filter.after) {
    params.push(filter.after.createdAt, filter.after.id);
    where.push(`(created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  params.push(filter.limit + 1);
  return await manager.query<CommandRow[]>(
    `SELECT ${COLUMNS} FROM commands WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
}

export interface IdempotencyRow {
  requestHash: string;
  commandId: string;
}

export async function findIdempotencyKey(manager: EntityManager, userId: string, key: string): Promise<IdempotencyRow | undefined> {
  const rows = await manager.query<IdempotencyRow[]>(
    `SELECT request_hash AS "requestHash", command_id AS "commandId" FROM idempotency_keys WHERE user_id = $1 AND key = $2`,
    [userId, key],
  );
  return rows[0];
}

/** Claims a key; false when another request holds it (it waits for that request's transaction to end first). */
export async function claimIdempotencyKey(manager: EntityManager, userId: string, key: string, hash: string, commandId: string, at: Date): Promise<boolean> {
  const rows = await manager.query<unknown[]>(
    `INSERT INTO idempotency_keys (user_id, key, request_hash, command_id, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (user_id, key) DO NOTHING RETURNING 1 AS claimed`,
    [userId, key, hash, commandId, at],
  );
  return rows.length === 1;
}
