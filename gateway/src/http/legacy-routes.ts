import express, { type Response, type Router } from 'express';
import { z } from 'zod';
import { AppError, parseOrThrow, route } from '@devicesaga/platform';
import { principalOf, type Authenticator, type Principal } from '../auth/authenticator';
import type { GatewayConfig } from '../config';
import { USERNAME_PATTERN } from '../domain/usernames';
import type { Accounts } from './auth-routes';
import { legacyFields } from './legacy-body';
import type { ServiceAnswer, ServiceCall } from './proxy';
import type { RateLimits } from './rate-limits';
import { requireAuth } from './require-auth';

/**
 * The original system's API, kept so its Postman collection runs unchanged (issue 9): no /api prefix, a cookie
 * session, form posts, `Content-Type: application/json` on every request even when the body is empty or a form.
 * Each route is a thin translation onto the v1 API of the service that owns the data, called over the gateway's
 * keep-alive pool with the caller's signed identity: no business logic lives here.
 */
export interface LegacyDeps {
  cfg: GatewayConfig;
  accounts: Accounts;
  authenticator: Authenticator;
  limits: RateLimits;
  call: ServiceCall;
}

/** Any 8-4-4-4-12 hex id (the original parsed ids with java.util.UUID, which takes any such form). */
const guid = z.guid();
const numeric = z.union([z.number(), z.string().trim().min(1)]).pipe(z.coerce.number()).refine(Number.isFinite, 'must be a number');

const createDeviceQuery = z.object({ deviceId: guid, sensorId: guid, parameterName: z.string().trim().min(1).max(64) });
const commandFields = z.object({ deviceId: z.string().trim().min(1).max(64), sensorId: z.string().trim().min(1).max(64), value: numeric });

interface SensorJson {
  id: string;
  deviceId: string;
  parameter: string;
  value: number | null;
}
interface DeviceJson {
  id: string;
  name: string;
  sensors: SensorJson[];
}
interface NotificationJson {
  id: string;
  eventType: string;
  title: string;
  description: string;
  payload: Record<string, unknown>;
  createdAt: string;
}

const legacySensor = (s: SensorJson) => ({ id: s.id, deviceId: s.deviceId, parameterName: s.parameter, value: s.value ?? 0 });

/** A service's error answer, passed on as it is (status and the JSON error); anything else is a 502. */
function passOn(res: Response, answer: ServiceAnswer): void {
  if (answer.status >= 400 && answer.status < 600 && answer.body && typeof answer.body === 'object') {
    res.status(answer.status).json(answer.body);
    return;
  }
  throw new AppError(502, 'BAD_GATEWAY', `unexpected answer ${answer.status} from a service`);
}

