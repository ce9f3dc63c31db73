import type { Request, RequestHandler, Response } from 'express';
import { SignJWT, jwtVerify } from 'jose';
import { AppError } from './errors';
import { logContext } from './logger';

export interface JwtSettings {
  JWT_SECRET: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
}

export type Role = 'user' | 'operator';

export interface AuthUser {
  id: string;
  email: string;
  /** The login name (being introduced: absent in tokens issued before it). */
  username?: string;
  /** Operators also manage parameters, alarm types and the DLQ (DESIGN.md §5); absent means 'user'. */
  role?: Role;
}

/** Operators only: 403 for everyone else. */
export function requireOperator(user: AuthUser): void {
  if (user.role !== 'operator') throw AppError.forbidden('operators only');
}

const ALG = 'HS256';

/** Signs an access token (pinned algorithm, issuer, audience, expiry). `sub` = user id. */
export async function signAccessToken(settings: JwtSettings, user: AuthUser, ttlSeconds: number, sessionId?: string): Promise<string> {
  const jwt = new SignJWT({
    email: user.email,
    ...(sessionId ? { sid: sessionId } : {}),
    ...(user.username ? { username: user.username } : {}),
    ...(user.role ? { role: user.role } : {}),
  })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(user.id)
    .setIssuer(settings.JWT_ISSUER)
    .setAudience(settings.JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`);
  return jwt.sign(secretKey(settings));
}

export interface VerifiedToken {
  user: AuthUser;
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
    const role = payload.role === 'operator' || payload.role === 'user' ? payload.role : undefined;
    return {
      user: {
        id: payload.sub,
        email: payload.email,
        ...(typeof payload.username === 'string' ? { username: payload.username } : {}),
        ...(role ? { role } : {}),
      },
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

/**
 * For services behind the gateway: requires `Authorization: Bearer <jwt>` (the gateway forwards the user's token,
 * or mints one for an API key) and puts the user in `res.locals.user`.
 */
export function requireUser(settings: JwtSettings): RequestHandler {
  return (req, res, next) => {
    const token = bearerToken(req);
    if (!token) {
      next(AppError.unauthorized());
      return;
    }
    verifyAccessToken(settings, token)
      .then(({ user }) => {
        res.locals.user = user;
        const store = logContext.getStore();
        if (store) store.userId = user.id;
        next();
      })
      .catch(next);
  };
}

export function currentUser(res: Response): AuthUser {
  const user = res.locals.user as AuthUser | undefined;
  if (!user) throw AppError.unauthorized();
  return user;
}
