import { z } from 'zod';
import { AppError } from './errors';
import type { Logger } from './logger';
import type { Redis } from './redis';

/**
 * The access read model every service but device-service uses: which devices (and their sensors) a user may access,
 * and which users may access a device. device-service owns the truth (device groups, user groups, grants) and answers
 * it on internal routes; this client caches the answers in memory and drops them when device-service announces a
 * change on Redis (`access-changed`, published after the change commits), so a revoked grant takes effect at once —
 * within a second even if that message is lost, by the cache's short lifetime. Lookups of one key in flight are
 * shared, so a burst of requests makes one call.
 */
export const ACCESS_CHANGED_CHANNEL = 'access-changed';

/** Announces that grants, groups or devices changed (call after the transaction committed). */
export function publishAccessChanged(redis: Redis, logger: Logger): void {
  redis.publish(ACCESS_CHANGED_CHANNEL, '1').catch((err: unknown) => logger.warn({ err }, 'access change not announced: caches expire within their TTL'));
}

export const userAccessAnswer = z.object({
  devices: z.array(z.object({ id: z.string(), sensors: z.array(z.object({ id: z.string(), parameter: z.string() })) })),
});
export type UserAccessAnswer = z.infer<typeof userAccessAnswer>;
export const deviceUsersAnswer = z.object({ users: z.array(z.string()) });

export interface AccessibleDevice {
  id: string;
  /** sensor id → parameter */
  sensors: ReadonlyMap<string, string>;
}

export interface AccessClientOptions {
  /** device-service's base URL. */
  baseUrl: string;
  /** Headers that identify the calling service to device-service's internal routes. */
  authHeaders: () => Promise<Record<string, string>> | Record<string, string>;
  /** A Redis connection this client may put in subscriber mode (not shared with commands). */
  subscriber: Redis;
  logger: Logger;
  /** Safety net when an announcement is lost (default 1,000 ms). */
  ttlMs?: number;
  timeoutMs?: number;
  maxEntries?: number;
}

interface Entry<T> {
  value: T;
  until: number;
}

export class AccessClient {
  private readonly users = new Map<string, Entry<Map<string, AccessibleDevice>>>();
  private readonly devices = new Map<string, Entry<string[]>>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Bumped by every announcement: an answer fetched before it is not cached. */
  private generation = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(private readonly options: AccessClientOptions) {
    this.ttlMs = options.ttlMs ?? 1_000;
    this.maxEntries = options.maxEntries ?? 50_000;
  }

  /** Subscribes to announcements; resolves once subscribed. */
  async start(): Promise<void> {
    const { subscriber } = this.options;
    subscriber.on('message', (channel: string) => {
      if (channel === ACCESS_CHANGED_CHANNEL) this.invalidate();
    });
    // after a reconnect, announcements may have been missed
    subscriber.on('ready', () => this.invalidate());
    await subscriber.subscribe(ACCESS_CHANGED_CHANNEL);
  }

  invalidate(): void {
    this.generation++;
    this.users.clear();
    this.devices.clear();
  }

  /** The devices a user may access, with their sensors. */
  async devicesOf(userId: string): Promise<ReadonlyMap<string, AccessibleDevice>> {
    return this.cached(this.users, `u:${userId}`, userId, async () => {
      const answer = userAccessAnswer.parse(await this.get(`/internal/v1/access/users/${encodeURIComponent(userId)}`));
      return new Map(answer.devices.map((d) => [d.id, { id: d.id, sensors: new Map(d.sensors.map((s) => [s.id, s.parameter])) }]));
    });
  }

  async mayAccess(userId: string, deviceId: string): Promise<boolean> {
    return (await this.devicesOf(userId)).has(deviceId);
  }

  /** The device of a sensor the user may access, or null. */
  async deviceOfSensor(userId: string, sensorId: string): Promise<string | null> {
    for (const d of (await this.devicesOf(userId)).values()) if (d.sensors.has(sensorId)) return d.id;
    return null;
  }

  /** The users who may access a device. */
  async usersOf(deviceId: string): Promise<string[]> {
    return this.cached(this.devices, `d:${deviceId}`, deviceId, async () =>
      deviceUsersAnswer.parse(await this.get(`/internal/v1/access/devices/${encodeURIComponent(deviceId)}/users`)).users,
    );
  }

  private async cached<T>(map: Map<string, Entry<T>>, flightKey: string, key: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit && hit.until > Date.now()) return hit.value;
    let pending = this.inflight.get(flightKey) as Promise<T> | undefined;
    if (!pending) {
      const generation = this.generation;
      pending = load()
        .then((value) => {
          if (generation === this.generation) {
            if (map.size >= this.maxEntries) map.clear();
            map.set(key, { value, until: Date.now() + this.ttlMs });
          }
          return value;
        })
        .finally(() => this.inflight.delete(flightKey));
      this.inflight.set(flightKey, pending);
    }
    return pending;
  }

  private async get(path: string): Promise<unknown> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: 'application/json', ...(await this.options.authHeaders()) },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 3_000),
      });
    } catch (err) {
      this.options.logger.warn({ err: err instanceof Error ? err.message : String(err), url }, 'device-service unreachable');
      throw AppError.unavailable('device-service unavailable');
    }
    if (!res.ok) {
      await res.body?.cancel();
      this.options.logger.warn({ status: res.status, url }, 'device-service answered an error to an access lookup');
      throw AppError.unavailable('device-service unavailable');
    }
    return res.json();
  }
}
