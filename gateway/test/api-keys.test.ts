import { apiKeyMatches, apiKeyPrefix, generateApiKey, hashApiKey } from '../src/domain/api-keys';
import { hashPassword, normalizeEmail, verifyPassword } from '../src/domain/passwords';

describe('API key format', () => {
  it('a generated key is dsk_<prefix>_<secret> and matches only its own hash', () => {
    const k = generateApiKey();
    expect(k.key).toMatch(/^dsk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyPrefix(k.key)).toBe(k.prefix);
    expect(k.hash).toBe(hashApiKey(k.key));
    expect(apiKeyMatches(k.key, k.hash)).toBe(true);
    expect(apiKeyMatches(`${k.key.slice(0, -1)}x`, k.hash)).toBe(false);
  });

  it('a malformed key has no prefix, so it never reaches the database', () => {
    expect(apiKeyPrefix('dsk_abc_def')).toBeUndefined();
    expect(apiKeyPrefix('eyJhbGciOiJIUzI1NiJ9.x.y')).toBeUndefined();
  });
});

describe('passwords', () => {
  it('are hashed with argon2id and verified', async () => {
    const h = await hashPassword('correct horse battery');
    expect(h.startsWith('$argon2id$')).toBe(true);
    await expect(verifyPassword(h, 'correct horse battery')).resolves.toBe(true);
    await expect(verifyPassword(h, 'wrong horse battery')).resolves.toBe(false);
    await expect(verifyPassword('not-a-hash', 'x')).resolves.toBe(false);
  });

  it('emails compare case-insensitively', () => {
    expect(normalizeEmail('  Alice@Example.COM ')).toBe('alice@example.com');
  });
});
