/**
 * A small client of Mosquitto's dynamic-security plugin: commands published to `$CONTROL/dynamic-security/v1`, the
 * answers read from `$CONTROL/dynamic-security/v1/response`, matched by `correlationData`.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { z } from 'zod';
import type { Logger } from '@devicesaga/platform';

const CONTROL = '$CONTROL/dynamic-security/v1';
const RESPONSE = `${CONTROL}/response`;

export interface DynsecOptions {
  url: string;
  username: string;
  password: string;
  logger: Logger;
  timeoutMs?: number;
}

export type DynsecCommand = { command: string } & Record<string, unknown>;

const responseSchema = z.object({
  responses: z.array(z.object({ command: z.string(), error: z.string().optional(), correlationData: z.string().optional(), data: z.unknown().optional() })),
});
export type DynsecResponse = z.infer<typeof responseSchema>['responses'][number];

export class DynsecError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`dynamic-security ${command} failed: ${reason}`);
    this.name = 'DynsecError';
  }
  get notFound() {
    return /not found/i.test(this.reason);
  }
  get alreadyExists() {
    return /already exists/i.test(this.reason);
  }
}

/** The topics a device may use: only its own (DESIGN.md §5.1). */
export function deviceAcls(deviceId: string) {
  const t = (leaf: string) => `devices/${deviceId}/${leaf}`;
  return [
    { acltype: 'publishClientSend', topic: t('replies'), allow: true },
    { acltype: 'publishClientSend', topic: t('telemetry'), allow: true },
    { acltype: 'publishClientSend', topic: t('status'), allow: true },
    { acltype: 'subscribePattern', topic: t('commands'), allow: true },
    { acltype: 'publishClientReceive', topic: t('commands'), allow: true },
  ];
}

export const deviceRole = (deviceId: string) => `device-${deviceId}`;

export class DynsecClient {
  private client: MqttClient | undefined;
  private readonly pending = new Map<string, { resolve: (r: DynsecResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly options: DynsecOptions) {}

  async connect(): Promise<void> {
    const { url, username, password, logger } = this.options;
    const client = await mqtt.connectAsync(url, {
      username,
      password,
      clientId: `device-service-dynsec-${randomUUID().slice(0, 8)}`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (err) => logger.warn({ err: err.message }, 'dynsec mqtt error'));
    client.on('offline', () => logger.warn('dynsec mqtt connection offline'));
    const granted = await client.subscribeAsync(RESPONSE, { qos: 1 });
    if (granted.some((g) => g.qos > 2)) throw new Error(`dynsec: subscription to ${RESPONSE} refused (check the admin account's ACL)`);
    this.client = client;
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** For readiness: resolves when the admin connection is up and answers. */
  async check(): Promise<void> {
    if (!this.connected) throw new Error('mqtt admin connection down');
    await this.run({ command: 'getDefaultACLAccess' });
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic !== RESPONSE) return;
    let parsed;
    try {
      parsed = responseSchema.parse(JSON.parse(payload.toString('utf8')));
    } catch (err) {
      this.options.logger.warn({ err }, 'dynsec: unreadable response');
      return;
    }
    for (const r of parsed.responses) {
      const waiter = r.correlationData ? this.pending.get(r.correlationData) : undefined;
      if (!waiter || !r.correlationData) continue;
      this.pending.delete(r.correlationData);
      clearTimeout(waiter.timer);
      waiter.resolve(r);
    }
  }

  /** Sends commands in one message (the plugin runs them in order); answers each response, errors included. */
  async send(commands: DynsecCommand[]): Promise<DynsecResponse[]> {
    const client = this.client;
    if (!client) throw new Error('dynsec: not connected');
    const timeoutMs = this.options.timeoutMs ?? 5000;
    const withIds = commands.map((c) => ({ ...c, correlationData: randomUUID() }));
    const answers = withIds.map(
      (c) =>
        new Promise<DynsecResponse>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.pending.delete(c.correlationData);
            reject(new Error(`dynsec: no answer to ${c.command} within ${timeoutMs} ms`));
          }, timeoutMs);
          this.pending.set(c.correlationData, { resolve, reject, timer });
        }),
    );
    try {
      await client.publishAsync(CONTROL, JSON.stringify({ commands: withIds }), { qos: 1 });
    } catch (err) {
      for (const c of withIds) {
        const w = this.pending.get(c.correlationData);
        if (w) {
          clearTimeout(w.timer);
          this.pending.delete(c.correlationData);
        }
      }
      throw err;
    }
    return Promise.all(answers);
  }

  /** One command; throws a DynsecError when the plugin answers an error. */
  async run(command: DynsecCommand): Promise<DynsecResponse> {
    const [r] = await this.send([command]);
    if (!r) throw new Error(`dynsec: no answer to ${command.command}`);
    if (r.error) throw new DynsecError(command.command, r.error);
    return r;
  }

  /** Role `device-<id>` confined to `devices/<id>/...`, and client `<id>` with that role. Idempotent for the role. */
  async createDeviceClient(deviceId: string, password: string): Promise<void> {
    const rolename = deviceRole(deviceId);
    try {
      await this.run({ command: 'createRole', rolename, acls: deviceAcls(deviceId) });
    } catch (err) {
      if (!(err instanceof DynsecError && err.alreadyExists)) throw err;
    }
    await this.run({ command: 'createClient', username: deviceId, password, roles: [{ rolename }] });
  }

  /** Sets a new password; recreates the client (and role) when the broker lost it. */
  async setDevicePassword(deviceId: string, password: string): Promise<void> {
    try {
      await this.run({ command: 'setClientPassword', username: deviceId, password });
    } catch (err) {
      if (!(err instanceof DynsecError && err.notFound)) throw err;
      await this.createDeviceClient(deviceId, password);
    }
    // A device connected with the old secret keeps its session otherwise.
    await this.run({ command: 'disableClient', username: deviceId }).catch(() => undefined);
    await this.run({ command: 'enableClient', username: deviceId });
  }

  /**
   * Removes the client and its role (missing ones are fine) — the broker disconnects the device — and clears the
   * device's retained status message, which the broker would otherwise keep (and hand to every new subscriber) forever.
   */
  async deleteDeviceClient(deviceId: string): Promise<void> {
    for (const c of [
      { command: 'deleteClient', username: deviceId },
      { command: 'deleteRole', rolename: deviceRole(deviceId) },
    ]) {
      try {
        await this.run(c);
      } catch (err) {
        if (!(err instanceof DynsecError && err.notFound)) throw err;
      }
    }
    if (!this.client) throw new Error('dynsec: not connected');
    await this.client.publishAsync(`devices/${deviceId}/status`, '', { qos: 1, retain: true });
  }

  async close(): Promise<void> {
    for (const [id, w] of this.pending) {
      clearTimeout(w.timer);
      w.reject(new Error('dynsec: closed'));
      this.pending.delete(id);
    }
    await this.client?.endAsync();
    this.client = undefined;
  }
}
