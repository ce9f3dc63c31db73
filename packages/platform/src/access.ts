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
/** The registry facts of devices (no user in it): group and sensors. Devices that do not exist are absent. */
export const deviceInfoAnswer = z.object({
  devices: z.array(z.object({ id: z.string(), groupId: z.string(), sensors: z.array(z.object({ id: z.string(), parameter: z.string() })) })),
});
export type DeviceInfoAnswer = z.infer<typeof deviceInfoAnswer>;

/** A device as the registry knows it, for consumers of its telemetry (which sensor a parameter is, which group). */
export interface DeviceInfo {
  id: string;
  groupId: string;
  /** parameter → sensor id (a device has at most one sensor per parameter) */
  sensorsByParameter: ReadonlyMap<string, string>;
}

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
  /**
   * Lifetime of `devicesById` answers (default 30,000 ms): a device's group and sensors change rarely and every change
   * is announced, and telemetry consumers look them up for every batch. Dropped on each announcement like the rest.
   */
  registryTtlMs?: number;
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
  /** Registry answers by device id (null: no such device). Kept past their lifetime as a fallback while device-service is down. */
  private readonly registry = new Map<string, Entry<DeviceInfo | null>>();
  private readonly registryInflight = new Map<string, Promise<void>>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Bumped by every announcement: an answer fetched before it is not cached. */
  private generation = 0;
  private readonly ttlMs: number;
  private readonly registryTtlMs: number;
  private readonly maxEntries: number;

  constructor(private readonly options: AccessClientOptions) {
    this.ttlMs = options.ttlMs ?? 1_000;
    this.registryTtlMs = options.registryTtlMs ?? 30_000;
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
    // expired, not forgotten: a stale group/sensor list beats failing the telemetry while device-service is unreachable
    for (const entry of this.registry.values()) entry.until = 0;
  }

  /**
   * The registry facts (group, sensors by parameter) of each device id asked, null for a device that does not exist.
   * Cached; the misses of one call are fetched in one request (`POST /internal/v1/access/devices/lookup`), and ids
   * already being fetched are shared with the calls that asked first. When device-service cannot answer, an expired
   * entry is used if there is one.
   */
  async devicesById(ids: Iterable<string>): Promise<Map<string, DeviceInfo | null>> {
    const now = Date.now();
    const answer = new Map<string, DeviceInfo | null>();
    const missing: string[] = [];
    const waits: Promise<void>[] = [];
    for (const id of ids) {
      if (answer.has(id)) continue;
      const hit = this.registry.get(id);
      if (hit && hit.until > now) {
        answer.set(id, hit.value);
        continue;
      }
      answer.set(id, null);
      const pending = this.registryInflight.get(id);
      if (pending) waits.push(pending);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const generation = this.generation;
      const load = this.lookupDevices(missing)
        .then((found) => {
          const until = Date.now() + this.registryTtlMs;
          if (this.registry.size + missing.length > this.maxEntries) this.registry.clear();
          for (const id of missing) {
            // fetched before an announcement: usable for this call, cached as already expired
            this.registry.set(id, { value: found.get(id) ?? null, until: generation === this.generation ? until : 0 });
          }
        })
        .catch((err: unknown) => {
          if (missing.some((id) => !this.registry.has(id))) throw err;
          this.options.logger.warn({ devices: missing.length }, 'device registry unreachable: using expired entries');
        })
        .finally(() => {
          for (const id of missing) this.registryInflight.delete(id);
        });
      for (const id of missing) this.registryInflight.set(id, load);
      waits.push(load);
    }
    if (waits.length > 0) {
      await Promise.all(waits);
      for (const [id, value] of answer) if (value === null) answer.set(id, this.registry.get(id)?.value ?? null);
    }
    return answer;
  }

  private async lookupDevices(ids: string[]): Promise<Map<string, DeviceInfo>> {
    const found = new Map<string, DeviceInfo>();
    // the route takes up to 1,000 ids a request
    for (let i = 0; i < ids.length; i += 1000) {
      const parsed = deviceInfoAnswer.parse(await this.post('/internal/v1/access/devices/lookup', { ids: ids.slice(i, i + 1000) }));
      for (const d of parsed.devices) {
        found.set(d.id, { id: d.id, groupId: d.groupId, sensorsByParameter: new Map(d.sensors.map((s) => [s.parameter, s.id])) });
      }
    }
    return found;
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

  private get(path: string): Promise<unknown> {
    return this.request(path);
  }

  private post(path: string, body: unknown): Promise<unknown> {
    return this.request(path, body);
  }

  private async request(path: string, body?: unknown): Promise<unknown> {
    const url = `${this.options.baseUrl.replace(/\/$/, '')}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(await this.options.authHeaders()),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
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
