import express, { type Router } from 'express';
import { z } from 'zod';
import { parseOrThrow, requireOperator, route, type DlqAdmin } from '@devicesaga/platform';
import { principalOf } from '../auth/authenticator';

const dlqTopic = z.string().regex(/^[a-z0-9._-]+\.dlq$/, 'a DLQ topic (<topic>.dlq)');
const listQuery = z.strictObject({ topic: dlqTopic.optional() });
const redriveBody = z.union([
  z.strictObject({ dlqTopic, partition: z.number().int().min(0), offset: z.string().regex(/^\d+$/) }),
  z.strictObject({ dlqTopic, all: z.literal(true) }),
]);
const purgeQuery = z.strictObject({ topic: dlqTopic });

/**
 * Operators' DLQ tooling (`/api/v1/admin/dlq`, behind requireAuth): list what failed and why, redrive one message
 * or a whole DLQ topic to its original topic once the cause is fixed, purge. `npm run dlq` does the same from a shell.
 */
export function adminRoutes(dlq: DlqAdmin): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    requireOperator(principalOf(res).user);
    next();
  });

  router.get(
    '/dlq',
    route(async (req, res) => {
      const { topic } = parseOrThrow(listQuery, req.query, 'query');
      res.json({ topics: await dlq.topics(), items: await dlq.list(topic) });
    }),
  );

  router.post(
    '/dlq/redrive',
    express.json({ limit: '4kb' }),
    route(async (req, res) => {
      const body = parseOrThrow(redriveBody, req.body ?? {}, 'body');
      res.json({ redriven: await dlq.redrive(body) });
    }),
  );

  router.delete(
    '/dlq',
    route(async (req, res) => {
      const { topic } = parseOrThrow(purgeQuery, req.query, 'query');
      await dlq.purge(topic);
      res.status(204).end();
    }),
  );
  return router;
}
