/** Demo data through the public API, idempotent: a demo user and a few devices. */
export const demoUser = { email: 'demo@devicesaga.local', password: 'demo-password-2026', name: 'Demo User' };

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

export async function seedDemo(base: string): Promise<{ devices: number }> {
  const registered = await call(base, 'POST', '/api/v1/auth/register', demoUser);
  if (registered.status !== 201 && registered.status !== 409) throw new Error(`demo register: ${registered.status} ${JSON.stringify(registered.json)}`);
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
