import type { DataSource, Repository } from 'typeorm';
import { IsNull } from 'typeorm';
import { signAccessToken, type AuthUser, type JwtSettings, type Logger } from '@devicesaga/platform';
import { ApiKeyEntity, UserEntity } from '../db/entities';
import { apiKeyMatches, apiKeyPrefix, generateApiKey } from '../domain/api-keys';

export interface ApiKeyPrincipal {
  apiKeyId: string;
  user: AuthUser;
  /** A short-lived token for this key's user, forwarded downstream. */
  token: string;
}

interface CacheEntry {
  keyId: string;
  keyHash: string;
  user: AuthUser;
  cachedUntil: number;
  token?: string;
  tokenRenewAt?: number;
  lastUsedWrittenAt: number;
}

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
}

const LAST_USED_WRITE_EVERY_MS = 60_000;

/**
 * API keys: stored as sha256 of the key, looked up by prefix. A verified key is cached in memory for
 * API_KEY_CACHE_TTL_MS (revoking on this replica drops it at once; another replica may accept it that long), along
 * with the token minted for it (renewed at 80 % of its life), so a busy key costs no database read per request.
 * `last_used_at` is written at most once a minute per key.
 */
export class ApiKeyStore {
  private readonly keys: Repository<ApiKeyEntity>;
  private readonly users: Repository<UserEntity>;
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    dataSource: DataSource,
    private readonly jwt: JwtSettings,
    private readonly tokenTtlSeconds: number,
    private readonly cacheTtlMs: number,
    private readonly logger: Logger,
  ) {
    this.keys = dataSource.getRepository(ApiKeyEntity);
    this.users = dataSource.getRepository(UserEntity);
  }

  async create(userId: string, name: string): Promise<{ id: string; name: string; prefix: string; key: string; createdAt: string }> {
    const generated = generateApiKey();
    const row = await this.keys.save(this.keys.create({ userId, name, prefix: generated.prefix, keyHash: generated.hash }));
    return { id: row.id, name: row.name, prefix: row.prefix, key: generated.key, createdAt: row.createdAt.toISOString() };
  }

  async list(userId: string): Promise<ApiKeyView[]> {
    const rows = await this.keys.find({ where: { userId, revokedAt: IsNull() }, order: { createdAt: 'ASC' } });
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      prefix: r.prefix,
      createdAt: r.createdAt.toISOString(),
      lastUsedAt: r.lastUsedAt ? r.lastUsedAt.toISOString() : null,
    }));
  }

  /** Revokes one of the user's own keys; false when it does not exist, is someone else's or is already revoked. */
  async revoke(userId: string, id: string): Promise<boolean> {
    const result = await this.keys
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('id = :id AND user_id = :userId AND revoked_at IS NULL', { id, userId })
      .returning(['prefix'])
      .execute();
    const rows = (result.raw ?? []) as { prefix: string }[];
    for (const r of rows) this.cache.delete(r.prefix);
    return rows.length > 0;
  }

  /** The principal for a presented key, or undefined when it is malformed, unknown, revoked or wrong. */
  async authenticate(key: string): Promise<ApiKeyPrincipal | undefined> {
    const prefix = apiKeyPrefix(key);
    if (!prefix) return undefined;
    const now = Date.now();
    let entry = this.cache.get(prefix);
    if (!entry || entry.cachedUntil <= now) {
      entry = await this.load(prefix, now);
      if (!entry) {
        this.cache.delete(prefix);
        return undefined;
      }
    }
    if (!apiKeyMatches(key, entry.keyHash)) return undefined;
    if (!entry.token || (entry.tokenRenewAt ?? 0) <= now) {
      entry.token = await signAccessToken(this.jwt, entry.user, this.tokenTtlSeconds);
      entry.tokenRenewAt = now + this.tokenTtlSeconds * 800;
    }
    if (now - entry.lastUsedWrittenAt >= LAST_USED_WRITE_EVERY_MS) {
      entry.lastUsedWrittenAt = now;
      this.keys.update({ id: entry.keyId }, { lastUsedAt: new Date(now) }).catch((err: unknown) => {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not record api key use');
      });
    }
    return { apiKeyId: entry.keyId, user: entry.user, token: entry.token };
  }

  private async load(prefix: string, now: number): Promise<CacheEntry | undefined> {
    const row = await this.keys.findOneBy({ prefix, revokedAt: IsNull() });
    if (!row) return undefined;
    const user = await this.users.findOneBy({ id: row.userId });
    if (!user) return undefined;
    const previous = this.cache.get(prefix);
    const entry: CacheEntry = {
      keyId: row.id,
      keyHash: row.keyHash,
      user: { id: user.id, email: user.email },
      cachedUntil: now + this.cacheTtlMs,
      lastUsedWrittenAt: previous?.lastUsedWrittenAt ?? 0,
      ...(previous?.token && previous.keyId === row.id ? { token: previous.token, tokenRenewAt: previous.tokenRenewAt ?? 0 } : {}),
    };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(prefix, entry);
    return entry;
  }
}
