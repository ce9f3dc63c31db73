import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import multer from 'multer';
import type { DataSource, Repository } from 'typeorm';
import { z } from 'zod';
import { AppError, parseOrThrow, route, signAccessToken } from '@devicesaga/platform';
import type { GatewayConfig } from '../config';
import { SESSION_COOKIE, type Authenticator } from '../auth/authenticator';
import type { SessionStore } from '../auth/sessions';
import { UserEntity } from '../db/entities';
import { burnPasswordCheck, hashPassword, normalizeEmail, verifyPassword } from '../domain/passwords';
import { deriveUsernames, normalizeUsername, USERNAME_PATTERN, usernameBase } from '../domain/usernames';
import type { RateLimits } from './rate-limits';

const usernameField = z.string().trim().regex(USERNAME_PATTERN, 'letters, digits, ".", "_" and "-" (1–64, starting with a letter or digit)');

const registerBody = z.object({
  /** Optional in the v1 API: derived from the email's local part (made unique) when absent. */
  username: usernameField.optional(),
  email: z.email().max(320),
  password: z.string().min(10).max(1024),
  name: z.string().trim().min(1).max(200).optional(),
});

/** `login` is the username or the email; `email` and `username` are accepted as its other names. */
const loginBody = z
  .object({
    login: z.string().trim().min(1).max(320).optional(),
    username: z.string().trim().min(1).max(320).optional(),
    email: z.string().trim().min(1).max(320).optional(),
    password: z.string().min(1).max(1024),
  })
  .refine((b) => b.login ?? b.username ?? b.email, { message: 'give the username or the email', path: ['login'] });

export function publicUser(u: UserEntity) {
  return { id: u.id, username: u.username, email: u.email, name: u.displayName, role: u.role, createdAt: u.createdAt.toISOString() };
}

const INVALID_LOGIN = 'invalid login or password';

export interface AuthRoutesDeps {
  cfg: GatewayConfig;
  dataSource: DataSource;
  sessions: SessionStore;
  authenticator: Authenticator;
  limits: RateLimits;
}

export interface NewUser {
  username: string;
  email: string;
  password: string;
  displayName: string | null;
}

/** The account operations both the v1 routes and the legacy-compatible routes use. */
export class Accounts {
  private readonly users: Repository<UserEntity>;

  constructor(private readonly deps: AuthRoutesDeps) {
    this.users = deps.dataSource.getRepository(UserEntity);
  }

  /** Creates a user (role `user`); 409 EMAIL_TAKEN / USERNAME_TAKEN. Without a username, one is derived from the email. */
  async register(req: Request, given: Omit<NewUser, 'username'> & { username?: string | undefined }): Promise<UserEntity> {
    await this.deps.limits.authAttempt(clientIp(req));
    const email = normalizeEmail(given.email);
    const input: NewUser = { ...given, username: given.username ?? (await this.freeUsername(email)) };
    const taken: { email: string; username: string }[] = await this.users.query(
      `SELECT email, username FROM users WHERE lower(email) = $1 OR lower(username) = $2`,
      [email, normalizeUsername(input.username)],
    );
    if (taken.some((t) => t.email.toLowerCase() === email)) throw AppError.conflict('email already registered', 'EMAIL_TAKEN');
    if (taken.length) throw AppError.conflict('username already taken', 'USERNAME_TAKEN');
    const passwordHash = await hashPassword(input.password);
    try {
      return await this.users.save(this.users.create({ username: input.username, email, displayName: input.displayName, passwordHash, role: 'user' }));
    } catch (err) {
      const driver = (err as { driverError?: { code?: string; constraint?: string } }).driverError;
      if (driver?.code === '23505') {
        if (driver.constraint === 'users_username_lower_key') throw AppError.conflict('username already taken', 'USERNAME_TAKEN');
        throw AppError.conflict('email already registered', 'EMAIL_TAKEN');
      }
      throw err;
    }
  }

