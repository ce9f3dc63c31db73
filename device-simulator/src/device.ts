import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { DeviceState, profiles, type CommandDecision, type Profile } from './profile';
import { parseCommand, topics, type CommandMessage, type ReplyMessage, type TelemetryMessage } from './protocol';
import { newStats, openClient, silentLogger, type SimLogger, type Stats } from './mqtt';

export interface DeviceOptions {
  id: string;
  password: string;
  mqttUrl: string;
  profile?: Profile;
  /** Telemetry period; 0 = none. Default 1000. */
  telemetryMs?: number;
  /** Delay before each reply. Default 0. */
  replyLatencyMs?: number;
  /** 0..1, share of valid commands refused anyway. Default 0. */
  refusalRate?: number;
  /** Random offline periods: mean seconds between them and mean length. Off unless both are > 0. */
  offlineEverySec?: number;
  offlineForSec?: number;
  /** MQTT 5 session expiry (the broker keeps QoS 1 commands that long while offline). Default 1 day. */
  sessionExpirySec?: number;
  random?: () => number;
  logger?: SimLogger;
}

export interface DeviceEvents {
  command: [CommandMessage, CommandDecision];
  reply: [ReplyMessage];
  telemetry: [TelemetryMessage];
  online: [];
  offline: [];
}

/**
 * One device on its own credentials (username = device id), as DESIGN.md §5.1 describes firmware: persistent
 * session (clean=false, clientId = device id) so commands sent while it is offline reach it on reconnect, last will
 * `offline` (retained), `online` (retained) on connect, commands QoS 1, one reply per commandId, telemetry.
 */
export class SimulatedDevice extends EventEmitter<DeviceEvents> {
  readonly id: string;
  readonly state: DeviceState;
  readonly stats: Stats = newStats();
  private client: MqttClient | undefined;
  private telemetryTimer: NodeJS.Timeout | undefined;
  private flapTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly random: () => number;
  private readonly logger: SimLogger;

  constructor(private readonly options: DeviceOptions) {
    super();
    this.id = options.id;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.state = new DeviceState({ profile: options.profile ?? profiles.demo!, refusalRate: options.refusalRate ?? 0, random: this.random });
  }

  get online(): boolean {
    return Boolean(this.client?.connected);
  }

  /** Connects (and schedules offline periods when configured). */
  async start(): Promise<void> {
    this.stopped = false;
    await this.goOnline();
    this.scheduleFlap();
  }

  async goOnline(): Promise<void> {
    if (this.client) return;
    const { id, password, mqttUrl } = this.options;
    const client = await openClient(mqttUrl, {
      clientId: id,
      username: id,
      password,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: this.options.sessionExpirySec ?? 86_400 },
      will: { topic: topics.status(id), payload: Buffer.from('offline'), qos: 1, retain: true },
    }, (c) => {
      this.client = c;
      c.on('message', (_topic, payload) => this.onMessage(payload));
      c.on('error', (err) => this.logger.warn({ deviceId: id, err: err.message }, 'mqtt error'));
    }).catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    await client.subscribeAsync(topics.commands(id), { qos: 1 });
    await client.publishAsync(topics.status(id), 'online', { qos: 1, retain: true });
    this.stats.online = 1;
    const every = this.options.telemetryMs ?? 1000;
    if (every > 0) this.telemetryTimer = setInterval(() => this.sendTelemetry(), every);
    this.logger.info({ deviceId: id }, 'online');
    this.emit('online');
  }

  /** Says `offline` (retained) and disconnects; the broker keeps the session and queues commands. */
  async goOffline(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    clearInterval(this.telemetryTimer);
    this.telemetryTimer = undefined;
    try {
      if (client.connected) await client.publishAsync(topics.status(this.id), 'offline', { qos: 1, retain: true });
    } finally {
      await client.endAsync();
    }
    this.stats.online = 0;
    this.logger.info({ deviceId: this.id }, 'offline');
    this.emit('offline');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.flapTimer);
    await this.goOffline();
  }

  /** Publishes one telemetry message now (also called by the timer). */
  sendTelemetry(): void {
    const client = this.client;
    if (!client?.connected) return;
    const message = this.state.telemetry();
    client.publish(topics.telemetry(this.id), JSON.stringify(message), { qos: 1 }, (err) => {
      if (err) return;
      this.stats.telemetrySent++;
      this.emit('telemetry', message);
    });
  }

  private onMessage(payload: Buffer): void {
    const parsed = parseCommand(payload);
    if (!parsed.ok) {
      this.logger.warn({ deviceId: this.id, error: parsed.error }, 'invalid command ignored');
      return;
    }
    const decision = this.state.handle(parsed.command);
    this.emit('command', parsed.command, decision);
    if (decision.kind === 'ignored') {
      this.stats.ignored++;
      return;
    }
    const send = () => {
      const client = this.client;
      if (!client?.connected) return; // went offline meanwhile: the platform times out / expires it
      client.publish(topics.replies(this.id), JSON.stringify(decision.reply), { qos: 1 }, (err) => {
        if (err) return;
        if (decision.reply.status === 'accepted') this.stats.accepted++;
        else this.stats.refused++;
        this.emit('reply', decision.reply);
      });
    };
    const latency = this.options.replyLatencyMs ?? 0;
    if (latency > 0) setTimeout(send, latency);
    else send();
  }

  private scheduleFlap(): void {
    const every = this.options.offlineEverySec ?? 0;
    const length = this.options.offlineForSec ?? 0;
    if (every <= 0 || length <= 0 || this.stopped) return;
    const until = -Math.log(1 - this.random()) * every * 1000; // exponential gaps, mean `every`
    this.flapTimer = setTimeout(() => {
      void (async () => {
        try {
          await this.goOffline();
          await new Promise((r) => setTimeout(r, (0.5 + this.random()) * length * 1000));
          if (!this.stopped) await this.goOnline();
        } catch (err) {
          this.logger.warn({ deviceId: this.id, err: String(err) }, 'offline period failed');
        }
        this.scheduleFlap();
      })();
    }, until);
  }
}
