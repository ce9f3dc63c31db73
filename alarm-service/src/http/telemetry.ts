import { Router } from 'express';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { TelemetrySeries } from '@devicesaga/contracts';
import { AppError, currentUser, parseOrThrow, route } from '@devicesaga/platform';
import { bucketMs } from '../domain/buckets';
import type { Access } from './alarms';

const params = z.object({ id: z.string().min(1).max(64) });
const query = z.object({
  sensorId: z.string().min(1).max(64),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  bucket: z
    .string()
    .refine((b) => bucketMs(b) !== undefined, { message: 'a duration like 30s, 1m, 15m, 1h or 1d' })
    .optional(),
});

const HOUR = 3_600_000;

export interface TelemetryRouteDeps {
  dataSource: DataSource;
  access: Access;
  maxPoints: number;
}

/**
 * `GET /devices/{id}/telemetry?sensorId=&from=&to=&bucket=`: the sensor's stored readings in [from, to) (default: the
 * last hour), raw or in buckets aligned on the epoch with min/max/avg/last/count. Only for devices the caller may
 * access (404 otherwise). At most `maxPoints` raw points (the earliest) or buckets (400 when more would be needed).
 */
export function telemetryRoutes({ dataSource: ds, access, maxPoints }: TelemetryRouteDeps): Router {
  const r = Router();
  r.get(
    '/devices/:id/telemetry',
    route(async (req, res) => {
      const user = currentUser(res);
      const { id } = parseOrThrow(params, req.params, 'params');
      const q = parseOrThrow(query, req.query, 'query');
      const device = (await access.devicesOf(user.id)).get(id);
      if (!device) throw AppError.notFound('device');
      const parameter = device.sensors.get(q.sensorId);
      if (parameter === undefined) throw AppError.notFound('sensor');
      const to = q.to ? Date.parse(q.to) : Date.now();
      const from = q.from ? Date.parse(q.from) : to - HOUR;
      if (from >= to) throw AppError.badRequest('from must be before to', [{ path: 'query.from', message: 'not before to' }]);
      const series: TelemetrySeries = {
        deviceId: id,
        sensorId: q.sensorId,
        parameter,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        bucket: q.bucket ?? null,
        points: [],
      };
      const range = [q.sensorId, series.from, series.to];
      if (!q.bucket) {
        const rows = await ds.query<{ ts: Date; value: number }[]>(
          `SELECT ts, value FROM telemetry WHERE sensor_id = $1::uuid AND ts >= $2 AND ts < $3 ORDER BY ts LIMIT $4`,
          [...range, maxPoints],
        );
        series.points = rows.map((p) => ({ ts: new Date(p.ts).toISOString(), value: p.value }));
      } else {
        const size = bucketMs(q.bucket)!;
        const buckets = Math.floor((to - 1) / size) - Math.floor(from / size) + 1;
        if (buckets > maxPoints) {
          throw AppError.badRequest(`${buckets} buckets of ${q.bucket} in that range: at most ${maxPoints}`, [{ path: 'query.bucket', message: 'too small for the range' }]);
        }
        const rows = await ds.query<{ ts: Date; min: number; max: number; avg: number; last: number; count: number }[]>(
          `SELECT date_bin(make_interval(secs => $4::float8 / 1000), ts, timestamptz 'epoch') AS ts, min(value) AS min, max(value) AS max,
                  avg(value) AS avg, (array_agg(value ORDER BY ts DESC))[1] AS last, count(*)::int AS count
             FROM telemetry WHERE sensor_id = $1::uuid AND ts >= $2 AND ts < $3
            GROUP BY 1 ORDER BY 1`,
          [...range, size],
        );
        series.points = rows.map((b) => ({ ts: new Date(b.ts).toISOString(), min: b.min, max: b.max, avg: b.avg, last: b.last, count: b.count }));
      }
      res.json(series);
    }),
  );
  return r;
}
