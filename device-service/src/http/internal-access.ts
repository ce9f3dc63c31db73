import { Router } from 'express';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { AppError, currentUser, parseOrThrow, route, type DeviceInfoAnswer, type UserAccessAnswer } from '@devicesaga/platform';
import { grantedTo } from './access';

/** A caller on the internal routes must be a service, never a user (users never get a `service:` identity). */
export const SERVICE_PREFIX = 'service:';

const userParams = z.object({ userId: z.string().min(1).max(64) });
const deviceParams = z.object({ deviceId: z.uuid() });
/** Device ids as devices name themselves on MQTT: anything up to 64 characters; only uuids can be ours. */
const lookupBody = z.object({ ids: z.array(z.string().max(64)).max(1000) });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The access read model's source (packages/platform/src/access.ts): which devices and sensors a user may access, which
 * users may access a device. Not routed by the gateway; callers are other services.
 */
export function internalAccessRoutes(ds: DataSource): Router {
  const r = Router();
  r.use((_req, res, next) => {
    if (!currentUser(res).id.startsWith(SERVICE_PREFIX)) {
      next(AppError.notFound('route'));
      return;
    }
    next();
  });

  r.get(
    '/access/users/:userId',
    route(async (req, res) => {
      const { userId } = parseOrThrow(userParams, req.params, 'params');
      const rows: { device_id: string; sensor_id: string | null; parameter: string | null }[] = await ds.query(
        `SELECT d.id AS device_id, s.id AS sensor_id, s.parameter
           FROM devices d LEFT JOIN sensors s ON s.device_id = d.id
          WHERE ${grantedTo('d.group_id', '$1')}
          ORDER BY d.id`,
        [userId],
      );
      const devices = new Map<string, UserAccessAnswer['devices'][number]>();
      for (const row of rows) {
        let d = devices.get(row.device_id);
        if (!d) devices.set(row.device_id, (d = { id: row.device_id, sensors: [] }));
        if (row.sensor_id && row.parameter) d.sensors.push({ id: row.sensor_id, parameter: row.parameter });
      }
      const answer: UserAccessAnswer = { devices: [...devices.values()] };
      res.json(answer);
    }),
  );

  r.get(
    '/access/devices/:deviceId/users',
    route(async (req, res) => {
      const { deviceId } = parseOrThrow(deviceParams, req.params, 'params');
      const rows: { user_id: string }[] = await ds.query(
        `SELECT DISTINCT mb.user_id FROM devices d
           JOIN grants g ON g.device_group_id = d.group_id
           JOIN memberships mb ON mb.user_group_id = g.user_group_id
          WHERE d.id = $1 ORDER BY mb.user_id`,
        [deviceId],
      );
      res.json({ users: rows.map((r) => r.user_id) });
    }),
  );
  /** The registry facts of devices (group, sensors) for consumers of their telemetry; unknown ids are left out. */
  r.post(
    '/access/devices/lookup',
    route(async (req, res) => {
      const { ids } = parseOrThrow(lookupBody, req.body, 'body');
      const uuids = [...new Set(ids.filter((id) => UUID.test(id)))];
      const rows: { device_id: string; group_id: string; sensor_id: string | null; parameter: string | null }[] = uuids.length
        ? await ds.query(
            `SELECT d.id AS device_id, d.group_id, s.id AS sensor_id, s.parameter
               FROM devices d LEFT JOIN sensors s ON s.device_id = d.id
              WHERE d.id = ANY($1::uuid[])`,
            [uuids],
          )
        : [];
      const devices = new Map<string, DeviceInfoAnswer['devices'][number]>();
      for (const row of rows) {
        let d = devices.get(row.device_id);
        if (!d) devices.set(row.device_id, (d = { id: row.device_id, groupId: row.group_id, sensors: [] }));
        if (row.sensor_id && row.parameter) d.sensors.push({ id: row.sensor_id, parameter: row.parameter });
      }
      const answer: DeviceInfoAnswer = { devices: [...devices.values()] };
      res.json(answer);
    }),
  );
  return r;
}
