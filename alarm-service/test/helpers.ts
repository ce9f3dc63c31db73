import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { EventOf } from '@devicesaga/contracts';
import {
  closeServer,
  createLogger,
  ensureDatabase as ensureDatabaseOn,
  handleOnce,
  loadConfig,
  identityHeaders,
  identityOfHeaders,
  testDatabaseName,
  type DeviceInfoAnswer,
  type OutgoingEvent,
  type Role,
  type UserAccessAnswer,
} from '@devicesaga/platform';
import { createHandlers } from '../src/handlers';
import type { Started } from '../src/main';

export const settings = loadConfig({});
export const testLogger = createLogger('alarm-service-test', 'silent');

export function ensureDatabase(name: string): Promise<void> {
  return ensureDatabaseOn(settings, name);
}
export const dbName = (base: string) => testDatabaseName(base);

export interface StubDevice {
  id: string;
  groupId: string;
  /** Users who may access it. */
  users: string[];
  /** parameter → sensor id */
  sensors: Record<string, string>;
}

/** A device with a temperature and an enabled sensor, owned by `users`. */
export function newDevice(users: string[], groupId: string = randomUUID()): StubDevice {
  return { id: randomUUID(), groupId, users, sensors: { temperature: randomUUID(), enabled: randomUUID() } };
}

/**
 * Stands in for device-service's internal access routes (services only, as there): which devices and sensors a user
 * may access, and the registry facts of devices by id. Counts the calls.
 */
export class DeviceServiceStub {
  readonly devices = new Map<string, StubDevice>();
  calls = 0;
  private server: Server | undefined;

  add(...devices: StubDevice[]): void {
    for (const d of devices) this.devices.set(d.id, d);
  }

  async start(): Promise<void> {
    const app = express();
    app.use(express.json());
    app.use((req, res, next) => {
      this.calls++;
      let id: string;
      try {
        id = identityOfHeaders(settings, req.headers).id;
      } catch {
        res.status(401).json({ error: { code: 'UNAUTHORIZED', message: 'no' } });
        return;
      }
      if (id.startsWith('service:')) next();
      else res.status(404).json({ error: { code: 'NOT_FOUND', message: 'route' } });
    });
    app.get('/internal/v1/access/users/:userId', (req, res) => {
      const answer: UserAccessAnswer = {
        devices: [...this.devices.values()]
          .filter((d) => d.users.includes(req.params.userId))
          .map((d) => ({ id: d.id, sensors: Object.entries(d.sensors).map(([parameter, id]) => ({ id, parameter })) })),
      };
      res.json(answer);
    });
    app.post('/internal/v1/access/devices/lookup', (req, res) => {
      const ids = (req.body as { ids: string[] }).ids;
      const answer: DeviceInfoAnswer = {
        devices: ids
          .map((id) => this.devices.get(id))
          .filter((d): d is StubDevice => d !== undefined)
          .map((d) => ({ id: d.id, groupId: d.groupId, sensors: Object.entries(d.sensors).map(([parameter, id]) => ({ id, parameter })) })),
      };
      res.json(answer);
    });
    await new Promise<void>((resolve) => {
      this.server = app.listen(0, '127.0.0.1', () => resolve());
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
  }
}

export interface Api<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** Calls the service directly with the signed identity the gateway would forward for this user. */
export function client(port: number) {
  return async <T = Record<string, unknown>>(method: string, path: string, user: { id: string; role?: Role }, body?: unknown): Promise<Api<T>> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: { ...identityHeaders(settings, { id: user.id, ...(user.role ? { role: user.role } : {}) }, 600), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  };
}

/** A measurement as the adapter publishes it. */
export function measurement(deviceId: string, ts: number | string, values: Record<string, number>): EventOf<'adapter.measure_received'> {
  const id = randomUUID();
  return {
    id,
    type: 'adapter.measure_received',
    occurredAt: new Date().toISOString(),
    correlationId: id,
    causationId: null,
    producer: 'adapter',
    payload: { deviceId, ts: typeof ts === 'number' ? new Date(ts).toISOString() : ts, values },
  };
}

/**
 * Runs a batch through the consumer's handler as the bus does (one transaction), collecting what it emits. Answers the
 * events emitted. `beforeCommit` runs inside the transaction after the handler (to hold it open in a race).
 */
export async function ingest(app: Started, events: EventOf<'adapter.measure_received'>[], beforeCommit?: () => Promise<void>): Promise<OutgoingEvent[]> {
  const emitted: OutgoingEvent[] = [];
  const handler = createHandlers(app.ingest)['adapter.measure_received'];
  await handleOnce(app.dataSource, handler, events, { logger: testLogger, emit: (e) => emitted.push(e), ...(beforeCommit ? { beforeCommit } : {}) });
  return emitted;
}

export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`not in time: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A counter's value from the service's /metrics (summed over its labels, or one label value). */
export async function metric(port: number, name: string, label?: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    if (line[name.length] !== ' ' && line[name.length] !== '{') continue;
    if (label && !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
