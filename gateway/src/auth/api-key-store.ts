import type { DataSource, Repository } from 'typeorm';
import { IsNull } from 'typeorm';
import type { Logger } from '@devicesaga/platform';
import { ApiKeyEntity, UserEntity } from '../db/entities';
import { apiKeyMatches, apiKeyPrefix, generateApiKey } from '../domain/api-keys';
import type { Revocations } from './revocations';
import type { SessionUser } from './sessions';

export interface ApiKeyPrincipal {
  apiKeyId: string;
  prefix: string;
  user: SessionUser;
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
 * API keys: stored as sha256 of the key, looked up by prefix. Verified keys are cached by the Authenticator (at most
 * AUTH_CACHE_MS, and dropped at once on every replica when revoked, through `Revocations`), so a busy key costs no
 * database read per request. `last_used_at` is written at most once a minute per key.
 */
export class ApiKeyStore {
  private readonly keys: Repository<ApiKeyEntity>;
  private readonly users: Repository<UserEntity>;
  private readonly lastUsedWrittenAt = new Map<string, number>();

  constructor(
    dataSource: DataSource,
    private readonly revocations: Revocations,
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
    for (const r of rows) await this.revocations.apiKey(r.prefix);
    return rows.length > 0;
  }

  /** The principal for a presented key, or undefined when it is malformed, unknown, revoked or wrong. */
  async authenticate(key: string): Promise<ApiKeyPrincipal | undefined> {
    const prefix = apiKeyPrefix(key);
    if (!prefix) return undefined;
    const row = await this.keys.findOneBy({ prefix, revokedAt: IsNull() });
    if (!row || !apiKeyMatches(key, row.keyHash)) return undefined;
    const user = await this.users.findOneBy({ id: row.userId });
    if (!user) return undefined;
    const now = Date.now();
    if (now - (this.lastUsedWrittenAt.get(row.id) ?? 0) >= LAST_USED_WRITE_EVERY_MS) {
      if (this.lastUsedWrittenAt.size > 10_000) this.lastUsedWrittenAt.clear();
      this.lastUsedWrittenAt.set(row.id, now);
      this.keys.update({ id: row.id }, { lastUsedAt: new Date(now) }).catch((err: unknown) => {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not record api key use');
      });
    }
    return { apiKeyId: row.id, prefix, user: { id: user.id, email: user.email, username: user.username, role: user.role } };
  }
}