  /** A login name derived from the email that no one has yet (`alice`, else `alice-2`, …). */
  private async freeUsername(email: string): Promise<string> {
    const base = usernameBase(email);
    const rows: { username: string }[] = await this.users.query(
      `SELECT username FROM users WHERE lower(username) = lower($1) OR lower(username) LIKE lower($2) || '-%'`,
      [base, base.replace(/[\\%_]/g, (c) => `\\${c}`)],
    );
    return deriveUsernames([email], rows.map((r) => r.username))[0]!;
  }

  /** Checks the password of the user named by `login` (username or email) and opens a session: the cookie is set. */
  async login(req: Request, res: Response, login: string, password: string): Promise<{ token: string; user: UserEntity }> {
    const { cfg, limits, sessions } = this.deps;
    await limits.authAttempt(clientIp(req));
    const id = login.trim().toLowerCase();
    const user = await this.users
      .createQueryBuilder('u')
      .where(id.includes('@') ? 'lower(u.email) = :id' : 'lower(u.username) = :id', { id })
      .getOne();
    const account = user ? `user:${user.id}` : `name:${id}`;
    await limits.checkLoginAccount(account);
    let ok = false;
    if (user) ok = await verifyPassword(user.passwordHash, password);
    else await burnPasswordCheck(password);
    if (!user || !ok) {
      await limits.loginFailed(account);
      throw AppError.unauthorized(INVALID_LOGIN);
    }
    await limits.loginSucceeded(account);
    const sessionId = randomUUID();
    const ttl = cfg.ACCESS_TOKEN_TTL_SECONDS;
    await sessions.create(sessionId, { id: user.id, email: user.email, username: user.username, role: user.role }, ttl);
    const token = await signAccessToken(cfg, { id: user.id, email: user.email }, ttl, sessionId);
    res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', secure: secureCookie(cfg, req), path: '/', maxAge: ttl * 1000 });
    return { token, user };
  }

  /** Ends the presented session (if any) and clears the cookie; an invalid token counts as logged out. */
  async logout(req: Request, res: Response): Promise<void> {
    let principal;
    try {
      principal = await this.deps.authenticator.authenticate({ headers: req.headers, cookie: cookieOf(req) });
    } catch (err) {
      // An already-invalid token is as good as logged out; only a store outage is worth reporting.
      if (!(err instanceof AppError) || err.status !== 401) throw err;
    }
    if (principal?.kind === 'session') await this.deps.sessions.revoke(principal.sessionId);
    res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'lax', secure: secureCookie(this.deps.cfg, req), path: '/' });
  }
}

/** Login and register bodies: JSON, urlencoded or multipart text fields. */
export function formBodies(): RequestHandler[] {
  return [express.json({ limit: '16kb' }), express.urlencoded({ extended: false, limit: '16kb' }), multipartFieldsOnly()];
}

/** `POST /auth/register|login|logout` (mounted under /api/v1). Login takes JSON, urlencoded and multipart forms. */
export function authRoutes(accounts: Accounts): Router {
  const router = express.Router();
  const forms = formBodies();

  router.post(
    '/auth/register',
    ...forms,
    route(async (req, res) => {
      const body = parseOrThrow(registerBody, req.body ?? {}, 'body');
      const user = await accounts.register(req, { username: body.username, email: body.email, password: body.password, displayName: body.name ?? null });
      res.status(201).json({ id: user.id, username: user.username, email: user.email, name: user.displayName, role: user.role });
    }),
  );

  router.post(
    '/auth/login',
    ...forms,
    route(async (req, res) => {
      const body = parseOrThrow(loginBody, req.body ?? {}, 'body');
      const { token, user } = await accounts.login(req, res, (body.login ?? body.username ?? body.email)!, body.password);
      res.json({ token, user: publicUser(user) });
    }),
  );

  router.post(
    '/auth/logout',
    route(async (req, res) => {
      await accounts.logout(req, res);
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

export function secureCookie(cfg: GatewayConfig, req: Request): boolean {
  if (cfg.COOKIE_SECURE === 'true') return true;
  if (cfg.COOKIE_SECURE === 'false') return false;
  return cfg.NODE_ENV === 'production' || req.secure;
}

