import { deviceTopicFilter, deviceUplinkKinds, parseDeviceTopic, type DeviceUplinkKind } from '@devicesaga/contracts';
import type { Bus, Logger } from '@devicesaga/platform';
import type { DataSource } from 'typeorm';
import type { EdgeConfig } from './config';
import { closeOverdue } from './commands/close-overdue';
import { DeadlineTimers } from './commands/deadlines';
import { CommandPublisher } from './commands/publisher';
import type { PendingCommand } from './db/entities';
import { armWithoutDeadline, openCommands, type RecordedCommand } from './db/pending-commands';
import { loadPresence } from './db/presence';
import { subscriptionOf, type EntryPointMap } from './entry-points/entry-point';
import { repliesEntryPoint } from './entry-points/replies';
import { statusEntryPoint } from './entry-points/status';
import { telemetryEntryPoint } from './entry-points/telemetry';
import type { CommandDispatch } from './handlers/dm-value-set-approved';
import { connectMqtt, type MqttConnection } from './mqtt/connection';
import type { Settle } from './mqtt/puback-order';

export interface EdgeDeps {
  dataSource: DataSource;
  /** `transaction` for outcomes and presence (state + outbox); `publish` for telemetry (straight to Kafka). */
  bus: Pick<Bus, 'transaction' | 'publish'>;
  logger: Logger;
  config: EdgeConfig;
  /** Observers for metrics. */
  observe?: { replyBatch?: (size: number) => void; telemetryBatch?: (readings: number) => void };
}

/**
 * At start, deadlines already past wait this long, so replies the broker kept for the adapter's session while it was
 * down are recorded before a timeout could close their commands.
 */
const RESTART_GRACE_MS = 1000;

/**
 * The adapter's MQTT side: publishes commands, turns replies / silence / TTLs into exactly one outcome per command,
 * tracks presence, forwards telemetry. Two MQTT connections with persistent sessions — control (replies, status,
 * commands out) and telemetry — whose messages go to the entry point of their topic kind (`entry-points/`);
 * deadlines live in memory (`DeadlineTimers`), rebuilt from the table at start.
 */
export class DeviceEdge implements CommandDispatch {
  readonly presence = new Map<string, boolean>();
  readonly deadlines: DeadlineTimers;
  readonly publisher: CommandPublisher;
  readonly stats = { invalidStatus: 0, unexpectedTopic: 0, closedByDeadline: 0 };
  private readonly replies;
  private readonly telemetry;
  private readonly entryPoints: EntryPointMap;
  private control: MqttConnection | undefined;
  private telemetryConnection: MqttConnection | undefined;

  constructor(private readonly deps: EdgeDeps) {
    const { config, logger, bus } = deps;
    this.deadlines = new DeadlineTimers((ids) => this.closeOverdue(ids), logger);
    this.publisher = new CommandPublisher(() => this.control?.client, config.MQTT_COMMAND_ORIGIN, config.MQTT_TOPIC_ROOT, logger);
    this.replies = repliesEntryPoint({
      bus,
      logger,
      batchMs: config.REPLY_BATCH_MS,
      batchMax: config.REPLY_BATCH_MAX,
      onClosed: (ids) => this.deadlines.forget(ids),
      ...(deps.observe?.replyBatch ? { onBatch: deps.observe.replyBatch } : {}),
    });
    this.telemetry = telemetryEntryPoint({
      bus,
      logger,
      batchMs: config.TELEMETRY_BATCH_MS,
      batchMax: config.TELEMETRY_BATCH_MAX,
      ...(deps.observe?.telemetryBatch ? { onBatch: deps.observe.telemetryBatch } : {}),
    });
    this.entryPoints = {
      replies: this.replies,
      telemetry: this.telemetry,
      status: statusEntryPoint({
        bus,
        logger,
        batchMs: config.REPLY_BATCH_MS,
        batchMax: config.REPLY_BATCH_MAX,
        replyTimeoutMs: config.REPLY_TIMEOUT_MS,
        presence: this.presence,
        onPresenceApplied: (online, offline) => {
          this.deadlines.track([...online, ...offline]);
          if (online.length > 0) this.publisher.send(online, true);
        },
        onInvalid: () => this.stats.invalidStatus++,
      }),
    };
  }

  get replyStats() {
    return this.replies.stats;
  }

  get telemetryStats() {
    return this.telemetry.stats;
  }

  get connected(): boolean {
    return Boolean(this.control?.client.connected && this.telemetryConnection?.client.connected);
  }

  get pubacksSent(): { control: number; telemetry: number } {
    return { control: this.control?.pubacksSent ?? 0, telemetry: this.telemetryConnection?.pubacksSent ?? 0 };
  }

  get replyTimeoutMs(): number {
    return this.deps.config.REPLY_TIMEOUT_MS;
  }

  isOnline(deviceId: string): boolean {
    return this.presence.get(deviceId) ?? false;
  }

