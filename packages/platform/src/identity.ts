import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { AppError } from './errors';

/**
 * The signed identity the gateway forwards instead of the user's JWT (one cheap HTTP hop, issue 8).
 *
 * Header `X-DS-Identity: v1.<payload>.<mac>` where `payload` = base64url(JSON `{sub, em, un, ro, exp, via?}`) and
 * `mac` = base64url(HMAC-SHA256(IDENTITY_SECRET, "ds-identity.v1." + payload)). `exp` is in Unix seconds. A service
 * verifies it with one HMAC (no JWT library, no Redis) and refuses a request without a valid, unexpired one (401):
 * only a holder of IDENTITY_SECRET — the gateway and the services — can mint one.
 */
export const IDENTITY_HEADER = 'x-ds-identity';

export const roles = ['user', 'operator', 'service'] as const;
export type Role = (typeof roles)[number];

/** Who is calling, as every service sees it (`currentUser(res)`). */
export interface AuthUser {
  id: string;
  email: string;
  /** The login name (users), or the service's name (service identities). */
  username: string;
  role: Role;
  /** Set when a service calls on behalf of this user (its name). */
  via?: string;
}

export interface IdentitySettings {
  IDENTITY_SECRET: string;
}

const PREFIX = 'v1.';
const MAC_DOMAIN = 'ds-identity.v1.';

const payloadSchema = z.object({
  sub: z.string().min(1).max(128),
  em: z.string().max(320),
  un: z.string().min(1).max(128),
  ro: z.enum(roles),
  exp: z.number().int().positive(),
  via: z.string().min(1).max(64).optional(),
});

const keys = new WeakMap<IdentitySettings, Buffer>();
function keyOf(settings: IdentitySettings): Buffer {
  let key = keys.get(settings);
  if (!key) {
    key = Buffer.from(settings.IDENTITY_SECRET, 'utf8');
    keys.set(settings, key);
  }
  return key;
}

function mac(settings: IdentitySettings, payload: string): Buffer {
  return createHmac('sha256', keyOf(settings)).update(MAC_DOMAIN).update(payload).digest();
}

/** Mints the header value for `user`, valid for `ttlSeconds` from `nowMs`. */
export function signIdentity(settings: IdentitySettings, user: AuthUser, ttlSeconds: number, nowMs = Date.now()): string {
  const claims = {
    sub: user.id,
    em: user.email,
    un: user.username,
    ro: user.role,
    exp: Math.floor(nowMs / 1000) + ttlSeconds,
    ...(user.via ? { via: user.via } : {}),
  };
  const payload = Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url');
  return `${PREFIX}${payload}.${mac(settings, payload).toString('base64url')}`;
}

/** The identity in a header value; 401 when it is malformed, forged or expired. */
export function verifyIdentity(settings: IdentitySettings, header: string, nowMs = Date.now()): AuthUser & { exp: number } {
  if (header.length > 2048 || !header.startsWith(PREFIX)) throw AppError.unauthorized('missing or invalid identity');
  const dot = header.indexOf('.', PREFIX.length);
  if (dot < 0) throw AppError.unauthorized('missing or invalid identity');
  const payload = header.slice(PREFIX.length, dot);
  // Compared as canonical text: base64url's padding bits would let several spellings decode to the same MAC.
  const given = Buffer.from(header.slice(dot + 1), 'latin1');
  const expected = Buffer.from(mac(settings, payload).toString('base64url'), 'latin1');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw AppError.unauthorized('missing or invalid identity');
  let parsed: z.infer<typeof payloadSchema>;
  try {
    parsed = payloadSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    throw AppError.unauthorized('missing or invalid identity');
  }
  if (parsed.exp * 1000 <= nowMs) throw AppError.unauthorized('identity expired');
  return {
    id: parsed.sub,
    email: parsed.em,
    username: parsed.un,
    role: parsed.ro,
    exp: parsed.exp,
    ...(parsed.via ? { via: parsed.via } : {}),
  };
}

/** The identity of a raw request (WebSocket upgrades, plain node:http); 401 when absent or invalid. */
export function identityOfHeaders(settings: IdentitySettings, headers: IncomingHttpHeaders, nowMs = Date.now()): AuthUser {
  const raw = headers[IDENTITY_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) throw AppError.unauthorized('missing or invalid identity');
  const { exp: _exp, ...user } = verifyIdentity(settings, value, nowMs);
  return user;
}

/** A service's own identity (role `service`, id `service:<name>`), for calls that act for no user. */
export function serviceUser(serviceName: string): AuthUser {
  return { id: `service:${serviceName}`, email: '', username: serviceName, role: 'service' };
}

/** Default lifetime of a signed identity: long enough for a forwarded call, short enough that a leaked one dies soon. */
export const IDENTITY_TTL_SECONDS = 60;

/**
 * Headers for calling a service directly: `{ 'x-ds-identity': … }`. Services use it to call each other (a service
 * identity, or a user's with `via` set to the caller's name); tests use it to call a service without the gateway.
 * Missing user fields default to a plain user named after the id.
 */
export function identityHeaders(
  settings: IdentitySettings,
  user: Partial<AuthUser> & { id: string },
  ttlSeconds = IDENTITY_TTL_SECONDS,
): Record<string, string> {
  const full: AuthUser = {
    id: user.id,
    email: user.email ?? `${user.id}@example.test`,
    username: user.username ?? user.id.slice(0, 64),
    role: user.role ?? 'user',
    ...(user.via ? { via: user.via } : {}),
  };
  return { [IDENTITY_HEADER]: signIdentity(settings, full, ttlSeconds) };
}
