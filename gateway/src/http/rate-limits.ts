import type { RequestHandler } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, type Logger, type Redis } from '@devicesaga/platform';
import type { GatewayConfig } from '../config';
import { principalOf } from '../auth/authenticator';

type Policy = 'fail-open' | 'fail-closed';

/**
 * Redis-backed limits (shared by every replica). When Redis fails: the auth endpoints (login, register) fail
 * closed with 503; authenticated API traffic fails open, logging a warning at most every 10 s.
 */
export class RateLimits {
  private readonly user: RateLimiterRedis;
  private readonly apiKey: RateLimiterRedis;
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
    const perSecond = (points: number, name: string) =>
      new RateLimiterRedis({ ...common, keyPrefix: `${p}${name}`, points, duration: 1, inMemoryBlockOnConsumed: points + 1, inMemoryBlockDuration: 1 });
    this.user = perSecond(cfg.RATE_LIMIT_USER_PER_SEC, 'user');
    this.apiKey = perSecond(cfg.RATE_LIMIT_APIKEY_PER_SEC, 'apikey');
    this.authIp = new RateLimiterRedis({ ...common, keyPrefix: `${p}auth-ip`, points: cfg.RATE_LIMIT_AUTH_IP_PER_MIN, duration: 60 });
    this.loginFails = new RateLimiterRedis({
      ...common,
      keyPrefix: `${p}login-fail`,
      points: cfg.RATE_LIMIT_LOGIN_FAILS_PER_EMAIL,
      duration: cfg.RATE_LIMIT_LOGIN_FAILS_WINDOW_SEC,
    });
  }

  /** Per authenticated user, or per API key for API-key callers (mount after authentication). */
  perCaller(): RequestHandler {
    return (_req, res, next) => {
      const principal = principalOf(res);
      const [limiter, key] = principal.kind === 'apiKey' ? [this.apiKey, principal.apiKeyId] : [this.user, principal.user.id];
      this.consume(limiter, key, 'fail-open').then(() => next(), next);
    };
  }

  /** One login/register attempt from this IP. */
  authAttempt(ip: string): Promise<void> {
    return this.consume(this.authIp, ip, 'fail-closed');
  }

  /** 429 when this email has used up its failed logins. */
  async checkLoginEmail(email: string): Promise<void> {
    let state: RateLimiterRes | null;
    try {
      state = await this.loginFails.get(email);
    } catch (err) {
      throw this.storeDown(err, 'fail-closed') ?? AppError.unavailable('rate limiter unavailable');
    }
    if (state && state.consumedPoints >= this.loginFails.points) throw AppError.tooManyRequests(retryAfter(state));
  }

  async loginFailed(email: string): Promise<void> {
    try {
      await this.loginFails.consume(email);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) this.storeDown(err, 'fail-open');
    }
  }

  async loginSucceeded(email: string): Promise<void> {
    try {
      await this.loginFails.delete(email);
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
