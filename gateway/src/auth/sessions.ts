import type { Redis } from '@devicesaga/platform';
import { AppError } from '@devicesaga/platform';

/**
 * Server-side sessions: `<prefix>sess:<sid>` → user id, expiring with the token. A token whose session is gone
 * (logout, or the entry expired) is refused. Redis down → 503: a revocation we cannot check fails closed.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(sid: string) {
    return `${this.prefix}sess:${sid}`;
  }

  private ensureReady() {
    if (this.redis.status !== 'ready') throw AppError.unavailable('session store unavailable');
  }

  async create(sid: string, userId: string, ttlSeconds: number): Promise<void> {
    this.ensureReady();
    await this.redis.set(this.key(sid), userId, 'EX', ttlSeconds);
  }

  async isActive(sid: string, userId: string): Promise<boolean> {
    this.ensureReady();
    try {
      return (await this.redis.get(this.key(sid))) === userId;
    } catch {
      throw AppError.unavailable('session store unavailable');
    }
  }

  async revoke(sid: string): Promise<void> {
    this.ensureReady();
    await this.redis.del(this.key(sid));
  }
}
