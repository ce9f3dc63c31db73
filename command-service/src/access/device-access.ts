import { z } from 'zod';
import { AppError, IDENTITY_HEADER, type Logger } from '@devicesaga/platform';

export interface DeviceAccessOptions {
  baseUrl: string;
  timeoutMs: number;
  /** Positive answers are cached this long per (user, sensor); 0 = no cache. */
  cacheTtlMs: number;
  cacheMax: number;
  logger: Logger;
}

const sensorAnswer = z.object({ id: z.string(), deviceId: z.string() });

/**
 * Asks device-service whether a user may command a sensor of a device: `GET /api/v1/sensors/{id}` with the caller's
 * signed identity (`X-DS-Identity`, marked `via: command-service`) (device-service answers 404 for a sensor the user cannot access). 404, or a sensor of another device,
 * answers 404 "device not found"; device-service unreachable or failing answers 503.
 *
 * Positive answers are cached briefly in an in-memory LRU keyed by (user, sensor), and concurrent look-ups of the same
 * key share one request, so a benchmark at 1,000 commands/s does not put 1,000 requests/s on device-service. The
 * price: a revoked grant is honoured for up to `cacheTtlMs` more here — device-service checks access again when it
 * validates the command, so such a command is REJECTED (FORBIDDEN), never applied.
 */
export class DeviceAccess {
  private readonly cache = new Map<string, { deviceId: string; until: number }>();
  private readonly inflight = new Map<string, Promise<string | null>>();

  constructor(private readonly options: DeviceAccessOptions) {}

  async assertSensorOfDevice(userId: string, identity: string, deviceId: string, sensorId: string): Promise<void> {
    const sensorDevice = await this.sensorDevice(userId, identity, sensorId);
    if (sensorDevice === null || sensorDevice !== deviceId) throw AppError.notFound('device');
  }

  /** The device of a sensor the user may access, or null. */
  private async sensorDevice(userId: string, identity: string, sensorId: string): Promise<string | null> {
    const key = `${userId}\u0000${sensorId}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      if (hit.until > Date.now()) {
        this.cache.set(key, hit); // most recently used last
        return hit.deviceId;
      }
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetchSensor(identity, sensorId).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const deviceId = await pending;
    if (deviceId !== null && this.options.cacheTtlMs > 0) {
      this.cache.set(key, { deviceId, until: Date.now() + this.options.cacheTtlMs });
      while (this.cache.size > this.options.cacheMax) {
        const oldest = this.cache.keys().next();
        if (oldest.done) break;
        this.cache.delete(oldest.value);
      }
    }
    return deviceId;
  }

  private async fetchSensor(identity: string, sensorId: string): Promise<string | null> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}/api/v1/sensors/${encodeURIComponent(sensorId)}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { [IDENTITY_HEADER]: identity, accept: 'application/json' }, signal: AbortSignal.timeout(this.options.timeoutMs) });
    } catch (err) {
      this.options.logger.warn({ err: err instanceof Error ? err.message : String(err), url }, 'device-service unreachable');
      throw AppError.unavailable('device-service unavailable');
    }
    if (res.status === 404 || res.status === 403) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      this.options.logger.warn({ status: res.status, url }, 'device-service answered an error');
      throw AppError.unavailable('device-service unavailable');
    }
    const parsed = sensorAnswer.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success) {
      this.options.logger.warn({ url }, 'device-service answered an unexpected sensor body');
      throw AppError.unavailable('device-service unavailable');
    }
    return parsed.data.deviceId;
  }
}
