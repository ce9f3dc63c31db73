import type { RequestHandler } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, type Logger, type Redis } from '@devicesaga/platform';
import type { GatewayConfig } from '../config';
import { principalOf } from '../auth/authenticator';
import { SharedBuckets } from './shared-buckets';

type Policy = 'fail-open' | 'fail-closed';

/**
 * Authenticated API traffic: a token bucket per user and per API key, decided in memory and shared between replicas
 * through Redis in the background (`SharedBuckets`: no Redis round trip per request). Login and register: Redis-backed
 * counters per client address and per account (exact across replicas; each such request costs an argon2 hash anyway,
 * so the round trip does not matter there); they fail closed with 503 when Redis fails.
 */
export class RateLimits {
  private readonly user: SharedBuckets;
  private readonly apiKey: SharedBuckets;
  private readonly authIp: RateLimiterRedis;
  private readonly loginFails: RateLimiterRedis;
  private lastWarnAt = 0;

  constructor(
    redis: Redis,
    cfg: GatewayConfig,
    private readonly logger: Logger,
  ) {
    const p = `${cfg.REDIS_KEY_PREFIX}rl:`;
    const common = { storeClient: redis, rejectIfRedisNotReady: true };
    const buckets = (rate: number, name: string) =>
      new SharedBuckets({ redis, keyPrefix: `${p}${name}:`, ratePerSec: rate, burst: rate, syncMs: cfg.RATE_LIMIT_SYNC_MS, logger });
    this.user = buckets(cfg.RATE_LIMIT_USER_PER_SEC, 'user');
    this.apiKey = buckets(cfg.RATE_LIMIT_APIKEY_PER_SEC, 'apikey');
    this.authIp = new RateLimiterRedis({ ...common, keyPrefix: `${p}auth-ip`, points: cfg.RATE_LIMIT_AUTH_IP_PER_MIN, duration: 60 });
    this.loginFails = new RateLimiterRedis({
      ...common,
      keyPrefix: `${p}login-fail`,
      points: cfg.RATE_LIMIT_LOGIN_FAILS_PER_ACCOUNT,
      duration: cfg.RATE_LIMIT_LOGIN_FAILS_WINDOW_SEC,
    });
  }

  start(): void {
    this.user.start();
    this.apiKey.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.user.stop(), this.apiKey.stop()]);
  }

  /** Per authenticated user, or per API key for API-key callers (mount after authentication). */
  perCaller(): RequestHandler {
    return (_req, res, next) => {
      const principal = principalOf(res);
      const taken = principal.kind === 'apiKey' ? this.apiKey.take(principal.apiKeyId) : this.user.take(principal.user.id);
      if (taken.ok) next();
      else next(AppError.tooManyRequests(taken.retryAfterSeconds));
    };
  }

  /** One login/register attempt from this IP. */
  authAttempt(ip: string): Promise<void> {
    return this.consume(this.authIp, ip, 'fail-closed');
  }

  /** 429 when this account (user id, or the login name given when it names no account) has used up its failed logins. */
  async checkLoginAccount(account: string): Promise<void> {
    let state: RateLimiterRes | null;
    try {
      state = await this.loginFails.get(account);
    } catch (err) {
      throw this.storeDown(err, 'fail-closed') ?? AppError.unavailable('rate limiter unavailable');
    }
    if (state && state.consumedPoints >= this.loginFails.points) throw AppError.tooManyRequests(retryAfter(state));
  }

  async loginFailed(account: string): Promise<void> {
    try {
      await this.loginFails.consume(account);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) this.storeDown(err, 'fail-open');
    }
  }

  async loginSucceeded(account: string): Promise<void> {
    try {
      await this.loginFails.delete(account);
    } catch (err) {
      this.storeDown(err, 'fail-open');
    }
  }

  private async consume(limiter: RateLimiterRedis, key: string, policy: Policy): Promise<void> {
    try {
      await limiter.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw AppError.tooManyRequests(retryAfter(err));
      const closed = this.storeDown(err, policy);
      if (closed) throw closed;
    }
  }

  private storeDown(err: unknown, policy: Policy): AppError | undefined {
    const now = Date.now();
    if (now - this.lastWarnAt > 10_000) {
      this.lastWarnAt = now;
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), policy }, 'rate limiter store unavailable');
    }
    return policy === 'fail-closed' ? AppError.unavailable('rate limiter unavailable') : undefined;
  }
}

function retryAfter(res: RateLimiterRes): number {
  return Math.max(1, Math.ceil(res.msBeforeNext / 1000));
}
