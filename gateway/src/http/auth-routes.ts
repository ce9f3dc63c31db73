import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Router } from 'express';
import multer from 'multer';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { AppError, parseOrThrow, route, signAccessToken } from '@devicesaga/platform';
import type { GatewayConfig } from '../config';
import { SESSION_COOKIE, type Authenticator } from '../auth/authenticator';
import type { SessionStore } from '../auth/sessions';
import { UserEntity } from '../db/entities';
import { burnPasswordCheck, hashPassword, normalizeEmail, verifyPassword } from '../domain/passwords';
import type { RateLimits } from './rate-limits';

const registerBody = z.object({
  email: z.email().max(320),
  password: z.string().min(10).max(1024),
  name: z.string().trim().min(1).max(200).optional(),
});

const loginBody = z.object({
  email: z.string().trim().min(1).max(320),
  password: z.string().min(1).max(1024),
});

export function publicUser(u: UserEntity) {
  return { id: u.id, email: u.email, name: u.displayName, createdAt: u.createdAt.toISOString() };
}

const INVALID_LOGIN = 'invalid email or password';

export interface AuthRoutesDeps {
  cfg: GatewayConfig;
  dataSource: DataSource;
  sessions: SessionStore;
  authenticator: Authenticator;
  limits: RateLimits;
}

/** `POST /auth/register|login|logout` (mounted under /api/v1). Login takes JSON, urlencoded and multipart forms. */
export function authRoutes({ cfg, dataSource, sessions, authenticator, limits }: AuthRoutesDeps): Router {
  const users = dataSource.getRepository(UserEntity);
  const router = express.Router();
  const forms = [express.urlencoded({ extended: false, limit: '16kb' }), multipartFieldsOnly()];

  router.post(
    '/auth/register',
    ...forms,
    route(async (req, res) => {
      await limits.authAttempt(clientIp(req));
      const body = parseOrThrow(registerBody, req.body ?? {}, 'body');
      const email = normalizeEmail(body.email);
      const passwordHash = await hashPassword(body.password);
      let user: UserEntity;
      try {
        user = await users.save(users.create({ email, displayName: body.name ?? null, passwordHash }));
      } catch (err) {
        if ((err as { driverError?: { code?: string } }).driverError?.code === '23505') throw AppError.conflict('email already registered', 'EMAIL_TAKEN');
        throw err;
      }
      res.status(201).json({ id: user.id, email: user.email, name: user.displayName });
    }),
  );

  router.post(
    '/auth/login',
    ...forms,
    route(async (req, res) => {
      await limits.authAttempt(clientIp(req));
      const body = parseOrThrow(loginBody, req.body ?? {}, 'body');
      const email = normalizeEmail(body.email);
      await limits.checkLoginEmail(email);
      const user = await users.findOneBy({ email });
      let ok = false;
      if (user) ok = await verifyPassword(user.passwordHash, body.password);
      else await burnPasswordCheck(body.password);
      if (!user || !ok) {
        await limits.loginFailed(email);
        throw AppError.unauthorized(INVALID_LOGIN);
      }
      await limits.loginSucceeded(email);
      const sessionId = randomUUID();
      const ttl = cfg.ACCESS_TOKEN_TTL_SECONDS;
      await sessions.create(sessionId, user.id, ttl);
      const token = await signAccessToken(cfg, { id: user.id, email: user.email }, ttl, sessionId);
      res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: secureCookie(cfg, req), path: '/', maxAge: ttl * 1000 });
      res.json({ token, user: publicUser(user) });
    }),
  );

  router.post(
    '/auth/logout',
    route(async (req, res) => {
      let principal;
      try {
        principal = await authenticator.authenticate({ headers: req.headers, cookie: cookieOf(req) });
      } catch (err) {
        // An already-invalid token is as good as logged out; only a store outage is worth reporting.
        if (!(err instanceof AppError) || err.status !== 401) throw err;
      }
      if (principal?.kind === 'session') await sessions.revoke(principal.sessionId);
      res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: secureCookie(cfg, req), path: '/' });
      res.status(204).end();
    }),
  );

  return router;
}

/** multer `.none()`: multipart text fields only; a file part is a 400. */
function multipartFieldsOnly(): RequestHandler {
  const upload = multer({ limits: { fields: 20, fieldSize: 16 * 1024, files: 0, parts: 20 } }).none();
  return (req, res, next) => {
    upload(req, res, (err: unknown) => {
      if (!err) return next();
      if (err instanceof multer.MulterError) return next(AppError.badRequest(`invalid multipart body: ${err.message}`));
      next(err);
    });
  };
}

export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

export function cookieOf(req: Request): string | undefined {
  const cookies = req.cookies as Record<string, unknown> | undefined;
  const value = cookies?.[SESSION_COOKIE];
  return typeof value === 'string' ? value : undefined;
}

function secureCookie(cfg: GatewayConfig, req: Request): boolean {
  if (cfg.COOKIE_SECURE === 'true') return true;
  if (cfg.COOKIE_SECURE === 'false') return false;
  return cfg.NODE_ENV === 'production' || req.secure;
}

