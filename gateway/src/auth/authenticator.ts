import type { IncomingHttpHeaders } from 'node:http';
import type { Response } from 'express';
import { AppError, logContext, signIdentity, verifyAccessToken, type AuthUser, type IdentitySettings, type JwtSettings } from '@devicesaga/platform';
import { looksLikeApiKey } from '../domain/api-keys';
import type { ApiKeyStore } from './api-key-store';
import type { Revocations } from './revocations';
import type { SessionStore, SessionUser } from './sessions';

export const SESSION_COOKIE = 'ds_session';

interface PrincipalBase {
  user: AuthUser;
  /** The signed identity forwarded to the services for this caller (`X-DS-Identity`). */
  identity: string;
}
export type Principal =
  | (PrincipalBase & { kind: 'session'; sessionId: string; via: 'bearer' | 'cookie' | 'query' })
  | (PrincipalBase & { kind: 'apiKey'; apiKeyId: string });

type Cached = PrincipalBase & ({ kind: 'session'; sessionId: string } | { kind: 'apiKey'; apiKeyId: string; prefix: string }) & { until: number };

export interface Credentials {
  headers: IncomingHttpHeaders;
  /** The session cookie's value, when present. */
  cookie?: string | undefined;
  /** `?token=` (WebSocket upgrades only: browsers cannot set headers there). */
  queryToken?: string | undefined;
}

export interface AuthenticatorOptions {
  jwt: JwtSettings;
  identity: IdentitySettings;
  sessions: SessionStore;
  apiKeys: ApiKeyStore;
  revocations: Revocations;
  /** How long a verified credential is trusted from memory (≤ 1 s). */
  cacheMs: number;
  identityTtlSeconds: number;
  /** Loads a user for a session written before sessions carried the user. */
  loadUser: (id: string) => Promise<SessionUser | undefined>;
}

const CACHE_MAX = 100_000;

/**
 * Resolves who is calling, in this order: `X-API-Key`, `Authorization: Bearer dsk_…` (API key),
 * `Authorization: Bearer <jwt>`, `?token=`, the session cookie. Presented-but-bad credentials → 401 (never a
 * fall-through to the next source); nothing presented → undefined.
 *
 * A verified credential (login token or API key) is kept in memory for `cacheMs` (≤ 1 s) with the identity signed
 * for it, so a busy caller costs no JWT verification, no Redis and no database read per request; concurrent misses of
 * one credential share one look-up. A logout, a revoked key or a role change drops the entries at once on every
 * replica (`Revocations`); the expiry bounds it when a message is lost.
 */
export class Authenticator {
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<Cached>>();
  /** Bumped by every revocation: a look-up that started before one is answered but not cached. */
  private generation = 0;

  constructor(private readonly o: AuthenticatorOptions) {
    o.revocations.onRevoked((r) => {
      this.generation++;
      this.inflight.clear(); // a request after the revocation must not join a look-up that started before it
      for (const [k, v] of this.cache) {
        if (
          (r.kind === 'session' && v.kind === 'session' && v.sessionId === r.id) ||
          (r.kind === 'apiKey' && v.kind === 'apiKey' && v.prefix === r.id) ||
          (r.kind === 'user' && v.user.id === r.id)
        ) {
          this.cache.delete(k);
        }
      }
    });
    o.revocations.onResync(() => {
      this.generation++;
      this.cache.clear();
    });
  }

  async authenticate({ headers, cookie, queryToken }: Credentials): Promise<Principal | undefined> {
    const apiKeyHeader = headers['x-api-key'];
    const apiKey = Array.isArray(apiKeyHeader) ? apiKeyHeader[0] : apiKeyHeader;
    if (apiKey) return this.withApiKey(apiKey.trim());
    const bearer = bearerOf(headers.authorization);
    if (bearer !== undefined) return looksLikeApiKey(bearer) ? this.withApiKey(bearer) : this.withToken(bearer, 'bearer');
    if (queryToken) return looksLikeApiKey(queryToken) ? this.withApiKey(queryToken) : this.withToken(queryToken, 'query');
    if (cookie) return this.withToken(cookie, 'cookie');
    return undefined;
  }

  /** Like `authenticate`, but a 401 when nothing was presented. */
  async require(credentials: Credentials): Promise<Principal> {
    const principal = await this.authenticate(credentials);
    if (!principal) throw AppError.unauthorized();
    return principal;
  }

  private async withApiKey(key: string): Promise<Principal> {
    const c = await this.cached(`k:${key}`, async () => {
      const found = await this.o.apiKeys.authenticate(key);
      if (!found) throw AppError.unauthorized('invalid API key');
      const user: AuthUser = { ...found.user };
      return { kind: 'apiKey', apiKeyId: found.apiKeyId, prefix: found.prefix, user, identity: this.sign(user), until: Date.now() + this.o.cacheMs };
    });
    if (c.kind !== 'apiKey') throw AppError.unauthorized();
    return { kind: 'apiKey', apiKeyId: c.apiKeyId, user: c.user, identity: c.identity };
  }

  private async withToken(token: string, via: 'bearer' | 'cookie' | 'query'): Promise<Principal> {
    const c = await this.cached(`t:${token}`, async () => {
      const verified = await verifyAccessToken(this.o.jwt, token);
      // Only tokens issued at login carry a session id.
      if (!verified.sessionId) throw AppError.unauthorized('invalid or expired token');
      const session = await this.o.sessions.get(verified.sessionId);
      const found = session && 'legacyUserId' in session ? (session.legacyUserId === verified.user.id ? await this.o.loadUser(session.legacyUserId) : undefined) : session;
      if (!found || found.id !== verified.user.id) throw AppError.unauthorized('session ended');
      const user: AuthUser = { ...found };
      return { kind: 'session', sessionId: verified.sessionId, user, identity: this.sign(user), until: Math.min(Date.now() + this.o.cacheMs, verified.expiresAt * 1000) };
    });
    if (c.kind !== 'session') throw AppError.unauthorized();
    return { kind: 'session', sessionId: c.sessionId, user: c.user, identity: c.identity, via };
  }

  private async cached(key: string, load: () => Promise<Cached>): Promise<Cached> {
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit;
    if (hit) this.cache.delete(key);
    const generation = this.generation;
    let pending = this.inflight.get(key);
    if (!pending) {
      const started: Promise<Cached> = load().finally(() => {
        if (this.inflight.get(key) === started) this.inflight.delete(key);
      });
      pending = started;
      this.inflight.set(key, started);
    }
    const loaded = await pending;
    if (this.o.cacheMs > 0 && generation === this.generation && loaded.until > Date.now()) {
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(key, loaded);
    }
    return loaded;
  }

  private sign(user: AuthUser): string {
    return signIdentity(this.o.identity, user, this.o.identityTtlSeconds);
  }
}

function bearerOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [scheme, token] = header.trim().split(/\s+/);
  if (scheme?.toLowerCase() !== 'bearer') return undefined;
  return token ?? '';
}

export function setPrincipal(res: Response, principal: Principal): void {
  res.locals.principal = principal;
  const store = logContext.getStore();
  if (store) store.userId = principal.user.id;
}

export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw AppError.unauthorized();
  return principal;
}

/** The value of one cookie in a raw `Cookie` header (for the WebSocket upgrade, which bypasses express). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}
