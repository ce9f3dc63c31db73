import type { EntityManager } from 'typeorm';
import type { CommandState } from '../domain/outcome';
import type { PendingCommand } from './entities';
import { pendingRows, rows, toPending, type PendingRow } from './rows';

/* The adapter's pending commands: one statement per kind of write, whatever the batch size. */

export interface ApprovedCommand {
  commandId: string;
  deviceId: string;
  sensorId: string;
  userId: string;
  parameter: string;
  action: 'set' | 'add';
  value: number;
  expiresAt: string;
  /** The device was online when the command was recorded: its reply deadline starts now. */
  online: boolean;
  causationId: string;
}

export interface RecordedCommand {
  command: PendingCommand;
  /** False when the command was already there (a redelivered approval). */
  inserted: boolean;
}

/**
 * Records approved commands (`INSERT … SELECT FROM unnest`, existing ones untouched) and answers every one of them as
 * it now is — inserted, or as it was (a redelivery). One statement: the outer SELECT sees the table as it was before
 * the insert, so a row comes back once, either from the insert or from before.
 */
export async function recordApproved(m: EntityManager, commands: ApprovedCommand[], replyTimeoutMs: number): Promise<RecordedCommand[]> {
  if (commands.length === 0) return [];
  const col = <K extends keyof ApprovedCommand>(k: K) => commands.map((c) => c[k]);
  const found = await rows<PendingRow & { inserted: boolean }>(
    m,
    `WITH input AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[],
                            $8::timestamptz[], $9::boolean[], $10::text[])
         AS t(command_id, device_id, sensor_id, user_id, parameter, action, value, expires_at, online, causation_id)),
     ins AS (
       INSERT INTO pending_command (command_id, device_id, sensor_id, user_id, parameter, action, value, expires_at, sent_at,
                                    reply_deadline, state, causation_id)
       SELECT command_id, device_id, sensor_id, user_id, parameter, action, value, expires_at, now(),
              CASE WHEN online THEN now() + make_interval(secs => $11::double precision / 1000) END, 'PENDING', causation_id
       FROM input
       ON CONFLICT (command_id) DO NOTHING
       RETURNING *)
     SELECT ins.*, true AS inserted FROM ins
     UNION ALL
     SELECT p.*, false AS inserted FROM pending_command p WHERE p.command_id = ANY($1::uuid[])`,
    [col('commandId'), col('deviceId'), col('sensorId'), col('userId'), col('parameter'), col('action'), col('value'), col('expiresAt'), col('online'), col('causationId'), replyTimeoutMs],
  );
  return found.map((r) => ({ command: toPending(r), inserted: r.inserted }));
}

export interface ReplyClose {
  commandId: string;
  deviceId: string;
  state: Exclude<CommandState, 'PENDING'>;
  reason: string | null;
  deviceValue: number | null;
}

/**
 * Closes the pending commands a batch of replies answers (one `UPDATE … FROM unnest`); a reply to a closed or unknown
 * command, or naming another device's command, matches nothing. Answers the rows it closed. Callers pass at most one
 * reply per command.
 */
export function closeWithReplies(m: EntityManager, replies: ReplyClose[]): Promise<PendingCommand[]> {
  if (replies.length === 0) return Promise.resolve([]);
  return pendingRows(
    m,
    `WITH u AS (
       UPDATE pending_command p SET state = r.state, reason = r.reason, device_value = r.device_value, closed_at = now()
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::float8[]) AS r(command_id, device_id, state, reason, device_value)
       WHERE p.command_id = r.command_id AND p.device_id = r.device_id AND p.state = 'PENDING'
       RETURNING p.*)
     SELECT * FROM u`,
    [replies.map((r) => r.commandId), replies.map((r) => r.deviceId), replies.map((r) => r.state), replies.map((r) => r.reason), replies.map((r) => r.deviceValue)],
  );
}

