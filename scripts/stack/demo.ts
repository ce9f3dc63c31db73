import { setUserRole } from '../../gateway/src/cli/user-role';

/** Demo data through the public API, idempotent: a demo user with a few devices, and an operator. */
export const demoUser = { username: 'demo', email: 'demo@devicesaga.local', password: 'demo-password-2026', name: 'Demo User' };
/** Operators also manage parameters, alarm types and the DLQ; made one with the same step as `npm run user:role`. */
export const demoOperator = { username: 'operator', email: 'operator@devicesaga.local', password: 'operator-password-2026', name: 'Demo Operator' };

interface Json {
  [key: string]: unknown;
}

async function call(base: string, method: string, pathname: string, body?: unknown, token?: string): Promise<{ status: number; json: Json }> {
  const res = await fetch(`${base}${pathname}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : {} };
}

/** Registers a user unless it exists (409), and returns nothing: idempotent. */
async function ensureUser(base: string, user: typeof demoUser): Promise<void> {
  const registered = await call(base, 'POST', '/api/v1/auth/register', user);
  if (registered.status !== 201 && registered.status !== 409) throw new Error(`demo register ${user.username}: ${registered.status} ${JSON.stringify(registered.json)}`);
}

/**
 * `gatewayEnv`: the environment the stack's gateway runs with (its DATABASE_NAME and REDIS_KEY_PREFIX), for the
 * operator's role.
 */
export async function seedDemo(base: string, gatewayEnv: NodeJS.ProcessEnv = process.env): Promise<{ devices: number }> {
  await ensureUser(base, demoOperator);
  await setUserRole(demoOperator.username, 'operator', { ...gatewayEnv, LOG_LEVEL: 'warn' });
  await ensureUser(base, demoUser);
  const login = await call(base, 'POST', '/api/v1/auth/login', { email: demoUser.email, password: demoUser.password });
  if (login.status !== 200) throw new Error(`demo login: ${login.status} ${JSON.stringify(login.json)}`);
  const token = String(login.json.token);
  const list = await call(base, 'GET', '/api/v1/devices?limit=10', undefined, token);
  const existing = Array.isArray(list.json.items) ? list.json.items.length : 0;
  const wanted = ['Greenhouse heater', 'Cold store', 'Office thermostat'];
  for (const name of wanted.slice(existing)) {
    const created = await call(base, 'POST', '/api/v1/devices', { name, sensors: [{ parameter: 'temperature' }, { parameter: 'enabled' }] }, token);
    if (created.status !== 201) throw new Error(`demo device: ${created.status} ${JSON.stringify(created.json)}`);
  }
  return { devices: Math.max(existing, wanted.length) };
}
