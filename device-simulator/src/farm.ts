import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import { DeviceState, profiles, type CommandDecision, type Profile } from './profile';
import { commandOriginProperty, defaultTopicRoot, parseDeviceTopic, topicsUnder } from '@devicesaga/contracts';
import { parseCommand, type CommandMessage, type ReplyMessage } from './protocol';
import { newStats, openClient, silentLogger, type SimLogger, type Stats } from './mqtt';
import { TelemetryForwarder } from './forwarder';
import { TelemetryStore } from './store/telemetry-store';

/** The farm of the default stack; a stack instance has `devicesaga-simulator-farm-<instance>` (scripts/stack). */
export const defaultFarmClientId = 'devicesaga-simulator-farm';
/** The command origin of the default stack's adapter (its MQTT_COMMAND_ORIGIN). */
export const defaultOrigin = 'devicesaga';

export interface FarmOptions {
  mqttUrl: string;
  /** The simulator's service account (MQTT_SIMULATOR_USERNAME / _PASSWORD). */
  username: string;
  password: string;
  clientId?: string;
  /**
   * The adapter whose commands this farm answers (the `devicesaga-origin` user property it stamps on each command):
   * a command from another stack on the same broker — or without an origin — is left alone. Default `devicesaga`
   * (the default stack's adapter).
   */
  origin?: string;
  /** Where unsent telemetry waits (store and forward); default in memory. */
  store?: TelemetryStore;
  /** Device topics' root (`devices`, or a benchmark's `<name>/devices`, as its adapter's MQTT_TOPIC_ROOT). */
  topicRoot?: string;
  profile?: Profile;
  /** Devices to announce online at start (others join when their first command arrives). */
  deviceIds?: string[];
  /** Telemetry period per device; 0 = none. Default 1000. */
  telemetryMs?: number;
  replyLatencyMs?: number;
  refusalRate?: number;
  sessionExpirySec?: number;
  random?: () => number;
  logger?: SimLogger;
}

export interface FarmEvents {
  device: [string];
  command: [string, CommandMessage, CommandDecision];
  reply: [string, ReplyMessage];
}

interface FarmDevice {
  state: DeviceState;
  nextTelemetryAt: number;
}

/**
 * One privileged connection that plays every device: answers on `devices/+/commands` with the profile's logic
 * (state per device id, created on first sight), publishes replies, telemetry and presence on each device's topics.
 * It cannot give each device a last will (one per connection): a crash leaves them `online` until it restarts.
 */
export class Farm extends EventEmitter<FarmEvents> {
  readonly stats: Stats = newStats();
  private readonly devices = new Map<string, FarmDevice>();
  private client: MqttClient | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly random: () => number;
  private readonly logger: SimLogger;
  private readonly telemetryMs: number;
  private readonly origin: string;
  private readonly topicRoot: string;
  private readonly topics: ReturnType<typeof topicsUnder>;
  private readonly ownStore: boolean;
  readonly store: TelemetryStore;
  readonly forwarder: TelemetryForwarder;
  /** Commands of another stack's adapter, left alone. */
  foreignCommands = 0;

  constructor(private readonly options: FarmOptions) {
    super();
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.telemetryMs = options.telemetryMs ?? 1000;
    this.origin = options.origin ?? defaultOrigin;
    this.topicRoot = options.topicRoot ?? defaultTopicRoot;
    this.topics = topicsUnder(this.topicRoot);
    this.ownStore = !options.store;
    this.store = options.store ?? new TelemetryStore();
    this.forwarder = new TelemetryForwarder({
      store: this.store,
      topicOf: this.topics.telemetry,
      window: 1000,
      logger: this.logger,
      onAcked: () => this.stats.telemetrySent++,
    });
  }

  get deviceIds(): string[] {
    return [...this.devices.keys()];
  }

  async start(): Promise<void> {
    const client = await openClient(this.options.mqttUrl, {
      clientId: this.options.clientId ?? defaultFarmClientId,
      username: this.options.username,
      password: this.options.password,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: this.options.sessionExpirySec ?? 3600 },
    }, (c) => {
      this.client = c;
      c.on('message', (topic, payload, packet) => {
        const origin = packet.properties?.userProperties?.[commandOriginProperty];
        if (origin !== this.origin) {
          this.foreignCommands++;
          return;
        }
        this.onMessage(topic, payload);
      });
      c.on('error', (err) => this.logger.warn({ err: err.message }, 'farm mqtt error'));
    }).catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    const granted = await client.subscribeAsync(this.topics.commands('+'), { qos: 1 });
    if (granted.some((g) => g.qos > 2)) throw new Error(`subscription to ${this.topics.commands('+')} refused (ACL of ${this.options.username}?)`);
    for (const id of this.options.deviceIds ?? []) this.device(id);
    this.forwarder.attach(client);
    if (this.telemetryMs > 0) this.ticker = setInterval(() => this.measureDue(), Math.min(50, this.telemetryMs));
  }

  /** Publishes `offline` for every device it played, then disconnects. */
  async stop(): Promise<void> {
    clearInterval(this.ticker);
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    this.forwarder.detach();
    if (client.connected) {
      await Promise.all(this.deviceIds.map((id) => client.publishAsync(this.topics.status(id), 'offline', { qos: 1, retain: true })));
    }
    await client.endAsync(!client.connected);
    this.forwarder.flushDeletes();
    if (this.ownStore) this.store.close();
    this.stats.online = 0;
  }

  /** The state of a device, created (and announced online) on first sight. */
  device(id: string): FarmDevice {
    let d = this.devices.get(id);
    if (!d) {
      d = {
        state: new DeviceState({ profile: this.options.profile ?? profiles.demo!, refusalRate: this.options.refusalRate ?? 0, random: this.random }),
        nextTelemetryAt: Date.now() + this.random() * this.telemetryMs,
      };
      this.devices.set(id, d);
      this.stats.online = this.devices.size;
      this.client?.publish(this.topics.status(id), 'online', { qos: 1, retain: true });
      this.emit('device', id);
    }
    return d;
  }

  private onMessage(topic: string, payload: Buffer): void {
    const t = parseDeviceTopic(topic, this.topicRoot);
    if (t?.kind !== 'commands') return;
    const id = t.deviceId;
    const parsed = parseCommand(payload);
    if (!parsed.ok) {
      this.logger.warn({ deviceId: id, error: parsed.error }, 'invalid command ignored');
      return;
    }
    const decision = this.device(id).state.handle(parsed.command);
    this.emit('command', id, parsed.command, decision);
    if (decision.kind === 'ignored') {
      this.stats.ignored++;
      return;
    }
    const send = () => {
      this.client?.publish(this.topics.replies(id), JSON.stringify(decision.reply), { qos: 1 }, (err) => {
        if (err) return;
        if (decision.reply.status === 'accepted') this.stats.accepted++;
        else this.stats.refused++;
        this.emit('reply', id, decision.reply);
      });
    };
    const latency = this.options.replyLatencyMs ?? 0;
    if (latency > 0) setTimeout(send, latency);
    else send();
  }

  /** Takes the readings that are due (stored, then forwarded in order whenever the broker is reachable). */
  private measureDue(): void {
    const now = Date.now();
    const readings: { deviceId: string; payload: string }[] = [];
    for (const [id, d] of this.devices) {
      if (d.nextTelemetryAt > now) continue;
      d.nextTelemetryAt = now + this.telemetryMs;
      readings.push({ deviceId: id, payload: JSON.stringify(d.state.telemetry()) });
    }
    if (readings.length === 0) return;
    this.store.append(readings);
    this.forwarder.pump();
  }
}
