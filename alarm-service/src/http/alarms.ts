import { Router } from 'express';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { alarmSeverityName, alarmStatus, type AlarmStatusName } from '@devicesaga/contracts';
import { AppError, currentUser, parseOrThrow, route, type AccessClient, type Bus } from '@devicesaga/platform';
import { acknowledge, ALARM_COLUMNS, alarmView, clearAlarms, findAlarm, type AlarmRow } from '../alarms/alarms-repo';
import { statusCondition } from '../domain/alarm-status';

export type Access = Pick<AccessClient, 'devicesOf'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const idParams = z.object({ id: z.uuid() });
const listQuery = z.object({
  /** One status or several, comma-separated. */
  status: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(alarmStatus).min(1))
    .optional(),
  deviceId: z.string().min(1).max(64).optional(),
  severity: alarmSeverityName.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});

const encodeCursor = (r: AlarmRow) => Buffer.from(`${new Date(r.raised_at).toISOString()}|${r.id}`).toString('base64url');
function decodeCursor(cursor: string): { raisedAt: string; id: string } {
  const [raisedAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!raisedAt || !id || !UUID.test(id) || Number.isNaN(Date.parse(raisedAt))) throw AppError.badRequest('invalid cursor', [{ path: 'query.cursor', message: 'invalid' }]);
  return { raisedAt, id };
}

export interface AlarmRouteDeps {
  dataSource: DataSource;
  bus: Pick<Bus, 'transaction'>;
  access: Access;
}

/** `/alarms`: the alarms of the devices the caller may access (anything else is not found); ack and clear. */
export function alarmRoutes({ dataSource: ds, bus, access }: AlarmRouteDeps): Router {
  const r = Router();

  /** The alarm, if the caller may access its device; 404 otherwise. */
  const accessible = async (userId: string, id: string): Promise<AlarmRow> => {
    const row = await findAlarm(ds, id);
    if (!row || !(await access.devicesOf(userId)).has(row.device_id)) throw AppError.notFound('alarm');
    return row;
  };

  r.get(
    '/alarms',
    route(async (req, res) => {
      const user = currentUser(res);
      const q = parseOrThrow(listQuery, req.query, 'query');
      const mine = await access.devicesOf(user.id);
      const devices = (q.deviceId ? (mine.has(q.deviceId) ? [q.deviceId] : []) : [...mine.keys()]).filter((id) => UUID.test(id));
      if (devices.length === 0) {
        res.json({ items: [], nextCursor: null });
        return;
      }
      const statuses: AlarmStatusName[] = q.status ? [...new Set(q.status)] : [];
      const conditions = ['a.device_id = ANY($1::uuid[])'];
      const params: unknown[] = [devices];
      if (statuses.length) conditions.push(`(${statuses.map((s) => `(${statusCondition(s)})`).join(' OR ')})`);
      if (q.severity) {
        params.push(q.severity);
        conditions.push(`a.severity = $${params.length}`);
      }
      if (q.cursor) {
        const c = decodeCursor(q.cursor);
        params.push(c.raisedAt, c.id);
        conditions.push(`(a.raised_at, a.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
      }
      params.push(q.limit + 1);
      const rows = (await ds.query<AlarmRow[]>(
        `SELECT ${ALARM_COLUMNS} FROM alarms a WHERE ${conditions.join(' AND ')} ORDER BY a.raised_at DESC, a.id DESC LIMIT $${params.length}`,
        params,
      ));
      const page = rows.slice(0, q.limit);
      res.json({ items: page.map(alarmView), nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!) : null });
    }),
  );

  r.get(
    '/alarms/:id',
    route(async (req, res) => {
      const { id } = parseOrThrow(idParams, req.params, 'params');
      res.json(alarmView(await accessible(currentUser(res).id, id)));
    }),
  );

  /** A person saw it: ACTIVE_UNACK → ACTIVE_ACK, CLEARED_UNACK → CLEARED_ACK; acknowledging again changes nothing. */
  r.post(
    '/alarms/:id/ack',
    route(async (req, res) => {
      const user = currentUser(res);
      const { id } = parseOrThrow(idParams, req.params, 'params');
      await accessible(user.id, id);
      const row = await acknowledge(ds, id, user.id);
      res.json(alarmView(row!));
    }),
  );

  /** A person ends it (announced as `alarm.alarm_cleared` with `clearedBy`); clearing a cleared alarm changes nothing. */
  r.post(
    '/alarms/:id/clear',
    route(async (req, res) => {
      const user = currentUser(res);
      const { id } = parseOrThrow(idParams, req.params, 'params');
      await accessible(user.id, id);
      await bus.transaction((ctx) => clearAlarms(ctx, { where: 'a.id = $2 AND a.cleared_at IS NULL', params: [id] }, user.id));
      res.json(alarmView((await findAlarm(ds, id))!));
    }),
  );
  return r;
}
