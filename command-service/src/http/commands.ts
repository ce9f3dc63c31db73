import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { commandAction } from '@devicesaga/contracts';
import { AppError, currentUser, IDENTITY_TTL_SECONDS, parseOrThrow, requireUser, route, signIdentity, type Bus, type IdentitySettings, type Logger } from '@devicesaga/platform';
import type { Counter } from 'prom-client';
import type { DeviceAccess } from '../access/device-access';
import {
  claimIdempotencyKey,
  findCommand,
  findIdempotencyKey,
  insertCommand,
  listCommands,
  toView,
  type CommandRow,
  type CommandView,
} from '../db/commands-repo';
import { commandStatuses, initialState, isTerminal } from '../domain/command-status';
import { decodeCursor, encodeCursor } from '../domain/cursor';
import { IDEMPOTENCY_KEY, requestHash } from '../domain/idempotency';
import type { CommandPublisher, CommandSignals } from '../realtime/command-signals';

const id = z.string().min(1).max(64);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/** POST body, strictly parsed: an unknown field is a 400 naming it. */
export const createCommandBody = z.strictObject({
  deviceId: id,
  sensorId: id,
  action: commandAction,
  value: finite,
  expectedValue: finite.optional(),
  ttlSeconds: z.number().int().min(1).max(86_400).default(60),
});
export type CreateCommandBody = z.infer<typeof createCommandBody>;

const getQuery = z.strictObject({
  wait: z.coerce.number().min(0).max(30).optional(),
  after: z.coerce.number().int().min(0).optional(),
});

const listQuery = z.strictObject({
  deviceId: id.optional(),
  status: z.enum(commandStatuses).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).optional(),
});

export interface CommandRoutesDeps {
  identity: IdentitySettings;
  dataSource: DataSource;
  bus: Pick<Bus, 'transaction'>;
  access: DeviceAccess;
  signals: CommandSignals;
  publisher: CommandPublisher;
  logger: Logger;
  created: Counter;
}

/** A sentinel that rolls the create transaction back when another request holds the idempotency key. */
class KeyTaken extends Error {}

