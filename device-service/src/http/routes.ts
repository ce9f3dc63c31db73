import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { AppError, currentUser, parseOrThrow, requireRole, requireUser, route, type IdentitySettings, type Logger } from '@devicesaga/platform';
import { DynsecError, type DynsecClient } from '../mqtt/dynsec';
import { hashSecret, newDeviceSecret } from '../mqtt/password';
import { grantedTo, isMember, mayAccessDeviceGroup, PersonalGroups } from './access';

export interface RouteDeps {
  dataSource: DataSource;
  dynsec: Pick<DynsecClient, 'createDeviceClient' | 'setDevicePassword' | 'deleteDeviceClient'>;
  identity: IdentitySettings;
  logger: Logger;
  /** Tells the services' access caches that who may access what changed (after the change committed). */
  accessChanged: () => void;
}

// Any 8-4-4-4-12 hex id: devices and sensors may have ids their clients chose (legacy create_device).
const idParams = z.object({ id: z.guid() });
const name = z.string().trim().min(1).max(200);
const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.uuid().optional(),
});

const createDeviceBody = z.object({
  /** Client-chosen ids (the legacy-compatible API lets a client pick them); 409 when taken. */
  id: z.guid().optional(),
  name,
  groupId: z.uuid().optional(),
  sensors: z
    .array(z.object({ id: z.guid().optional(), parameter: z.string().min(1).max(64) }))
    .max(64)
    .default([])
    .refine((s) => new Set(s.map((x) => x.parameter)).size === s.length, { message: 'a parameter appears twice' }),
});
const patchDeviceBody = z.object({ name });
const createParameterBody = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'lower-case letters, digits and _ (starting with a letter), at most 64'),
    unit: z.string().max(32).default(''),
    min: z.number().finite(),
    max: z.number().finite(),
    defaultValue: z.number().finite().optional(),
  })
  .refine((p) => p.min < p.max, { message: 'max must be greater than min', path: ['max'] })
  .refine((p) => p.defaultValue === undefined || (p.defaultValue >= p.min && p.defaultValue <= p.max), {
    message: 'defaultValue must be within [min, max]',
    path: ['defaultValue'],
  });
const groupBody = z.object({ name });
const memberBody = z.object({ userId: z.string().min(1).max(64) });
const grantBody = z.object({ deviceGroupId: z.uuid() });
const grantParams = z.object({ id: z.uuid(), deviceGroupId: z.uuid() });

interface SensorRow {
  id: string;
  device_id: string;
  parameter: string;
  value: number | null;
  min: number;
  max: number;
  unit: string;
  updated_at: Date;
}
interface DeviceRow {
  id: string;
  name: string;
  group_id: string;
  created_by: string;
  created_at: Date;
}

const sensorJson = (s: SensorRow) => ({
  id: s.id,
  deviceId: s.device_id,
  parameter: s.parameter,
  value: s.value,
  min: s.min,
  max: s.max,
  unit: s.unit,
  updatedAt: new Date(s.updated_at).toISOString(),
});
const deviceJson = (d: DeviceRow, sensors: SensorRow[]) => ({
  id: d.id,
  name: d.name,
  groupId: d.group_id,
  createdBy: d.created_by,
  createdAt: new Date(d.created_at).toISOString(),
  sensors: sensors.filter((s) => s.device_id === d.id).map(sensorJson),
});

const SENSOR_SELECT = `SELECT s.id, s.device_id, s.parameter, s.value::float8 AS value, p.min::float8 AS min, p.max::float8 AS max,
                              p.unit, s.updated_at
                         FROM sensors s JOIN parameters p ON p.name = s.parameter`;

