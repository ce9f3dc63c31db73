import type { Target } from './load';

async function api<T>(base: string, method: string, pathname: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(`${base}${pathname}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${pathname}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Registers a bench user and creates `devices` devices with one temperature sensor each. */
export async function prepareTarget(gatewayUrl: string, devices: number): Promise<Target> {
  const email = `bench-${Date.now()}@bench.devicesaga.local`;
  const password = 'bench-password-0123456789';
  await api(gatewayUrl, 'POST', '/api/v1/auth/register', { email, password });
  const login = await api<{ token: string; user: { id: string } }>(gatewayUrl, 'POST', '/api/v1/auth/login', { email, password });
  // Commands to one sensor are serialized by the saga's semantic lock, so the load is spread over many devices,
  // as a fleet's would be.
  const sensors: Target['sensors'] = [];
  const createOne = async (i: number) => {
    const device = await api<{ id: string; sensors: { id: string; parameter: string }[] }>(
      gatewayUrl,
      'POST',
      '/api/v1/devices',
      { name: `bench ${i}`, sensors: [{ parameter: 'temperature' }] },
      login.token,
    );
    for (const s of device.sensors) sensors.push({ deviceId: device.id, sensorId: s.id });
  };
  for (let i = 0; i < devices; i += 10) {
    await Promise.all(Array.from({ length: Math.min(10, devices - i) }, (_, k) => createOne(i + k)));
  }
  return { gatewayUrl, token: login.token, userId: login.user.id, sensors };
}

/** Deletes the benchmark's devices (their MQTT clients and retained statuses go with them), 10 at a time. */
export async function removeTarget(target: Target): Promise<void> {
  const ids = [...new Set(target.sensors.map((s) => s.deviceId))];
  for (let i = 0; i < ids.length; i += 10) {
    await Promise.all(
      ids.slice(i, i + 10).map(async (id) => {
        const res = await fetch(`${target.gatewayUrl}/api/v1/devices/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${target.token}` } });
        if (res.status !== 204 && res.status !== 404) throw new Error(`DELETE /api/v1/devices/${id}: ${res.status} ${await res.text()}`);
      }),
    );
  }
}
