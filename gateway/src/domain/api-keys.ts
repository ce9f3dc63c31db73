import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** `dsk_<prefix>_<secret>`: prefix = 12 hex chars (lookup), secret = 32 random bytes base64url. */
const KEY_PATTERN = /^dsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewApiKey {
  prefix: string;
  key: string;
  hash: string;
}

export function generateApiKey(): NewApiKey {
  const prefix = randomBytes(6).toString('hex');
  const key = `dsk_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { prefix, key, hash: hashApiKey(key) };
}

/** The prefix of a well-formed key, else undefined (so malformed keys never reach the database). */
export function apiKeyPrefix(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('dsk_');
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const a = Buffer.from(hashApiKey(key), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
