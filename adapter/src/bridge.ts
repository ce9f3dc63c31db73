import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { DataSource } from 'typeorm';
import type { Bus, Logger, OutgoingEvent, TxContext } from '@devicesaga/platform';
import type { AdapterConfig } from './config';
import { DevicePresence, type PendingCommand } from './db/entities';
import { pendingRows, rows } from './db/rows';
import { outcomeEvent, outcomeOfReply, timerOutcome } from './domain/outcome';
import {
  commandsTopic,
  parseReply,
  parseStatus,
  parseTelemetry,
  parseTopic,
  type CommandMessage,
  type ReplyMessage,
} from './domain/protocol';
import { connectMqtt } from './mqtt/connect';
import { Batcher } from './telemetry';

export type BridgeConfig = Pick<
  AdapterConfig,
  | 'MQTT_URL'
  | 'MQTT_ADAPTER_USERNAME'
  | 'MQTT_ADAPTER_PASSWORD'
  | 'MQTT_CLIENT_ID'
  | 'MQTT_SHARE_GROUP'
  | 'MQTT_SESSION_EXPIRY_S'
  | 'REPLY_TIMEOUT_MS'
  | 'TIMER_INTERVAL_MS'
  | 'PUBLISH_TIMEOUT_MS'
  | 'TELEMETRY_BATCH_MS'
  | 'TELEMETRY_BATCH_MAX'
>;

export interface BridgeDeps {
  dataSource: DataSource;
  /** `transaction` for saga outcomes and presence (state + outbox); `publish` for telemetry. */
  bus: Pick<Bus, 'transaction' | 'publish'>;
  logger: Logger;
  config: BridgeConfig;
}

export type ReplyResult = 'closed' | 'ignored';

const BATCH = 200;

/**
 * The adapter's MQTT side: sends commands, turns replies / silence / TTLs into exactly one outcome per command,
 * tracks presence, forwards telemetry. All timing decisions come from the database, so a restart loses nothing.
 *
 * A command is published only after its pending row has committed (the consumer's after-commit callback), so a
 * reply always finds its row; a crash between that commit and the publish is covered by `start`, which publishes
 * every open command again (devices answer a commandId once).
 */
export class DeviceBridge {
  private control: MqttClient | undefined;
  private telemetryClient: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopping = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly presence = new Map<string, boolean>();
  readonly telemetry: Batcher<OutgoingEvent<'adapter.measure_received'>>;
  readonly stats = { published: 0, republished: 0, closed: 0, ignoredReplies: 0, badMessages: 0, measurements: 0 };

  constructor(private readonly deps: BridgeDeps) {
    this.telemetry = new Batcher(
      (events) => deps.bus.publish(events),
      deps.logger,
      deps.config.TELEMETRY_BATCH_MAX,
      deps.config.TELEMETRY_BATCH_MS,
    );
  }

  get connected(): boolean {
    return Boolean(this.control?.connected && this.telemetryClient?.connected);
  }

  get replyTimeoutMs(): number {
    return this.deps.config.REPLY_TIMEOUT_MS;
  }

  isOnline(deviceId: string): boolean {
    return this.presence.get(deviceId) ?? false;
  }

