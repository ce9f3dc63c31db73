import { z } from 'zod';
import type { Redis } from '@devicesaga/platform';
import { AppError } from '@devicesaga/platform';
import type { UserRole } from '../db/entities';
import type { Revocations } from './revocations';

/** What a session carries: who logged in, with the name and role they had (updated in place by a role change). */
export interface SessionUser {
  id: string;
  email: string;
  username: string;
  role: UserRole;
}

const stored = z.object({ u: z.string(), e: z.string(), n: z.string(), r: z.enum(['user', 'operator']) });

/**
 * Server-side sessions: `<prefix>sess:<sid>` → the session's user (JSON), expiring with the token, and
 * `<prefix>usess:<userId>` → the user's session ids (so a role change reaches every session). A token whose session
 * is gone (logout, or expired) is refused. Redis down → 503: a revocation we cannot check fails closed.
 * Every change is announced on the revocation channel, so each replica's cache drops the entry at once.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly revocations: Revocations,
  ) {}

  private key(sid: string) {
    return `${this.prefix}sess:${sid}`;
  }

  private userKey(userId: string) {
    return `${this.prefix}usess:${userId}`;
  }

  private ensureReady() {
    if (this.redis.status !== 'ready') throw AppError.unavailable('session store unavailable');
  }

  async create(sid: string, user: SessionUser, ttlSeconds: number): Promise<void> {
    this.ensureReady();
    const value = JSON.stringify({ u: user.id, e: user.email, n: user.username, r: user.role });
    await this.redis
      .multi()
      .set(this.key(sid), value, 'EX', ttlSeconds)
      .sadd(this.userKey(user.id), sid)
      .expire(this.userKey(user.id), ttlSeconds)
      .exec();
  }

  /**
   * The session's user, or undefined when the session ended. `legacy` is a session written before sessions carried
   * the user (only its id): the caller loads the rest.
   */
  async get(sid: string): Promise<SessionUser | { legacyUserId: string } | undefined> {
    this.ensureReady();
    let raw: string | null;
    try {
      raw = await this.redis.get(this.key(sid));
    } catch {
      throw AppError.unavailable('session store unavailable');
    }
    if (raw === null) return undefined;
    if (!raw.startsWith('{')) return { legacyUserId: raw };
    const parsed = stored.safeParse(JSON.parse(raw));
    if (!parsed.success) return undefined;
    return { id: parsed.data.u, email: parsed.data.e, username: parsed.data.n, role: parsed.data.r };
  }

  async revoke(sid: string): Promise<void> {
    this.ensureReady();
    await this.redis.del(this.key(sid));
    await this.revocations.session(sid);
  }

  /** Gives every live session of a user the new role (keeping each session's expiry) and tells every replica. */
  async setRole(userId: string, role: UserRole): Promise<number> {
    this.ensureReady();
    const sids = await this.redis.smembers(this.userKey(userId));
    let updated = 0;
    for (const sid of sids) {
      const current = await this.get(sid);
      if (!current || 'legacyUserId' in current) {
        await this.redis.srem(this.userKey(userId), sid);
        continue;
      }
      const value = JSON.stringify({ u: current.id, e: current.email, n: current.username, r: role });
      if ((await this.redis.set(this.key(sid), value, 'KEEPTTL', 'XX')) === 'OK') updated++;
    }
    await this.revocations.user(userId);
    return updated;
  }
}
