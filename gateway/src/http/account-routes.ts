import express, { type Router } from 'express';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { AppError, parseOrThrow, route } from '@devicesaga/platform';
import type { ApiKeyStore } from '../auth/api-key-store';
import { principalOf, type Principal } from '../auth/authenticator';
import { UserEntity } from '../db/entities';
import { publicUser } from './auth-routes';

const createKeyBody = z.object({ name: z.string().trim().min(1).max(200) });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Managing keys needs a login session: a leaked key must not mint or revoke keys. */
function requireSession(principal: Principal): void {
  if (principal.kind !== 'session') throw AppError.forbidden('API keys are managed with a login session, not with an API key');
}

/** `GET /me`, `/api-keys` (mounted under /api/v1, behind requireAuth). */
export function accountRoutes(dataSource: DataSource, apiKeys: ApiKeyStore): Router {
  const users = dataSource.getRepository(UserEntity);
  const router = express.Router();

  router.get(
    '/me',
    route(async (_req, res) => {
      const principal = principalOf(res);
      const user = await users.findOneBy({ id: principal.user.id });
      if (!user) throw AppError.unauthorized('user no longer exists');
      res.json({ ...publicUser(user), auth: principal.kind === 'apiKey' ? 'api-key' : 'session' });
    }),
  );

  router.post(
    '/api-keys',
    express.json({ limit: '16kb' }),
    route(async (req, res) => {
      const principal = principalOf(res);
      requireSession(principal);
      const { name } = parseOrThrow(createKeyBody, req.body ?? {}, 'body');
      const created = await apiKeys.create(principal.user.id, name);
      res.status(201).json(created);
    }),
  );

  router.get(
    '/api-keys',
    route(async (_req, res) => {
      res.json({ items: await apiKeys.list(principalOf(res).user.id) });
    }),
  );

  router.delete(
    '/api-keys/:id',
    route(async (req, res) => {
      const principal = principalOf(res);
      requireSession(principal);
      const id = String(req.params.id);
      if (!UUID.test(id) || !(await apiKeys.revoke(principal.user.id, id))) throw AppError.notFound('API key');
      res.status(204).end();
    }),
  );

  return router;
}
