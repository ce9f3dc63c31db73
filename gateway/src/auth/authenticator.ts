import type { IncomingHttpHeaders } from 'node:http';
import type { Response } from 'express';
import { AppError, logContext, verifyAccessToken, type AuthUser, type JwtSettings } from '@devicesaga/platform';
import { looksLikeApiKey } from '../domain/api-keys';
import type { ApiKeyStore } from './api-key-store';
import type { SessionStore } from './sessions';

export const SESSION_COOKIE = 'ds_session';

export type Principal =
  | { kind: 'session'; user: AuthUser; sessionId: string; token: string; via: 'bearer' | 'cookie' | 'query' }
  | { kind: 'apiKey'; user: AuthUser; apiKeyId: string; token: string };

export interface Credentials {
  headers: IncomingHttpHeaders;
  /** The session cookie's value, when present. */
  cookie?: string | undefined;
  /** `?token=` (WebSocket upgrades only: browsers cannot set headers there). */
  queryToken?: string | undefined;
}

/**
 * Resolves who is calling, in this order: `X-API-Key`, `Authorization: Bearer dsk_…` (API key),
 * `Authorization: Bearer <jwt>`, `?token=`, the session cookie. Presented-but-bad credentials → 401 (never a
 * fall-through to the next source); nothing presented → undefined.
 */
export class Authenticator {
  constructor(
    private readonly jwt: JwtSettings,
    private readonly sessions: SessionStore,
    private readonly apiKeys: ApiKeyStore,
  ) {}

  async authenticate({ headers, cookie, queryToken }: Credentials): Promise<Principal | undefined> {
    const apiKeyHeader = headers['x-api-key'];
    const apiKey = Array.isArray(apiKeyHeader) ? apiKeyHeader[0] : apiKeyHeader;
    if (apiKey) return this.withApiKey(apiKey);
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
    const found = await this.apiKeys.authenticate(key.trim());
    if (!found) throw AppError.unauthorized('invalid API key');
    return { kind: 'apiKey', ...found };
  }

  private async withToken(token: string, via: 'bearer' | 'cookie' | 'query'): Promise<Principal> {
    const verified = await verifyAccessToken(this.jwt, token);
    // Only tokens issued at login carry a session id; minted service tokens are not accepted from outside.
    if (!verified.sessionId) throw AppError.unauthorized('invalid or expired token');
    if (!(await this.sessions.isActive(verified.sessionId, verified.user.id))) throw AppError.unauthorized('session ended');
    return { kind: 'session', user: verified.user, sessionId: verified.sessionId, token, via };
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