  async start(): Promise<void> {
    const { config, logger, dataSource } = this.deps;
    for (const p of await dataSource.getRepository(DevicePresence).find()) this.presence.set(p.deviceId, p.online);
    const settings = {
      url: config.MQTT_URL,
      username: config.MQTT_ADAPTER_USERNAME,
      password: config.MQTT_ADAPTER_PASSWORD,
      sessionExpiryS: config.MQTT_SESSION_EXPIRY_S,
    };
    const group = config.MQTT_SHARE_GROUP;
    // Replies: shared by the replicas; PUBACK after the outcome commits. Status: every replica keeps presence (and a
    // shared subscription would not get the retained messages).
    this.control = await connectMqtt(
      { ...settings, clientId: config.MQTT_CLIENT_ID },
      [`$share/${group}/devices/+/replies`, 'devices/+/status'],
      (topic, payload) => this.onMessage(topic, payload),
      logger,
    );
    // Telemetry on its own connection so it never queues behind reply transactions (see onMessage).
    this.telemetryClient = await connectMqtt(
      { ...settings, clientId: `${config.MQTT_CLIENT_ID}-telemetry` },
      [`$share/${group}/devices/+/telemetry`],
      (topic, payload) => this.onMessage(topic, payload),
      logger,
    );
    this.republish(
      await pendingRows(dataSource.manager, `SELECT * FROM pending_command WHERE state = 'PENDING' AND expires_at > now() ORDER BY sent_at`),
    );
    this.timer = setInterval(() => {
      if (this.ticking || this.stopping) return;
      this.ticking = this.tick()
        .catch((err: unknown) => logger.error({ err }, 'timer tick failed'))
        .finally(() => {
          this.ticking = undefined;
        });
    }, config.TIMER_INTERVAL_MS);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.ticking) await this.ticking;
    await Promise.all([this.control?.endAsync(), this.telemetryClient?.endAsync()]);
    await Promise.allSettled([...this.inFlight]);
    await this.telemetry.drain();
  }

  /* ------------------------------------------------------------ commands out ------------------------------------------------------------ */

  /** Publishes a command QoS 1; waits for the PUBACK at most PUBLISH_TIMEOUT_MS (mqtt.js keeps it queued after). */
  async publishCommand(cmd: PendingCommand, republish = false): Promise<void> {
    const client = this.control;
    if (!client) throw new Error('the adapter is not connected to MQTT');
    const message: CommandMessage = {
      commandId: cmd.commandId,
      sensorId: cmd.sensorId,
      parameter: cmd.parameter,
      // device-service has already resolved `add` against the stored value (compare-and-add on expectedValue), so
      // the approved value is the absolute target: the device is told to set it, whatever it believes its value is.
      action: 'set',
      value: cmd.value,
      expiresAt: cmd.expiresAt.toISOString(),
    };
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timeout = setTimeout(() => resolve('timeout'), this.deps.config.PUBLISH_TIMEOUT_MS);
    });
    try {
      const result = await Promise.race([client.publishAsync(commandsTopic(cmd.deviceId), JSON.stringify(message), { qos: 1 }), timedOut]);
      if (result === 'timeout') {
        this.deps.logger.warn({ commandId: cmd.commandId, deviceId: cmd.deviceId }, 'no PUBACK yet: the command stays queued in the MQTT client');
      }
    } finally {
      clearTimeout(timeout);
    }
    if (republish) this.stats.republished++;
    else this.stats.published++;
  }

  /** Publishes without waiting for the PUBACK (for callers that must not block: after a commit, in the timer). */
  send(cmd: PendingCommand, republish = false): void {
    this.publishCommand(cmd, republish).catch((err: unknown) =>
      this.deps.logger.error({ err, commandId: cmd.commandId, republish }, 'publish failed'),
    );
  }

  private republish(commands: PendingCommand[]): void {
    for (const cmd of commands) this.send(cmd, true);
  }

  /* ------------------------------------------------------------ messages in ------------------------------------------------------------ */

  /** Replies and status: resolved once committed (then the PUBACK goes out). Telemetry: resolved on receipt. */
  onMessage(topic: string, payload: Buffer): Promise<void> {
    const work = this.dispatch(topic, payload);
    this.inFlight.add(work);
    return work.finally(() => this.inFlight.delete(work));
  }

  private async dispatch(topic: string, payload: Buffer): Promise<void> {
    const t = parseTopic(topic);
    if (!t) {
      this.deps.logger.warn({ topic }, 'message on an unexpected topic dropped');
      return;
    }
    switch (t.kind) {
      case 'replies':
        await retry(() => this.onReply(t.deviceId, payload));
        return;
      case 'status':
        await retry(() => this.onStatus(t.deviceId, payload));
        return;
      case 'telemetry':
        this.onTelemetry(t.deviceId, payload);
        return;
      case 'commands':
        return;
    }
  }

  async onReply(deviceId: string, payload: Buffer): Promise<ReplyResult | 'invalid'> {
    const parsed = parseReply(payload);
    if (!parsed.ok) {
      this.stats.badMessages++;
      this.deps.logger.warn({ deviceId, error: parsed.error, bytes: payload.length }, 'invalid reply dropped');
      return 'invalid';
    }
    const result = await this.deps.bus.transaction((tx) => this.applyReply(tx, deviceId, parsed.value));
    this.deps.logger.debug({ deviceId, commandId: parsed.value.commandId, result }, 'reply');
    return result;
  }

  /**
   * Closes the pending row with the reply's outcome and enqueues the event — exactly once, in the caller's transaction.
   * A reply to a closed or unknown command (a duplicate, a late answer after a timeout, a device's invention) is ignored.
   */
  private async applyReply(tx: TxContext, deviceId: string, reply: ReplyMessage): Promise<ReplyResult> {
    const outcome = outcomeOfReply(reply);
    const [closed] = await pendingRows(
      tx.manager,
      `WITH u AS (
         UPDATE pending_command SET state = $3, reason = $4, device_value = $5, closed_at = now()
         WHERE command_id = $1 AND device_id = $2 AND state = 'PENDING' RETURNING *)
       SELECT * FROM u`,
      [reply.commandId, deviceId, outcome.state, outcome.state === 'SENT' ? null : outcome.message, outcome.state === 'SENT' ? (outcome.deviceValue ?? null) : null],
    );
    if (closed) {
      tx.emit(outcomeEvent(closed, outcome));
      this.stats.closed++;
      return 'closed';
    }
    this.stats.ignoredReplies++;
    return 'ignored';
  }

  async onStatus(deviceId: string, payload: Buffer): Promise<void> {
    // An empty retained message is the broker telling that the status was cleared: device-service deleted the device.
    if (payload.length === 0) {
      this.presence.delete(deviceId);
      await this.deps.dataSource.query(`DELETE FROM device_presence WHERE device_id = $1`, [deviceId]);
      this.deps.logger.info({ deviceId }, 'device status cleared (device deleted): presence forgotten');
      return;
    }
    const parsed = parseStatus(payload);
    if (!parsed.ok) {
      this.stats.badMessages++;
      this.deps.logger.warn({ deviceId, error: parsed.error }, 'invalid status dropped');
      return;
    }
    const online = parsed.value;
    this.presence.set(deviceId, online);
    const toRepublish = await this.deps.bus.transaction(async (tx) => {
      const m = tx.manager;
      const [change] = await rows<{ inserted: boolean }>(
        m,
        `INSERT INTO device_presence (device_id, online, changed_at) VALUES ($1, $2, now())
         ON CONFLICT (device_id) DO UPDATE SET online = EXCLUDED.online, changed_at = EXCLUDED.changed_at
         WHERE device_presence.online IS DISTINCT FROM EXCLUDED.online
         RETURNING (xmax = 0) AS inserted`,
        [deviceId, online],
      );
      if (!change || (change.inserted && !online)) return []; // no change (unknown = offline)
      const eventId = randomUUID();
      tx.emit({
        id: eventId,
        topic: 'adapter.device_status',
        key: deviceId,
        correlationId: eventId,
        payload: { deviceId, online, at: new Date().toISOString() },
      });
      if (!online) {
        // Offline: its commands wait for the TTL (they reach it through its persistent session on reconnect).
        await m.query(`UPDATE pending_command SET reply_deadline = NULL WHERE device_id = $1 AND state = 'PENDING'`, [deviceId]);
        return [];
      }
      return pendingRows(
        m,
        `WITH u AS (
           UPDATE pending_command SET reply_deadline = now() + make_interval(secs => $2::double precision / 1000)
           WHERE device_id = $1 AND state = 'PENDING' AND expires_at > now() RETURNING *)
         SELECT * FROM u`,
        [deviceId, this.deps.config.REPLY_TIMEOUT_MS],
      );
    });
    this.deps.logger.info({ deviceId, online, republish: toRepublish.length }, 'device presence');
    // Not awaited: this runs inside handleMessage, and a PUBACK cannot be read until it returns.
    this.republish(toRepublish);
  }

  onTelemetry(deviceId: string, payload: Buffer): void {
    const parsed = parseTelemetry(payload, new Date());
    if (!parsed.ok) {
      this.stats.badMessages++;
      this.deps.logger.warn({ deviceId, error: parsed.error }, 'invalid telemetry dropped');
      return;
    }
    for (const m of parsed.value) {
      const id = randomUUID();
      this.telemetry.add({ id, topic: 'adapter.measure_received', key: deviceId, correlationId: id, payload: { deviceId, ts: m.ts, values: m.values } });
      this.stats.measurements++;
    }
  }

  /* ------------------------------------------------------------ the timer ------------------------------------------------------------ */

  /** One pass: arm commands of devices now online, close timed-out and expired commands. */
  async tick(): Promise<void> {
    const { dataSource, config } = this.deps;
    // A command recorded while its device looked offline to this replica, but the device is online (by the table).
    // One statement, no explicit transaction: the timer runs four times a second on an idle adapter too.
    const armed = await pendingRows(
        dataSource.manager,
        `WITH u AS (
           UPDATE pending_command p SET reply_deadline = now() + make_interval(secs => $1::double precision / 1000)
           FROM device_presence d
           WHERE d.device_id = p.device_id AND d.online AND p.state = 'PENDING' AND p.reply_deadline IS NULL AND p.expires_at > now()
           RETURNING p.*)
         SELECT * FROM u`,
        [config.REPLY_TIMEOUT_MS],
    );
    this.republish(armed);

    const [anyDue] = await rows(
      dataSource.manager,
      `SELECT 1 FROM pending_command WHERE state = 'PENDING' AND (expires_at <= now() OR reply_deadline <= now()) LIMIT 1`,
    );
    if (!anyDue) return;
    for (;;) {
      const n = await this.deps.bus.transaction(async (tx) => {
        const m = tx.manager;
        const due = await rows<{ command_id: string; expires_at: Date; reply_deadline: Date | null; db_now: Date }>(
          m,
          `SELECT command_id, expires_at, reply_deadline, now() AS db_now FROM pending_command
           WHERE state = 'PENDING' AND (expires_at <= now() OR reply_deadline <= now())
           ORDER BY expires_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        );
        for (const d of due) {
          const outcome = timerOutcome({ expiresAt: d.expires_at, replyDeadline: d.reply_deadline }, d.db_now);
          if (!outcome || outcome.state === 'SENT') continue;
          const [closed] = await pendingRows(
            m,
            `WITH u AS (
               UPDATE pending_command SET state = $2, reason = $3, closed_at = now()
               WHERE command_id = $1 AND state = 'PENDING' RETURNING *)
             SELECT * FROM u`,
            [d.command_id, outcome.state, outcome.message],
          );
          if (!closed) continue;
          tx.emit(outcomeEvent(closed, outcome));
          this.stats.closed++;
          this.deps.logger.info({ commandId: closed.commandId, deviceId: closed.deviceId, outcome: outcome.state }, 'command closed by the timer');
        }
        return due.length;
      });
      if (n < BATCH) break;
    }
  }
}

async function retry<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
}