/** Every route under /api/v1; every object is authorized: what the caller may not see answers 404. */
export function apiRoutes(deps: RouteDeps): Router {
  const { dataSource: ds, dynsec, logger, accessChanged } = deps;
  const personal = new PersonalGroups(ds);
  const r = Router();
  r.use(requireUser(deps.identity));

  /** The caller, with their personal groups ensured. */
  const caller = async (res: Response) => {
    const user = currentUser(res);
    const groups = await personal.ensure(user.id);
    return { ...user, ...groups };
  };

  const sensorsOf = (deviceIds: string[]): Promise<SensorRow[]> =>
    deviceIds.length ? ds.query(`${SENSOR_SELECT} WHERE s.device_id = ANY($1::uuid[]) ORDER BY p.name`, [deviceIds]) : Promise.resolve([]);

  const loadDevice = async (userId: string, id: string): Promise<DeviceRow> => {
    const rows: DeviceRow[] = await ds.query(
      `SELECT d.id, d.name, d.group_id, d.created_by, d.created_at FROM devices d WHERE d.id = $1 AND ${grantedTo('d.group_id', '$2')}`,
      [id, userId],
    );
    const d = rows[0];
    if (!d) throw AppError.notFound('device');
    return d;
  };

  /* ---------------- parameters ---------------- */

  r.get(
    '/parameters',
    route(async (_req, res) => {
      await caller(res);
      const rows: { name: string; unit: string; min: number; max: number; default_value: number | null }[] = await ds.query(
        `SELECT name, unit, min::float8 AS min, max::float8 AS max, default_value::float8 AS default_value FROM parameters ORDER BY name`,
      );
      res.json({ items: rows.map((p) => ({ name: p.name, unit: p.unit, min: p.min, max: p.max, defaultValue: p.default_value })) });
    }),
  );

  // Operators manage parameters (DESIGN.md §5); everyone reads them.
  r.post(
    '/parameters',
    route(async (req, res) => {
      requireRole(res, 'operator');
      const user = await caller(res);
      const body = parseOrThrow(createParameterBody, req.body, 'body');
      const rows: unknown[] = await ds.query(
        `INSERT INTO parameters (name, unit, min, max, default_value, created_by) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO NOTHING RETURNING name`,
        [body.name, body.unit, body.min, body.max, body.defaultValue ?? null, user.id],
      );
      if (rows.length === 0) throw AppError.conflict(`parameter ${body.name} exists`);
      res.status(201).json({ name: body.name, unit: body.unit, min: body.min, max: body.max, defaultValue: body.defaultValue ?? null });
    }),
  );

  /* ---------------- devices ---------------- */

  r.post(
    '/devices',
    route(async (req, res) => {
      const user = await caller(res);
      const body = parseOrThrow(createDeviceBody, req.body, 'body');
      const groupId = body.groupId ?? user.deviceGroupId;
      if (body.groupId && !(await mayAccessDeviceGroup(ds, user.id, body.groupId))) throw AppError.notFound('device group');
      const params: { name: string; min: number; max: number; unit: string; default_value: number | null }[] = await ds.query(
        `SELECT name, unit, min::float8 AS min, max::float8 AS max, default_value::float8 AS default_value FROM parameters WHERE name = ANY($1::text[])`,
        [body.sensors.map((s) => s.parameter)],
      );
      const byName = new Map(params.map((p) => [p.name, p]));
      const unknown = body.sensors.map((s, i) => ({ ...s, i })).filter((s) => !byName.has(s.parameter));
      if (unknown.length) {
        const details = unknown.map((u) => ({ path: `body.sensors.${u.i}.parameter`, message: `unknown parameter ${u.parameter}` }));
        throw AppError.badRequest(`unknown parameter: ${unknown.map((u) => u.parameter).join(', ')}`, details);
      }

      const id = body.id?.toLowerCase() ?? randomUUID();
      const secret = newDeviceSecret();
      const hash = await hashSecret(secret);
      const now = new Date();
      const sensors: SensorRow[] = body.sensors.map((s) => {
        const p = byName.get(s.parameter)!;
        return { id: s.id?.toLowerCase() ?? randomUUID(), device_id: id, parameter: p.name, value: p.default_value ?? p.min, min: p.min, max: p.max, unit: p.unit, updated_at: now };
      });
      // The rows first (a taken id fails there, before the broker is touched), then the broker client inside the
      // transaction; if the commit fails after it, the broker client goes again.
      let brokerClient = false;
      try {
        await ds.transaction(async (m) => {
          await m.query(`INSERT INTO devices (id, name, group_id, created_by, mqtt_password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
            id,
            body.name,
            groupId,
            user.id,
            hash,
            now,
          ]);
          for (const s of sensors) {
            await m.query(`INSERT INTO sensors (id, device_id, parameter, value, updated_at) VALUES ($1, $2, $3, $4, $5)`, [s.id, id, s.parameter, s.value, now]);
          }
          await dynsec.createDeviceClient(id, secret);
          brokerClient = true;
        });
      } catch (err) {
        if ((err as { driverError?: { code?: string } }).driverError?.code === '23505') throw AppError.conflict('a device or sensor with this id exists', 'ID_TAKEN');
        if (!brokerClient) throw err;
        await dynsec.deleteDeviceClient(id).catch((e: unknown) => logger.error({ err: e, deviceId: id }, 'could not remove the MQTT client of a device that failed to save'));
        throw err;
      }
      accessChanged();
      logger.info({ deviceId: id, groupId }, 'device created');
      res
        .status(201)
        .location(`/api/v1/devices/${id}`)
        .json({
          ...deviceJson({ id, name: body.name, group_id: groupId, created_by: user.id, created_at: now }, sensors),
          mqtt: { username: id, password: secret },
        });
    }),
  );

  r.get(
    '/devices',
    route(async (req, res) => {
      const user = await caller(res);
      const q = parseOrThrow(pageQuery, req.query, 'query');
      const rows: DeviceRow[] = await ds.query(
        `SELECT d.id, d.name, d.group_id, d.created_by, d.created_at FROM devices d
          WHERE ${grantedTo('d.group_id', '$1')} AND ($2::uuid IS NULL OR d.id > $2::uuid)
          ORDER BY d.id LIMIT $3`,
        [user.id, q.cursor ?? null, q.limit + 1],
      );
      const page = rows.slice(0, q.limit);
      const sensors = await sensorsOf(page.map((d) => d.id));
      res.json({ items: page.map((d) => deviceJson(d, sensors)), nextCursor: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null });
    }),
  );

  r.get(
    '/devices/:id',
    route(async (req, res) => {
      const user = await caller(res);
      const { id } = parseOrThrow(idParams, req.params, 'params');
      const d = await loadDevice(user.id, id);
      res.json(deviceJson(d, await sensorsOf([d.id])));
    }),
  );

  r.patch(
    '/devices/:id',
    route(async (req, res) => {
      const user = await caller(res);
      const { id } = parseOrThrow(idParams, req.params, 'params');
      const body = parseOrThrow(patchDeviceBody, req.body, 'body');
      const d = await loadDevice(user.id, id);
      await ds.query(`UPDATE devices SET name = $2 WHERE id = $1`, [id, body.name]);
      res.json(deviceJson({ ...d, name: body.name }, await sensorsOf([id])));
    }),
  );

  r.delete(
    '/devices/:id',
    route(async (req, res) => {
      const user = await caller(res);
      const { id } = parseOrThrow(idParams, req.params, 'params');
      await loadDevice(user.id, id);
      // Credentials first: a device that is going away must not keep talking.
      await dynsec.deleteDeviceClient(id);
      await ds.query(`DELETE FROM devices WHERE id = $1`, [id]);
      accessChanged();
      logger.info({ deviceId: id }, 'device deleted');
      res.status(204).end();
    }),
  );

  r.post(
    '/devices/:id/mqtt-credentials',
    route(async (req, res) => {
      const user = await caller(res);
      const { id } = parseOrThrow(idParams, req.params, 'params');
      await loadDevice(user.id, id);
      const secret = newDeviceSecret();
      const hash = await hashSecret(secret);
      try {
        await dynsec.setDevicePassword(id, secret);
      } catch (err) {
        if (err instanceof DynsecError) throw AppError.unavailable('the MQTT broker refused the new secret');
        throw err;
      }
      await ds.query(`UPDATE devices SET mqtt_password_hash = $2 WHERE id = $1`, [id, hash]);
      res.json({ username: id, password: secret });
    }),
  );

  /* ---------------- sensors ---------------- */

  r.get(
    '/sensors/:id',
    route(async (req, res) => {
      const user = await caller(res);
      const { id } = parseOrThrow(idParams, req.params, 'params');
      const rows: SensorRow[] = await ds.query(
        `${SENSOR_SELECT} JOIN devices d ON d.id = s.device_id WHERE s.id = $1 AND ${grantedTo('d.group_id', '$2')}`,
        [id, user.id],
      );
      const s = rows[0];
      if (!s) throw AppError.notFound('sensor');
      res.json(sensorJson(s));
    }),
  );

  /* ---------------- device groups ---------------- */

  r.get(
    '/device-groups',
    route(async (_req, res) => {
      const user = await caller(res);
      const rows: { id: string; name: string; personal_of: string | null; created_at: Date }[] = await ds.query(
        `SELECT dg.id, dg.name, dg.personal_of, dg.created_at FROM device_groups dg WHERE ${grantedTo('dg.id', '$1')} ORDER BY dg.created_at, dg.id`,
        [user.id],
      );
      res.json({ items: rows.map((g) => ({ id: g.id, name: g.name, personal: g.personal_of === user.id, createdAt: new Date(g.created_at).toISOString() })) });
    }),
  );

  r.post(
    '/device-groups',
    route(async (req, res) => {
      const user = await caller(res);
      const body = parseOrThrow(groupBody, req.body, 'body');
      const id = randomUUID();
      await ds.transaction(async (m) => {
        await m.query(`INSERT INTO device_groups (id, name, created_by) VALUES ($1, $2, $3)`, [id, body.name, user.id]);
        await m.query(`INSERT INTO grants (user_group_id, device_group_id, created_by) VALUES ($1, $2, $3)`, [user.userGroupId, id, user.id]);
      });
      res.status(201).json({ id, name: body.name, personal: false });
    }),
  );

  /* ---------------- user groups ---------------- */

  r.get(
    '/user-groups',
    route(async (_req, res) => {
      const user = await caller(res);
      const rows: { id: string; name: string; personal_of: string | null; created_at: Date }[] = await ds.query(
        `SELECT ug.id, ug.name, ug.personal_of, ug.created_at FROM user_groups ug JOIN memberships mb ON mb.user_group_id = ug.id
          WHERE mb.user_id = $1 ORDER BY ug.created_at, ug.id`,
        [user.id],
      );
      res.json({ items: rows.map((g) => ({ id: g.id, name: g.name, personal: g.personal_of === user.id, createdAt: new Date(g.created_at).toISOString() })) });
    }),
  );

  r.post(
    '/user-groups',
    route(async (req, res) => {
      const user = await caller(res);
      const body = parseOrThrow(groupBody, req.body, 'body');
      const id = randomUUID();
      await ds.transaction(async (m) => {
        await m.query(`INSERT INTO user_groups (id, name, created_by) VALUES ($1, $2, $3)`, [id, body.name, user.id]);
        await m.query(`INSERT INTO memberships (user_group_id, user_id) VALUES ($1, $2)`, [id, user.id]);
      });
      res.status(201).json({ id, name: body.name, personal: false });
    }),
  );

  const memberGroup = async (req: Request, res: Response) => {
    const user = await caller(res);
    const { id } = parseOrThrow(idParams.pick({ id: true }), { id: req.params.id }, 'params');
    if (!(await isMember(ds, user.id, id))) throw AppError.notFound('user group');
    return { user, id };
  };

  r.get(
    '/user-groups/:id',
    route(async (req, res) => {
      const { id } = await memberGroup(req, res);
      const [g] = await ds.query<{ id: string; name: string; created_at: Date }[]>(`SELECT id, name, created_at FROM user_groups WHERE id = $1`, [id]);
      const members: { user_id: string }[] = await ds.query(`SELECT user_id FROM memberships WHERE user_group_id = $1 ORDER BY created_at`, [id]);
      const grants: { device_group_id: string }[] = await ds.query(`SELECT device_group_id FROM grants WHERE user_group_id = $1 ORDER BY created_at`, [id]);
      res.json({ id, name: g?.name, members: members.map((x) => x.user_id), deviceGroupIds: grants.map((x) => x.device_group_id) });
    }),
  );

  r.post(
    '/user-groups/:id/members',
    route(async (req, res) => {
      const { id } = await memberGroup(req, res);
      const body = parseOrThrow(memberBody, req.body, 'body');
      await ds.query(`INSERT INTO memberships (user_group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [id, body.userId]);
      accessChanged();
      res.status(201).json({ userGroupId: id, userId: body.userId });
    }),
  );

  r.post(
    '/user-groups/:id/grants',
    route(async (req, res) => {
      const { user, id } = await memberGroup(req, res);
      const body = parseOrThrow(grantBody, req.body, 'body');
      if (!(await mayAccessDeviceGroup(ds, user.id, body.deviceGroupId))) throw AppError.notFound('device group');
      await ds.query(`INSERT INTO grants (user_group_id, device_group_id, created_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
        id,
        body.deviceGroupId,
        user.id,
      ]);
      accessChanged();
      res.status(201).json({ userGroupId: id, deviceGroupId: body.deviceGroupId });
    }),
  );

  r.delete(
    '/user-groups/:id/grants/:deviceGroupId',
    route(async (req, res) => {
      const user = await caller(res);
      const p = parseOrThrow(grantParams, req.params, 'params');
      if (!(await isMember(ds, user.id, p.id))) throw AppError.notFound('user group');
      if (p.id === user.userGroupId && p.deviceGroupId === user.deviceGroupId) throw AppError.conflict('the personal grant cannot be removed');
      const rows: unknown = await ds.query(`DELETE FROM grants WHERE user_group_id = $1 AND device_group_id = $2 RETURNING 1`, [p.id, p.deviceGroupId]);
      const deleted = Array.isArray(rows) && Array.isArray(rows[0]) ? rows[0].length : 0;
      if (!deleted) throw AppError.notFound('grant');
      accessChanged();
      res.status(204).end();
    }),
  );

  return r;
}
