import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import type { EventOf, PayloadOf } from '@devicesaga/contracts';
import { closeServer, createLogger, ensureDatabase as ensureDatabaseOn, testDatabaseName, IDENTITY_HEADER, identityHeaders, identityOfHeaders, handleOnce, type HandlerContext } from '@devicesaga/platform';
import { config } from '../src/config';
import { createHandlers, type TrackedTopic } from '../src/handlers';
import type { Started } from '../src/main';

export const TEST_DB = testDatabaseName('ds_test_command');
export const settings = config({});

export function ensureDatabase(name = TEST_DB): Promise<void> {
  return ensureDatabaseOn(settings, name);
}

/** The signed identity (`X-DS-Identity` value) the gateway would forward for this user. */
export function identityFor(userId: string): string {
  return identityHeaders(settings, { id: userId }, 3600)[IDENTITY_HEADER]!;
}

/**
 * A stand-in for device-service's `GET /api/v1/sensors/{id}`: it verifies the signed identity and answers the sensors
 * it was given for their owner only (404 for anyone else), or 500 while `failing`.
 */
export class DeviceServiceStub {
  private server: Server | undefined;
  /** sensorId → { deviceId, ownerUserId } */
  readonly sensors = new Map<string, { deviceId: string; owner: string }>();
  calls = 0;
  failing = false;
  url = '';

  async start(): Promise<void> {
    const app = express();
    app.get('/api/v1/sensors/:id', (req, res) => {
      this.calls++;
      if (this.failing) {
        res.status(500).json({ error: { code: 'INTERNAL', message: 'boom' } });
        return;
      }
      let user;
      try {
        user = identityOfHeaders(settings, req.headers);
      } catch {
        res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'no' } });
        return;
      }
      const sensor = this.sensors.get(req.params.id);
      if (!sensor || sensor.owner !== user.id) {
        res.status(404).json({ error: { code: 'NOT_FOUND', message: 'sensor not found' } });
        return;
      }
      res.json({ id: req.params.id, deviceId: sensor.deviceId, parameter: 'temperature', value: 20, min: 0, max: 100, updatedAt: new Date().toISOString() });
    });
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }
}

export interface Api {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export function client(port: number) {
  const base = `http://127.0.0.1:${port}`;
  return async (method: string, path: string, identity: string, body?: unknown, headers: Record<string, string> = {}): Promise<Api> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { [IDENTITY_HEADER]: identity, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
}

/** A saga event as the bus would hand it to a handler. */
export function sagaEvent<T extends TrackedTopic>(type: T, payload: PayloadOf<T>, occurredAt = new Date().toISOString()): EventOf<T> {
  return { id: randomUUID(), type, occurredAt, correlationId: (payload as { commandId: string }).commandId, causationId: null, producer: 'test', payload };
}

const testLogger = createLogger('command-service-test', 'silent');

/** Applies one event the way the bus does: the handler in a transaction, then its after-commit callbacks. */
export async function applyEvent<T extends TrackedTopic>(app: Started, event: EventOf<T>): Promise<void> {
  const handlers = createHandlers(app.tracker.track);
  const handler = handlers[event.type] as (e: EventOf<T>, ctx: HandlerContext) => Promise<void>;
  await handleOnce(app.dataSource, handler, event, { logger: testLogger });
}

export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
