import type { Logger, Redis } from '@devicesaga/platform';

/**
 * A token bucket per key (rate `ratePerSec`, capacity `burst`) that costs no Redis round trip per request: each
 * replica decides locally from its own copy of the bucket, and every `syncMs` sends what it consumed since the last
 * sync for all its active keys in one pipelined round trip. Redis keeps the shared bucket (refilled by Redis's own
 * clock, so replicas' clocks do not matter, and allowed to go negative so no consumption is ever forgotten) and
 * answers its level, which becomes the replica's local level again.
 *
 * How close N replicas stay to one limit: every admitted request is recorded in the shared bucket within one sync,
 * and a replica admits only while its last-known shared level (minus what it admitted since) is positive. So over
 * any interval T the replicas together admit at most rate·T + N·burst (one replica alone: rate·T + burst): each can
 * spend the level it last saw before hearing of the others, and the overdraft is paid back by refusing afterwards.
 * In steady overload the admitted rate converges to `rate`. When Redis is down each replica enforces the limit on
 * its own (fail-soft: N replicas then admit up to N × rate) and sends its consumption once Redis is back.
 */
export interface SharedBucketsOptions {
  redis: Redis;
  /** Namespace of the Redis keys (`<keyPrefix><key>`). */
  keyPrefix: string;
  ratePerSec: number;
  burst: number;
  syncMs: number;
  logger: Logger;
  /** Clock for the local buckets (tests). */
  now?: () => number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number };

interface LocalBucket {
  level: number;
  at: number;
  /** Consumed here since the last sync was sent. */
  pending: number;
  lastUsed: number;
}

/** KEYS[1] bucket; ARGV: rate per ms, burst, consumed, ttl ms. Returns the level after the consumption. */
const SYNC_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'l', 't')
local level = tonumber(v[1])
local at = tonumber(v[2])
if level == nil or at == nil then level = burst; at = now end
level = math.min(burst, level + math.max(0, now - at) * rate) - tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'l', tostring(level), 't', tostring(now))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return tostring(level)
`;

const IDLE_EVICT_MS = 10_000;
/** A key seen within this long is synced even when it consumed nothing here, to learn what the others consumed. */
const ACTIVE_MS = 2_000;

type ScriptRedis = Redis & { dsBucketSync(key: string, ratePerMs: string, burst: string, consumed: string, ttlMs: string): Promise<string> };

export class SharedBuckets {
  private readonly buckets = new Map<string, LocalBucket>();
  private readonly now: () => number;
  private readonly redis: ScriptRedis;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private lastWarnAt = 0;
  /** Round trips to Redis so far (tests and metrics: one per sync, not one per request). */
  syncs = 0;

  constructor(private readonly o: SharedBucketsOptions) {
    this.now = o.now ?? Date.now;
    const redis = o.redis as ScriptRedis;
    if (typeof redis.dsBucketSync !== 'function') redis.defineCommand('dsBucketSync', { numberOfKeys: 1, lua: SYNC_SCRIPT });
    this.redis = redis;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.sync(), this.o.syncMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sync();
  }

  /** Takes one token for `key`, deciding locally. */
  take(key: string): TakeResult {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { level: this.o.burst, at: now, pending: 0, lastUsed: now };
      this.buckets.set(key, b);
    }
    b.level = Math.min(this.o.burst, b.level + ((now - b.at) * this.o.ratePerSec) / 1000);
    b.at = now;
    b.lastUsed = now;
    if (b.level >= 1) {
      b.level -= 1;
      b.pending += 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.level) / this.o.ratePerSec)) };
  }

  /** One pipelined round trip for every active key; concurrent calls share it. */
  sync(): Promise<void> {
    this.syncing ??= this.doSync().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async doSync(): Promise<void> {
    const now = this.now();
    const batch: [string, LocalBucket, number][] = [];
    for (const [key, b] of this.buckets) {
      if (b.pending === 0 && now - b.lastUsed > IDLE_EVICT_MS) {
        this.buckets.delete(key);
        continue;
      }
      if (b.pending > 0 || now - b.lastUsed <= ACTIVE_MS) batch.push([key, b, b.pending]);
    }
    if (batch.length === 0 || this.redis.status !== 'ready') return;
    for (const [, b, sent] of batch) b.pending -= sent;
    const ratePerMs = String(this.o.ratePerSec / 1000);
    const burst = String(this.o.burst);
    const ttl = String(Math.ceil((this.o.burst / this.o.ratePerSec) * 1000) + 10_000);
    const pipeline = this.redis.pipeline();
    for (const [key, , sent] of batch) void (pipeline as unknown as ScriptRedis).dsBucketSync(`${this.o.keyPrefix}${key}`, ratePerMs, burst, String(sent), ttl);
    let results: [Error | null, unknown][] | null;
    try {
      this.syncs++;
      results = await pipeline.exec();
    } catch (err) {
      results = null;
      this.warn(err);
    }
    const at = this.now();
    batch.forEach(([, b, sent], i) => {
      const [err, value] = results?.[i] ?? [new Error('no answer'), null];
      const level = Number(value);
      if (err || !Number.isFinite(level)) {
        b.pending += sent; // not recorded: send it again next time
        if (err) this.warn(err);
        return;
      }
      // The shared level, less what this replica consumed while the answer was on its way.
      b.level = Math.min(this.o.burst, level) - b.pending;
      b.at = at;
    });
  }

  private warn(err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarnAt < 10_000) return;
    this.lastWarnAt = now;
    this.o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'rate limit sync failed: limits are enforced per replica meanwhile');
  }
}
