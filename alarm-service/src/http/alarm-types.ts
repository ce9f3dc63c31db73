import { Router } from 'express';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { alarmSeverityName } from '@devicesaga/contracts';
import { AppError, currentUser, parseOrThrow, requireOperator, route, type Bus } from '@devicesaga/platform';
import { ALARM_TYPE_COLUMNS, alarmTypeView, type AlarmTypeRow } from '../alarms/alarm-types';
import { clearAlarms } from '../alarms/alarms-repo';

const idParams = z.object({ id: z.uuid() });
const finite = z.number().finite();
const fields = {
  name: z.string().trim().min(1).max(200),
  parameter: z.string().min(1).max(64),
  lower: finite,
  upper: finite,
  severity: alarmSeverityName,
  deviceGroupId: z.uuid().nullable(),
  hysteresis: finite.nonnegative(),
  minDurationSeconds: finite.nonnegative().max(86_400),
};
const rangeOk = (t: { lower?: number; upper?: number }) => t.lower === undefined || t.upper === undefined || t.lower <= t.upper;
const createBody = z
  .object({ ...fields, deviceGroupId: fields.deviceGroupId.default(null), hysteresis: fields.hysteresis.default(0), minDurationSeconds: fields.minDurationSeconds.default(0) })
  .refine(rangeOk, { message: 'upper must not be below lower', path: ['upper'] });
const patchBody = z.object(fields).partial().refine((b) => Object.keys(b).length > 0, { message: 'nothing to change' });

const UNIQUE_VIOLATION = '23505';
const CHECK_VIOLATION = '23514';

export interface AlarmTypeRouteDeps {
  dataSource: DataSource;
  bus: Pick<Bus, 'transaction'>;
  /** Tells every instance's evaluator that the types changed (after the commit). */
  changed: () => void;
}

/** `/alarm-types`: everyone reads, operators create, change and delete (DESIGN.md §5). */
export function alarmTypeRoutes({ dataSource: ds, bus, changed }: AlarmTypeRouteDeps): Router {
  const r = Router();
  const one = async (id: string): Promise<AlarmTypeRow> => {
    const [row] = (await ds.query<AlarmTypeRow[]>(`SELECT ${ALARM_TYPE_COLUMNS} FROM alarm_types WHERE id = $1`, [id]));
    if (!row) throw AppError.notFound('alarm type');
    return row;
  };
  const conflicts = (err: unknown, name: string | undefined): never => {
    const code = (err as { code?: string }).code;
    if (code === UNIQUE_VIOLATION) throw AppError.conflict(`an alarm type named ${JSON.stringify(name)} exists`);
    if (code === CHECK_VIOLATION) throw AppError.badRequest('upper must not be below lower', [{ path: 'body.upper', message: 'below lower' }]);
    throw err;
  };

  r.get(
    '/alarm-types',
    route(async (_req, res) => {
      currentUser(res);
      const rows = (await ds.query<AlarmTypeRow[]>(`SELECT ${ALARM_TYPE_COLUMNS} FROM alarm_types ORDER BY name`));
      res.json({ items: rows.map(alarmTypeView) });
    }),
  );

  r.get(
    '/alarm-types/:id',
    route(async (req, res) => {
      currentUser(res);
      const { id } = parseOrThrow(idParams, req.params, 'params');
      res.json(alarmTypeView(await one(id)));
    }),
  );

  r.post(
    '/alarm-types',
    route(async (req, res) => {
      const user = currentUser(res);
      requireOperator(user);
      const b = parseOrThrow(createBody, req.body, 'body');
      const [row] = (await ds
        .query(
          `INSERT INTO alarm_types (name, parameter, lower, upper, severity, device_group_id, hysteresis, min_duration_seconds, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${ALARM_TYPE_COLUMNS}`,
          [b.name, b.parameter, b.lower, b.upper, b.severity, b.deviceGroupId, b.hysteresis, b.minDurationSeconds, user.id],
        )
        .catch((err: unknown) => conflicts(err, b.name))) as AlarmTypeRow[];
      changed();
      res.status(201).location(`/api/v1/alarm-types/${row!.id}`).json(alarmTypeView(row!));
    }),
  );

  const update = route(async (req, res) => {
    requireOperator(currentUser(res));
    const { id } = parseOrThrow(idParams, req.params, 'params');
    const b = parseOrThrow(patchBody, req.body, 'body');
    const [rows] = (await ds
      .query(
        `UPDATE alarm_types SET
           name = COALESCE($2, name), parameter = COALESCE($3, parameter), lower = COALESCE($4, lower), upper = COALESCE($5, upper),
           severity = COALESCE($6, severity), device_group_id = CASE WHEN $7::bool THEN $8::uuid ELSE device_group_id END,
           hysteresis = COALESCE($9, hysteresis), min_duration_seconds = COALESCE($10, min_duration_seconds), updated_at = now()
         WHERE id = $1 RETURNING ${ALARM_TYPE_COLUMNS}`,
        [
          id,
          b.name ?? null,
          b.parameter ?? null,
          b.lower ?? null,
          b.upper ?? null,
          b.severity ?? null,
          b.deviceGroupId !== undefined,
          b.deviceGroupId ?? null,
          b.hysteresis ?? null,
          b.minDurationSeconds ?? null,
        ],
      )
      .catch((err: unknown) => conflicts(err, b.name))) as [AlarmTypeRow[], number]; // TypeORM: [rows, count] for UPDATE
    const updated = rows[0];
    if (!updated) throw AppError.notFound('alarm type');
    changed();
    res.json(alarmTypeView(updated));
  });
  r.patch('/alarm-types/:id', update);
  r.put('/alarm-types/:id', update);

  /** Deleting a type clears its active alarms (cleared by the operator, announced) and forgets its pending conditions. */
  r.delete(
    '/alarm-types/:id',
    route(async (req, res) => {
      const user = currentUser(res);
      requireOperator(user);
      const { id } = parseOrThrow(idParams, req.params, 'params');
      const deleted = await bus.transaction(async (ctx) => {
        const gone = (await ctx.manager.query<[unknown[], number]>(`DELETE FROM alarm_types WHERE id = $1 RETURNING id`, [id]));
        if (gone[1] === 0) return false;
        await ctx.manager.query(`DELETE FROM alarm_pending WHERE alarm_type_id = $1`, [id]);
        await clearAlarms(ctx, { where: 'a.alarm_type_id = $2 AND a.cleared_at IS NULL', params: [id] }, user.id);
        return true;
      });
      if (!deleted) throw AppError.notFound('alarm type');
      changed();
      res.status(204).end();
    }),
  );
  return r;
}