  async start(): Promise<void> {
    const { config, logger, dataSource } = this.deps;
    for (const [id, online] of await loadPresence(dataSource.manager)) this.presence.set(id, online);
    const settings = {
      url: config.MQTT_URL,
      username: config.MQTT_ADAPTER_USERNAME,
      password: config.MQTT_ADAPTER_PASSWORD,
      sessionExpiryS: config.MQTT_SESSION_EXPIRY_S,
      receiveMaximum: config.MQTT_RECEIVE_MAXIMUM,
    };
    const filters = (connection: 'control' | 'telemetry') =>
      deviceUplinkKinds
        .filter((kind) => subscriptionOf[kind].connection === connection)
        .map((kind) => {
          const filter = deviceTopicFilter(kind, config.MQTT_TOPIC_ROOT);
          return subscriptionOf[kind].shared ? `$share/${config.MQTT_SHARE_GROUP}/${filter}` : filter;
        });
    const sink = (topic: string, payload: Buffer, settle: Settle) => this.route(topic, payload, settle);
    // the control connection keeps the client id of the adapter's session (its queued replies come back with it)
    this.control = await connectMqtt({ ...settings, clientId: config.MQTT_CLIENT_ID }, filters('control'), sink, logger);
    this.telemetryConnection = await connectMqtt({ ...settings, clientId: `${config.MQTT_CLIENT_ID}-telemetry` }, filters('telemetry'), sink, logger);
    // deadlines from the table (a restart loses none), and every open command published again (a crash between a
    // commit and its publish loses none; devices answer a commandId once)
    const open = await openCommands(dataSource.manager);
    this.deadlines.holdFor(RESTART_GRACE_MS);
    this.deadlines.track(open);
    const now = Date.now();
    this.publisher.send(
      open.filter((c) => c.expiresAt.getTime() > now),
      true,
    );
    logger.info({ open: open.length }, 'device edge started');
  }

  /** Stops taking messages, records what was taken (its PUBACKs go), then disconnects. */
  async stop(): Promise<void> {
    await this.deadlines.stop();
    this.control?.closeGate();
    this.telemetryConnection?.closeGate();
    const drained = Promise.all(deviceUplinkKinds.map((k) => this.entryPoints[k].drain()));
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
    if ((await Promise.race([drained, timeout])) === 'timeout') {
      this.deps.logger.warn('stop: batches still not recorded after 5 s: left to the broker to redeliver');
      for (const k of deviceUplinkKinds) this.entryPoints[k].stop();
    }
    await new Promise((resolve) => setImmediate(resolve)); // the last PUBACKs are written in a microtask
    await Promise.all([this.control?.end(), this.telemetryConnection?.end()]);
  }

  /**
   * Drops both MQTT connections at once, acknowledging nothing more: what was not yet PUBACKed stays with the broker
   * for the session's next connection — what a crash does (tests use it to play one).
   */
  async abort(): Promise<void> {
    await this.deadlines.stop();
    for (const k of deviceUplinkKinds) this.entryPoints[k].stop();
    await Promise.all([this.control?.abort(), this.telemetryConnection?.abort()]);
  }

  /** After an approval batch committed: watch the commands' deadlines and publish the open ones. */
  dispatch(recorded: RecordedCommand[]): void {
    const now = Date.now();
    const open: PendingCommand[] = [];
    const fresh: PendingCommand[] = [];
    const again: PendingCommand[] = [];
    for (const { command, inserted } of recorded) {
      if (command.state !== 'PENDING') continue; // closed already: a redelivered approval is not sent again
      open.push(command);
      if (command.expiresAt.getTime() > now) (inserted ? fresh : again).push(command); // an expired one just closes
    }
    this.deadlines.track(open);
    this.publisher.send(fresh);
    this.publisher.send(again, true);
    // recorded as offline, but the device came online meanwhile (its status was recorded concurrently)
    const missed = [...new Set(open.filter((c) => c.replyDeadline === null && this.isOnline(c.deviceId)).map((c) => c.deviceId))];
    if (missed.length > 0) {
      armWithoutDeadline(this.deps.dataSource.manager, missed, this.replyTimeoutMs).then(
        (armed) => this.deadlines.track(armed),
        (err: unknown) => this.deps.logger.error({ err, devices: missed }, 'arming reply deadlines failed (the commands wait for their TTL)'),
      );
    }
  }

  private route(topic: string, payload: Buffer, settle: Settle): void {
    const t = parseDeviceTopic(topic, this.deps.config.MQTT_TOPIC_ROOT);
    if (!t || t.kind === 'commands') {
      this.stats.unexpectedTopic++;
      this.deps.logger.warn({ topic }, 'message on an unexpected topic dropped');
      settle();
      return;
    }
    this.entryPoints[t.kind satisfies DeviceUplinkKind].receive(t.deviceId, payload, settle);
  }

  private async closeOverdue(commandIds: string[]): Promise<void> {
    const { closed, stillOpen } = await this.deps.bus.transaction((tx) => closeOverdue(tx, commandIds));
    this.deadlines.track(stillOpen);
    this.stats.closedByDeadline += closed.length;
    for (const { command, outcome } of closed) {
      this.deps.logger.debug({ commandId: command.commandId, deviceId: command.deviceId, outcome: outcome.state }, 'command closed by its deadline');
    }
  }
}

export type { PendingCommand };