export function legacyRoutes(deps: LegacyDeps): Router {
  const { cfg, accounts, call } = deps;
  const router = express.Router();
  const authed = [requireAuth(deps.authenticator, cfg.ALLOWED_ORIGINS), deps.limits.perCaller()];
  const as = (res: Response) => {
    const principal: Principal = principalOf(res);
    return { identity: principal.identity, requestId: String(res.locals.requestId) };
  };

  const registerFields = z.object({
    username: z.string().trim().regex(USERNAME_PATTERN, 'letters, digits, ".", "_" and "-" (1–64, starting with a letter or digit)'),
    email: z.email().max(320),
    password: z.string().min(cfg.LEGACY_PASSWORD_MIN_LENGTH).max(1024),
    firstName: z.string().trim().max(100).optional(),
    lastName: z.string().trim().max(100).optional(),
  });

  // POST /register {username, email, password, firstName, lastName} → 201 {id, …}; it does not log in.
  router.post(
    '/register',
    route(async (req, res) => {
      const body = parseOrThrow(registerFields, await legacyFields(req), 'body');
      const displayName = [body.firstName, body.lastName].filter(Boolean).join(' ') || null;
      const user = await accounts.register(req, { username: body.username, email: body.email, password: body.password, displayName });
      res.status(201).json({ id: user.id, username: user.username, email: user.email, firstName: body.firstName ?? null, lastName: body.lastName ?? null });
    }),
  );

  // POST /login with form fields username (or an email) and password → 200 and the session cookie.
  router.post(
    '/login',
    route(async (req, res) => {
      const fields = await legacyFields(req);
      const body = parseOrThrow(z.object({ username: z.string().trim().min(1).max(320), password: z.string().min(1).max(1024) }), { ...fields, username: fields.username ?? fields.email }, 'body');
      const { user } = await accounts.login(req, res, body.username, body.password);
      res.json({ id: user.id, username: user.username, email: user.email });
    }),
  );

  const logout = route(async (req, res) => {
    await accounts.logout(req, res);
    res.json({ status: 'logged out' });
  });
  router.get('/logout', logout);
  router.post('/logout', logout);

  router.get(
    '/hello',
    ...authed,
    (_req, res) => {
      res.type('text/plain').send(`Hello, ${principalOf(res).user.username}!`);
    },
  );

  // The device and its one sensor get the ids the client chose; the device joins the caller's own device group.
  const createDevice = route(async (req, res) => {
    const q = parseOrThrow(createDeviceQuery, req.query, 'query');
    const who = as(res);
    const deviceId = q.deviceId.toLowerCase();
    const sensorId = q.sensorId.toLowerCase();
    const created = await call('device', 'POST', '/api/v1/devices', {
      ...who,
      body: { id: deviceId, name: `device ${deviceId.slice(0, 8)}`, sensors: [{ id: sensorId, parameter: q.parameterName }] },
    });
    let device: DeviceJson;
    if (created.status === 201) {
      device = created.body as DeviceJson;
    } else if (created.status === 409) {
      // Created before (a re-run of the collection): the same device of the same caller is fine, anything else is not.
      const existing = await call('device', 'GET', `/api/v1/devices/${deviceId}`, who);
      const mine = existing.status === 200 ? (existing.body as DeviceJson) : undefined;
      if (!mine?.sensors.some((s) => s.id === sensorId && s.parameter === q.parameterName)) {
        passOn(res, created);
        return;
      }
      device = mine;
    } else {
      passOn(res, created);
      return;
    }
    res.status(200).json({ id: device.id, name: device.name, sensors: device.sensors.map(legacySensor) });
  });
  router.post('/management/create_device', ...authed, createDevice);
  router.get('/management/create_device', ...authed, createDevice);

  router.get(
    '/management/sensors/:sensorId',
    ...authed,
    route(async (req, res) => {
      const { sensorId } = parseOrThrow(z.object({ sensorId: guid }), req.params, 'params');
      const answer = await call('device', 'GET', `/api/v1/sensors/${sensorId.toLowerCase()}`, as(res));
      if (answer.status !== 200) {
        passOn(res, answer);
        return;
      }
      res.json(legacySensor(answer.body as SensorJson));
    }),
  );

  // set_value / add_value: the query or a JSON body; X-Request-Id doubles as the idempotency key → 202.
  for (const action of ['set', 'add'] as const) {
    const handler = route(async (req, res) => {
      const fields = parseOrThrow(commandFields, await legacyFields(req), 'query');
      const requestId = req.header('x-request-id');
      const answer = await call('command', 'POST', '/api/v1/commands', {
        ...as(res),
        body: { deviceId: fields.deviceId, sensorId: fields.sensorId, action, value: fields.value },
        ...(requestId ? { headers: { 'idempotency-key': requestId } } : {}),
      });
      if (answer.status !== 202) {
        passOn(res, answer);
        return;
      }
      const location = answer.headers.location;
      if (typeof location === 'string') res.location(location);
      res.status(202).json(answer.body);
    });
    router.post(`/command/${action}_value`, ...authed, handler);
    router.get(`/command/${action}_value`, ...authed, handler);
  }

  const commandValues = new CommandValues(call);

  router.get(
    '/notifications',
    ...authed,
    route(async (_req, res) => {
      const who = as(res);
      const principal = principalOf(res);
      const items: NotificationJson[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page++) {
        const answer = await call('notification', 'GET', `/api/v1/notifications?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`, who);
        if (answer.status !== 200) {
          passOn(res, answer);
          return;
        }
        const body = answer.body as { items: NotificationJson[]; nextCursor?: string | number | null };
        items.push(...body.items);
        if (body.nextCursor === null || body.nextCursor === undefined || body.items.length === 0) break;
        after = String(body.nextCursor);
      }
      const values = await commandValues.of(items.map((n) => n.payload), who);
      res.json(
        items.map((n) => ({
          id: n.id,
          username: principal.user.username,
          eventType: n.eventType,
          title: n.title,
          description: n.description,
          dateTime: n.createdAt,
          body: JSON.stringify(withValue(n.payload, values)),
        })),
      );
    }),
  );

  const clear = route(async (_req, res) => {
    const who = as(res);
    let answer = await call('notification', 'DELETE', '/api/v1/notifications', who);
    if (answer.status === 404 || answer.status === 405) answer = await call('notification', 'POST', '/api/v1/notifications/clear', who);
    if (answer.status >= 300) {
      passOn(res, answer);
      return;
    }
    res.json({ status: 'cleared' });
  });
  router.get('/notifications/clear', ...authed, clear);
  router.post('/notifications/clear', ...authed, clear);

  return router;
}

/** The payload with `value` = what the command asked for (error events do not carry it: looked up by commandId). */
export function withValue(payload: Record<string, unknown>, values: ReadonlyMap<string, number>): Record<string, unknown> {
  if (typeof payload.value === 'number') return payload;
  const commandId = payload.commandId;
  const value = typeof commandId === 'string' ? values.get(commandId) : undefined;
  return value === undefined ? payload : { ...payload, value };
}

/**
 * The value each command asked for, for notification payloads that lack it (an error event names the command, not
 * the value). Asked of command-service once per command and remembered (a command's value never changes).
 */
export class CommandValues {
  private readonly known = new Map<string, number>();

  constructor(private readonly call: ServiceCall) {}

  async of(payloads: Record<string, unknown>[], who: { identity: string; requestId: string }): Promise<Map<string, number>> {
    const wanted = new Set<string>();
    for (const p of payloads) {
      if (typeof p.value !== 'number' && typeof p.commandId === 'string' && !this.known.has(p.commandId)) wanted.add(p.commandId);
    }
    await Promise.all(
      [...wanted].slice(0, 200).map(async (id) => {
        const answer = await this.call('command', 'GET', `/api/v1/commands/${encodeURIComponent(id)}`, who).catch(() => undefined);
        const value = (answer?.body as { value?: unknown } | undefined)?.value;
        if (answer?.status === 200 && typeof value === 'number') {
          if (this.known.size > 50_000) this.known.clear();
          this.known.set(id, value);
        }
      }),
    );
    return this.known;
  }
}
