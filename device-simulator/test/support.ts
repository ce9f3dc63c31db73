import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';

const run = promisify(execFile);

/** MQTT settings from the environment (`source infra/.run/env`), else from infra's generated credentials file. */
export function mqttEnv() {
  const file = path.resolve(__dirname, '../../infra/.run/credentials.env');
  let fromFile: Record<string, string> = {};
  try {
    fromFile = Object.fromEntries(
      readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#') && l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  } catch {
    // only the environment then
  }
  const get = (k: string) => {
    const v = process.env[k] ?? fromFile[k];
    if (!v) throw new Error(`${k} is not set: run 'bash infra/infra.sh up' and 'source infra/.run/env'`);
    return v;
  };
  return {
    url: process.env.MQTT_URL ?? 'mqtt://127.0.0.1:1884',
    adminUsername: process.env.MQTT_ADMIN_USERNAME ?? fromFile.MQTT_ADMIN_USERNAME ?? 'admin',
    adminPassword: get('MQTT_ADMIN_PASSWORD'),
    adapterUsername: process.env.MQTT_ADAPTER_USERNAME ?? fromFile.MQTT_ADAPTER_USERNAME ?? 'svc-adapter',
    adapterPassword: get('MQTT_ADAPTER_PASSWORD'),
    simulatorUsername: process.env.MQTT_SIMULATOR_USERNAME ?? fromFile.MQTT_SIMULATOR_USERNAME ?? 'svc-simulator',
    simulatorPassword: get('MQTT_SIMULATOR_PASSWORD'),
  };
}

export const uniqueId = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

/**
 * This test file's own topic root (`t<random>/devices`; the service accounts may use `<name>/devices`): the broker is
 * shared with other stacks, whose simulator farms answer every command on `devices/+/commands` and whose traffic
 * every adapter on `devices/+/…` receives — under a root of its own, a test sees only its own devices.
 */
export const testRoot = `t${randomBytes(4).toString('hex')}/devices`;

async function dynsec(...args: string[]): Promise<void> {
  const env = mqttEnv();
  const { hostname, port } = new URL(env.url);
  await run('mosquitto_ctrl', ['-h', hostname, '-p', port || '1883', '-u', env.adminUsername, '-P', env.adminPassword, 'dynsec', ...args]);
}

/** A per-device Mosquitto client as device-service creates it: username = id, role confined to <root>/<id>/#. */
export async function createDeviceClient(id: string, root = testRoot): Promise<string> {
  const password = randomBytes(12).toString('hex');
  const role = `device-${id}`;
  await dynsec('createClient', id, '-p', password);
  await dynsec('createRole', role);
  await dynsec('addRoleACL', role, 'publishClientSend', `${root}/${id}/#`, 'allow');
  await dynsec('addRoleACL', role, 'subscribePattern', `${root}/${id}/#`, 'allow');
  await dynsec('addClientRole', id, role);
  return password;
}

export async function deleteDeviceClient(id: string): Promise<void> {
  await dynsec('deleteClient', id).catch(() => undefined);
  await dynsec('deleteRole', `device-${id}`).catch(() => undefined);
}

/** A client on the given account (clean session), connected. */
export async function connectAs(username: string, password: string, clientId = uniqueId('test')): Promise<MqttClient> {
  return mqtt.connectAsync(mqttEnv().url, { username, password, clientId, clean: true, reconnectPeriod: 0 });
}

/** Collects messages of matching topics. */
export function collect(client: MqttClient) {
  const messages: { topic: string; text: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, text: payload.toString(), retain: packet.retain }));
  return messages;
}

/** Waits until `predicate` holds (polling), or fails naming `what`. */
export async function until<T>(what: string, predicate: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A TCP proxy in front of the broker that can be cut: `down()` drops every connection through it and refuses new
 * ones (a broker outage as a device sees it, without stopping the shared broker), `up()` lets them in again.
 */
export async function brokerProxy(): Promise<{ url: string; down(): void; up(): void; close(): Promise<void> }> {
  const { createServer, connect } = await import('node:net');
  const target = new URL(mqttEnv().url);
  const sockets = new Set<import('node:net').Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port || 1883), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as import('node:net').AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${address.port}`,
    down() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    up() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
