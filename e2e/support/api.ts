import { randomUUID } from 'node:crypto';

export const gatewayUrl = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** A logged-in user of the public API (a fresh account per call, so tests never share state). */
export class ApiUser {
  private constructor(
    readonly id: string,
    readonly email: string,
    readonly token: string,
  ) {}

  /** The stack's operator (scripts/test-all.ts makes one and passes its login). */
  static async operator(): Promise<ApiUser> {
    const login = process.env.E2E_OPERATOR_LOGIN;
    const password = process.env.E2E_OPERATOR_PASSWORD;
    if (!login || !password) throw new Error('E2E_OPERATOR_LOGIN/E2E_OPERATOR_PASSWORD are not set (scripts/test-all.ts sets them)');
    const res = await request<{ token: string; user: { id: string; email: string } }>('POST', '/api/v1/auth/login', { body: { login, password } });
    if (res.status !== 200) throw new Error(`operator login ${res.status}: ${JSON.stringify(res.body)}`);
    return new ApiUser(res.body.user.id, res.body.user.email, res.body.token);
  }

  static async register(label = 'user'): Promise<ApiUser> {
    const email = `${label}-${randomUUID().slice(0, 8)}@e2e.devicesaga.local`;
    const password = `pw-${randomUUID()}`;
    const registered = await request('POST', '/api/v1/auth/register', { body: { email, password, name: label } });
    if (registered.status !== 201) throw new Error(`register ${registered.status}: ${JSON.stringify(registered.body)}`);
    const login = await request<{ token: string; user: { id: string } }>('POST', '/api/v1/auth/login', { body: { email, password } });
    if (login.status !== 200) throw new Error(`login ${login.status}: ${JSON.stringify(login.body)}`);
    return new ApiUser(login.body.user.id, email, login.body.token);
  }

  call<T = Record<string, unknown>>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) {
    return request<T>(method, path, { ...options, headers: { authorization: `Bearer ${this.token}`, ...options.headers } });
  }

  async createDevice(name = 'e2e device', parameters = ['temperature', 'enabled']): Promise<Device> {
    const res = await this.call<Device>('POST', '/api/v1/devices', { body: { name, sensors: parameters.map((parameter) => ({ parameter })) } });
    if (res.status !== 201) throw new Error(`create device ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  sensor(device: Device, parameter: string): Sensor {
    const sensor = device.sensors.find((s) => s.parameter === parameter);
    if (!sensor) throw new Error(`device ${device.id} has no ${parameter} sensor`);
    return sensor;
  }

  async sensorValue(sensorId: string): Promise<number | null> {
    const res = await this.call<Sensor>('GET', `/api/v1/sensors/${sensorId}`);
    if (res.status !== 200) throw new Error(`sensor ${res.status}`);
    return res.body.value;
  }

  sendCommand(body: Record<string, unknown>, idempotencyKey: string = randomUUID()) {
    return this.call<Command>('POST', '/api/v1/commands', { body, headers: { 'idempotency-key': idempotencyKey } });
  }

  /** Long-polls until the command is terminal (or `timeoutMs` passes), following every version. */
  async waitTerminal(commandId: string, timeoutMs = 60_000): Promise<Command> {
    const deadline = Date.now() + timeoutMs;
    let after = 0;
    for (;;) {
      const res = await this.call<Command>('GET', `/api/v1/commands/${commandId}?wait=10&after=${after}`);
      if (res.status !== 200) throw new Error(`command ${res.status}: ${JSON.stringify(res.body)}`);
      if (terminal.has(res.body.status)) return res.body;
      if (Date.now() > deadline) throw new Error(`command ${commandId} still ${res.body.status} after ${timeoutMs} ms`);
      after = res.body.version;
    }
  }
}

const terminal = new Set(['SUCCEEDED', 'REJECTED', 'COMPENSATED']);

export async function request<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const res = await fetch(`${gatewayUrl}${path}`, {
    method,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: unknown = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

export interface Sensor {
  id: string;
  deviceId?: string;
  parameter: string;
  value: number | null;
  min: number;
  max: number;
}

export interface Device {
  id: string;
  name: string;
  groupId: string;
  sensors: Sensor[];
  mqtt: { username: string; password: string };
}

export interface Command {
  id: string;
  version: number;
  status: string;
  reason?: string;
  deviceId: string;
  sensorId: string;
  value: number;
  history: { status: string; at: string; reason?: string }[];
}
