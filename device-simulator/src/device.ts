import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { DeviceState, profiles, type CommandDecision, type Profile } from './profile';
import { topicsUnder } from '@devicesaga/contracts';
import { parseCommand, type CommandMessage, type ReplyMessage, type TelemetryMessage } from './protocol';
import { newStats, openClient, silentLogger, type SimLogger, type Stats } from './mqtt';
import { TelemetryForwarder } from './forwarder';
import { TelemetryStore } from './store/telemetry-store';

export interface DeviceOptions {
  id: string;
  password: string;
  mqttUrl: string;
  profile?: Profile;
  /** Telemetry period; 0 = none. Default 1000. */
  telemetryMs?: number;
  /** Readings per second (e.g. 1000), instead of one every `telemetryMs`; each reading is one MQTT message. */
  telemetryPerSecond?: number;
  /**
   * Where unsent readings wait (store and forward): a file store survives a restart of the simulator; default an
   * in-memory store of this device (survives broker outages only).
   */
  store?: TelemetryStore;
  /** Readings in flight (published, not yet acknowledged) at most. Default 500. */
  telemetryWindow?: number;
  /** Its topics' root: `devices` (default; what device-service's credentials allow), or a test's own `<name>/devices`. */
  topicRoot?: string;
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
  private readonly ownStore: boolean;
  private readonly topics: ReturnType<typeof topicsUnder>;
  readonly store: TelemetryStore;
  readonly forwarder: TelemetryForwarder;

  constructor(private readonly options: DeviceOptions) {
    super();
    this.id = options.id;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.state = new DeviceState({ profile: options.profile ?? profiles.demo!, refusalRate: options.refusalRate ?? 0, random: this.random });
    this.topics = topicsUnder(options.topicRoot);
    this.ownStore = !options.store;
    this.store = options.store ?? new TelemetryStore();
    this.forwarder = new TelemetryForwarder({
      store: this.store,
      deviceId: this.id,
      topicOf: this.topics.telemetry,
      ...(options.telemetryWindow ? { window: options.telemetryWindow } : {}),
      logger: this.logger,
      onAcked: (payload) => {
        this.stats.telemetrySent++;
        if (this.listenerCount('telemetry') > 0) this.emit('telemetry', JSON.parse(payload) as TelemetryMessage);
      },
    });
  }

  /** Readings taken and not yet acknowledged by the broker. */
  get unsent(): number {
    return this.store.count(this.id);
  }

  get online(): boolean {
    return Boolean(this.client?.connected);
  }

  /**
   * Starts measuring (readings are stored whether or not the broker is reachable), connects, and schedules offline
   * periods when configured.
   */
  async start(): Promise<void> {
    this.stopped = false;
    this.startMeasuring();
    await this.goOnline();
    this.scheduleFlap();
  }

  private startMeasuring(): void {
    clearInterval(this.telemetryTimer);
    const perSecond = this.options.telemetryPerSecond ?? 0;
    if (perSecond > 0) {
      // every 10 ms, the readings due by then (a timer per reading would not keep 1,000/s)
      let due = 0;
      let last = Date.now();
      this.telemetryTimer = setInterval(() => {
        const now = Date.now();
        due += ((now - last) / 1000) * perSecond;
        last = now;
        const n = Math.floor(due);
        due -= n;
        if (n > 0) this.measure(n);
      }, 10);
      return;
    }
    const every = this.options.telemetryMs ?? 1000;
    if (every > 0) this.telemetryTimer = setInterval(() => this.measure(1), every);
  }

  private measure(n: number): void {
    const readings = [];
    for (let i = 0; i < n; i++) readings.push({ deviceId: this.id, payload: JSON.stringify(this.state.telemetry()) });
    this.store.append(readings);
    this.forwarder.pump();
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
      will: { topic: this.topics.status(id), payload: Buffer.from('offline'), qos: 1, retain: true },
    }, (c) => {
      this.client = c;
      c.on('message', (_topic, payload) => this.onMessage(payload));
      c.on('error', (err) => this.logger.warn({ deviceId: id, err: err.message }, 'mqtt error'));
    }).catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    await client.subscribeAsync(this.topics.commands(id), { qos: 1 });
    await client.publishAsync(this.topics.status(id), 'online', { qos: 1, retain: true });
    this.stats.online = 1;
    this.forwarder.attach(client);
    this.logger.info({ deviceId: id }, 'online');
    this.emit('online');
  }

  /** Says `offline` (retained) and disconnects; the broker keeps the session and queues commands. */
  async goOffline(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    this.forwarder.detach();
    try {
      if (client.connected) await client.publishAsync(this.topics.status(this.id), 'offline', { qos: 1, retain: true });
    } finally {
      // connected: in-flight readings get their PUBACKs first; not (broker away): at once, they stay stored
      await client.endAsync(!client.connected);
    }
    this.stats.online = 0;
    this.logger.info({ deviceId: this.id }, 'offline');
    this.emit('offline');
  }

  /** Stops measuring and disconnects; unsent readings stay in the store (a file store keeps them for a restart). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.flapTimer);
    clearInterval(this.telemetryTimer);
    this.telemetryTimer = undefined;
    await this.goOffline();
    this.forwarder.flushDeletes();
    if (this.ownStore) this.store.close();
  }

  /** Takes one reading now (sent as soon as the device is connected). */
  sendTelemetry(): void {
    this.measure(1);
  }

  /** Stores a given reading (sent in order with the others). */
  record(message: TelemetryMessage): void {
    this.store.append([{ deviceId: this.id, payload: JSON.stringify(message) }]);
    this.forwarder.pump();
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
      client.publish(this.topics.replies(this.id), JSON.stringify(decision.reply), { qos: 1 }, (err) => {
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