export interface DeadlineRow {
  commandId: string;
  deviceId: string;
  state: CommandState;
  expiresAt: Date;
  replyDeadline: Date | null;
  dbNow: Date;
}

/** Locks the given commands and reads their deadlines as the table has them, with the database's clock. */
export async function lockDeadlines(m: EntityManager, commandIds: string[]): Promise<DeadlineRow[]> {
  const found = await rows<{ command_id: string; device_id: string; state: CommandState; expires_at: Date; reply_deadline: Date | null; db_now: Date }>(
    m,
    `SELECT command_id, device_id, state, expires_at, reply_deadline, now() AS db_now FROM pending_command
     WHERE command_id = ANY($1::uuid[]) ORDER BY command_id FOR UPDATE`,
    [commandIds],
  );
  return found.map((r) => ({ commandId: r.command_id, deviceId: r.device_id, state: r.state, expiresAt: r.expires_at, replyDeadline: r.reply_deadline, dbNow: r.db_now }));
}

export interface DeadlineClose {
  commandId: string;
  state: 'TIMEOUT' | 'EXPIRED';
  reason: string;
}

/** Closes commands whose deadline passed (decided by the caller on the locked rows); answers the rows it closed. */
export function closeWithOutcomes(m: EntityManager, closes: DeadlineClose[]): Promise<PendingCommand[]> {
  if (closes.length === 0) return Promise.resolve([]);
  return pendingRows(
    m,
    `WITH u AS (
       UPDATE pending_command p SET state = c.state, reason = c.reason, closed_at = now()
       FROM unnest($1::uuid[], $2::text[], $3::text[]) AS c(command_id, state, reason)
       WHERE p.command_id = c.command_id AND p.state = 'PENDING'
       RETURNING p.*)
     SELECT * FROM u`,
    [closes.map((c) => c.commandId), closes.map((c) => c.state), closes.map((c) => c.reason)],
  );
}

/** Every open command (a restarted adapter rebuilds its deadlines and publishes them again). */
export function openCommands(m: EntityManager): Promise<PendingCommand[]> {
  return pendingRows(m, `SELECT * FROM pending_command WHERE state = 'PENDING' ORDER BY sent_at`);
}

/**
 * A change of presence for the open commands of these devices: offline ones wait for their TTL (no reply deadline),
 * online ones get a reply deadline from now (unless expired). Answers the commands it changed.
 */
export function applyPresence(m: EntityManager, devices: { deviceId: string; online: boolean }[], replyTimeoutMs: number): Promise<PendingCommand[]> {
  if (devices.length === 0) return Promise.resolve([]);
  return pendingRows(
    m,
    `WITH u AS (
       UPDATE pending_command p
       SET reply_deadline = CASE WHEN d.online THEN now() + make_interval(secs => $3::double precision / 1000) END
       FROM unnest($1::text[], $2::boolean[]) AS d(device_id, online)
       WHERE p.device_id = d.device_id AND p.state = 'PENDING' AND (NOT d.online OR p.expires_at > now())
       RETURNING p.*)
     SELECT * FROM u ORDER BY sent_at`,
    [devices.map((d) => d.deviceId), devices.map((d) => d.online), replyTimeoutMs],
  );
}

/** Gives a reply deadline to open commands of these (online) devices that have none yet; answers them. */
export function armWithoutDeadline(m: EntityManager, deviceIds: string[], replyTimeoutMs: number): Promise<PendingCommand[]> {
  if (deviceIds.length === 0) return Promise.resolve([]);
  return pendingRows(
    m,
    `WITH u AS (
       UPDATE pending_command SET reply_deadline = now() + make_interval(secs => $2::double precision / 1000)
       WHERE device_id = ANY($1::text[]) AND state = 'PENDING' AND reply_deadline IS NULL AND expires_at > now()
       RETURNING *)
     SELECT * FROM u`,
    [deviceIds, replyTimeoutMs],
  );
}
