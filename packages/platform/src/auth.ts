import type { Request, RequestHandler, Response } from 'express';
import { SignJWT, jwtVerify } from 'jose';
import { AppError } from './errors';
import { identityOfHeaders, type AuthUser, type IdentitySettings, type Role } from './identity';
import { logContext } from './logger';

export interface JwtSettings {
  JWT_SECRET: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
}

/** What a JWT names: the subject and its email (the rest of a user's identity lives in the gateway's session). */
export interface TokenSubject {
  id: string;
  email: string;
}

/** Operators only: 403 for everyone else (`requireRole(res, 'operator')` does the same from the response). */
export function requireOperator(user: AuthUser): void {
  if (user.role !== 'operator') throw AppError.forbidden('operators only');
}

const ALG = 'HS256';

/** Signs an access token (pinned algorithm, issuer, audience, expiry). `sub` = user id. */
export async function signAccessToken(settings: JwtSettings, user: TokenSubject, ttlSeconds: number, sessionId?: string): Promise<string> {
  const jwt = new SignJWT({ email: user.email, ...(sessionId ? { sid: sessionId } : {}) })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(user.id)
    .setIssuer(settings.JWT_ISSUER)
    .setAudience(settings.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`);
  return jwt.sign(secretKey(settings));
}

export interface VerifiedToken {
  user: TokenSubject;
  sessionId?: string;
  expiresAt: number;
}

export async function verifyAccessToken(settings: JwtSettings, token: string): Promise<VerifiedToken> {
  try {
    const { payload } = await jwtVerify(token, secretKey(settings), {
      algorithms: [ALG],
      issuer: settings.JWT_ISSUER,
      audience: settings.JWT_AUDIENCE,
    });
    if (typeof payload.sub !== 'string' || typeof payload.email !== 'string' || typeof payload.exp !== 'number') {
      throw new Error('token lacks sub/email/exp');
    }
    return {
      user: { id: payload.sub, email: payload.email },
      ...(typeof payload.sid === 'string' ? { sessionId: payload.sid } : {}),
      expiresAt: payload.exp,
    };
  } catch {
    throw AppError.unauthorized('invalid or expired token');
  }
}

const keys = new WeakMap<JwtSettings, Uint8Array>();
function secretKey(settings: JwtSettings): Uint8Array {
  let key = keys.get(settings);
  if (!key) {
    key = new TextEncoder().encode(settings.JWT_SECRET);
    keys.set(settings, key);
  }
  return key;
}

export function bearerToken(req: Request): string | undefined {
  const header = req.header('authorization');
  if (!header) return undefined;
  const [scheme, token] = header.split(' ');
  return scheme?.toLowerCase() === 'bearer' && token ? token : undefined;
}

export interface RequireUserOptions {
  /** Also admit service identities (role `service`); by default a user route answers them 403. */
  services?: boolean;
}

/**
 * For services behind the gateway: requires the signed identity header the gateway (or a calling service) adds
 * (`X-DS-Identity`, see identity.ts) and puts the caller in `res.locals.user`. No header, a forged or an expired one
 * → 401: a request that did not come through the gateway is refused. One HMAC per request, no I/O.
 */
export function requireUser(settings: IdentitySettings, options: RequireUserOptions = {}): RequestHandler {
  return (req, res, next) => {
    let user: AuthUser;
    try {
      user = identityOfHeaders(settings, req.headers);
    } catch (err) {
      next(err);
      return;
    }
    if (user.role === 'service' && !options.services) {
      next(AppError.forbidden('a service identity cannot use this route'));
      return;
    }
    res.locals.user = user;
    const store = logContext.getStore();
    if (store) store.userId = user.id;
    next();
  };
}

/** The caller (after `requireUser`): `{id, email, username, role, via?}`. */
export function currentUser(res: Response): AuthUser {
  const user = res.locals.user as AuthUser | undefined;
  if (!user) throw AppError.unauthorized();
  return user;
}

/** 403 unless the caller has one of `allowed` roles (e.g. `requireRole(res, 'operator')` before an operator's write). */
export function requireRole(res: Response, ...allowed: Role[]): AuthUser {
  const user = currentUser(res);
  if (!allowed.includes(user.role)) throw AppError.forbidden(`this needs the ${allowed.join(' or ')} role`);
  return user;
}