export function commandRoutes(deps: CommandRoutesDeps): Router {
  const router = Router();
  router.use('/api/v1/commands', requireUser(deps.identity));

  router.post(
    '/api/v1/commands',
    route(async (req, res) => {
      const user = currentUser(res);
      const key = idempotencyKey(req, res);
      const body = parseOrThrow(createCommandBody, req.body ?? {}, 'body');
      const hash = requestHash(body);

      if (key !== undefined) {
        const existing = await findIdempotencyKey(deps.dataSource.manager, user.id, key);
        if (existing) return replay(res, user.id, existing, hash);
      }

      // Asks device-service as this user, signed by command-service (`via`), the way the gateway signs a request.
      const identity = signIdentity(deps.identity, { ...user, via: 'command-service' }, IDENTITY_TTL_SECONDS);
      await deps.access.assertSensorOfDevice(user.id, identity, body.deviceId, body.sensorId);

      const now = new Date(); // millisecond precision, so the listing cursor round-trips exactly
      const commandId = randomUUID();
      const row: Omit<CommandRow, 'updatedAt'> = {
        id: commandId,
        userId: user.id,
        deviceId: body.deviceId,
        sensorId: body.sensorId,
        action: body.action,
        value: body.value,
        expectedValue: body.expectedValue ?? null,
        ttlSeconds: body.ttlSeconds,
        expiresAt: new Date(now.getTime() + body.ttlSeconds * 1000),
        ...initialState(now.toISOString()),
        createdAt: now,
      };
      try {
        await deps.bus.transaction(async ({ manager, emit }) => {
          if (key !== undefined && !(await claimIdempotencyKey(manager, user.id, key, hash, commandId, now))) throw new KeyTaken();
          await insertCommand(manager, row);
          emit({
            topic: 'command.value_set',
            key: row.deviceId,
            correlationId: commandId,
            payload: {
              commandId,
              userId: user.id,
              deviceId: row.deviceId,
              sensorId: row.sensorId,
              action: row.action,
              value: row.value,
              ...(body.expectedValue !== undefined ? { expectedValue: body.expectedValue } : {}),
              expiresAt: row.expiresAt.toISOString(),
            },
          });
        });
      } catch (err) {
        if (!(err instanceof KeyTaken) || key === undefined) throw err;
        // A concurrent request with the same key committed first: answer as its replay.
        const existing = await findIdempotencyKey(deps.dataSource.manager, user.id, key);
        if (!existing) throw err;
        return replay(res, user.id, existing, hash);
      }
      deps.created.inc();
      const view = toView({ ...row, updatedAt: now }, false);
      deps.publisher.publish(user.id, view, false);
      accepted(res, view, false);
    }),
  );

  async function replay(res: Response, userId: string, existing: { requestHash: string; commandId: string }, hash: string) {
    if (existing.requestHash !== hash) {
      throw AppError.unprocessable('this Idempotency-Key was used for a different request', 'IDEMPOTENCY_KEY_REUSED');
    }
    const command = await findCommand(deps.dataSource.manager, existing.commandId, userId);
    if (!command) throw AppError.notFound('command'); // its row was removed (never happens: keys cascade with it)
    accepted(res, toView(command, false), true);
  }

  router.get(
    '/api/v1/commands/:id',
    route(async (req, res) => {
      const user = currentUser(res);
      const query = parseOrThrow(getQuery, req.query, 'query');
      const commandId = String(req.params.id);
      const first = await findCommand(deps.dataSource.manager, commandId, user.id);
      if (!first) throw AppError.notFound('command');
      const wait = query.wait ?? 0;
      // Without `after`, a long-poll waits for the next change after the version it first reads.
      const after = query.after ?? first.version;
      if (wait === 0 || done(first, after)) {
        res.json(toView(first, true));
        return;
      }
      const latest = await waitForChange(res, commandId, user.id, after, wait * 1000, first);
      res.json(toView(latest, true));
    }),
  );

  const done = (row: CommandRow, after: number) => row.version > after || isTerminal(row.status);

  /**
   * The long-poll: listens on `command:<id>` first, re-reads (a change committed in between is seen), then on each
   * signal re-reads until the version passes `after` or the command is terminal, the wait ends, the client goes, or
   * the service stops. When Redis cannot subscribe, it re-reads once a second instead.
   */
  async function waitForChange(res: Response, commandId: string, userId: string, after: number, waitMs: number, first: CommandRow): Promise<CommandRow> {
    let wake: (() => void) | undefined;
    let signalled = false;
    const onSignal = () => {
      signalled = true;
      wake?.();
    };
    let unlisten: (() => void) | undefined;
    let fallbackPollMs: number | undefined;
    try {
      unlisten = await deps.signals.listen(commandId, onSignal);
    } catch (err) {
      deps.logger.warn({ err: err instanceof Error ? err.message : String(err), commandId }, 'cannot subscribe; long-poll falls back to polling');
      fallbackPollMs = 1000;
    }
    let gone = false;
    const onClose = () => {
      gone = true;
      wake?.();
    };
    res.on('close', onClose);
    const deadline = Date.now() + waitMs;
    let latest = first;
    try {
      for (;;) {
        const row = await findCommand(deps.dataSource.manager, commandId, userId);
        if (!row) return latest;
        latest = row;
        if (done(row, after) || gone || deps.signals.closed) return row;
        const left = deadline - Date.now();
        if (left <= 0) return row;
        if (!signalled) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, fallbackPollMs === undefined ? left : Math.min(left, fallbackPollMs));
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        signalled = false;
      }
    } finally {
      res.off('close', onClose);
      unlisten?.();
    }
  }

  router.get(
    '/api/v1/commands',
    route(async (req, res) => {
      const user = currentUser(res);
      const query = parseOrThrow(listQuery, req.query, 'query');
      const after = query.cursor !== undefined ? decodeCursor(query.cursor) : undefined;
      if (after === null) throw AppError.badRequest('invalid query: query.cursor is not a cursor of this listing', [{ path: 'query.cursor', message: 'invalid cursor' }]);
      const rows = await listCommands(deps.dataSource.manager, {
        userId: user.id,
        ...(query.deviceId !== undefined ? { deviceId: query.deviceId } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
        limit: query.limit,
        ...(after ? { after } : {}),
      });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      const nextCursor = rows.length > query.limit && last ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id }) : null;
      res.json({ items: page.map((r) => toView(r, false)), nextCursor });
    }),
  );

  return router;
}

/** `Idempotency-Key`, else the caller's own `X-Request-Id` (when the HTTP layer accepted it), else none. */
function idempotencyKey(req: Request, res: Response): string | undefined {
  const header = req.header('idempotency-key');
  if (header !== undefined) {
    if (!IDEMPOTENCY_KEY.test(header)) {
      throw AppError.badRequest('invalid headers: headers.idempotency-key must be 1..255 visible ASCII characters', [
        { path: 'headers.idempotency-key', message: 'must be 1..255 visible ASCII characters' },
      ]);
    }
    return header;
  }
  const requestId = req.header('x-request-id');
  return requestId !== undefined && requestId === res.locals.requestId ? requestId : undefined;
}

function accepted(res: Response, view: CommandView, replayed: boolean): void {
  res.status(202).location(`/api/v1/commands/${view.id}`);
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.json(view);
}
