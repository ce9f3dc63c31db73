import type { MqttClient } from 'mqtt';
import type { TelemetryStore } from './store/telemetry-store';
import type { SimLogger } from './mqtt';

export interface ForwarderOptions {
  store: TelemetryStore;
  /** Forward only this device's readings (a device on its own connection); all of them when absent (the farm). */
  deviceId?: string;
  topicOf: (deviceId: string) => string;
  /** Readings published and not yet acknowledged, at most. */
  window?: number;
  logger: SimLogger;
  /** Called for each reading the broker acknowledged. */
  onAcked?: (payload: string) => void;
}

/**
 * Sends stored telemetry over one MQTT connection, QoS 1, oldest first, and deletes each reading once the broker
 * acknowledged it. While the connection is down nothing is sent (readings wait in the store); when it comes back,
 * mqtt.js first resends what was in flight (in order, before its `connect` event), then this goes on from where it
 * was. On a new connection (`attach`) it starts again from the oldest reading still stored: the broker may get a
 * reading twice (acknowledged but not yet deleted when the simulator stopped), never lose one.
 */
export class TelemetryForwarder {
  private client: MqttClient | undefined;
  private ready = false;
  private cursor = 0;
  private inFlight = 0;
  private pumping = false;
  private acked: number[] = [];
  private deleteTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  readonly stats = { sent: 0, acked: 0 };
  private readonly window: number;

  constructor(private readonly options: ForwarderOptions) {
    this.window = options.window ?? 500;
  }

  /** A new MQTT connection (a new session of the client): send everything still stored, in order. */
  attach(client: MqttClient): void {
    this.flushDeletes();
    this.generation++;
    this.client = client;
    this.cursor = 0;
    this.inFlight = 0;
    this.ready = client.connected;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.ready = true;
      this.pump();
    });
    client.on('close', () => {
      if (this.client === client) this.ready = false;
    });
    this.pump();
  }

  /** The connection is being closed on purpose: stop sending (what is stored stays for the next one). */
  detach(): void {
    this.ready = false;
    this.client = undefined;
    this.flushDeletes();
  }

  /** New readings were stored. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.ready && this.client && this.inFlight < this.window) {
        const batch = this.options.store.next(this.cursor, this.window - this.inFlight, this.options.deviceId);
        if (batch.length === 0) break;
        const client = this.client;
        const generation = this.generation;
        for (const r of batch) {
          this.cursor = r.seq;
          this.inFlight++;
          this.stats.sent++;
          client.publish(this.options.topicOf(r.deviceId), r.payload, { qos: 1 }, (err) => {
            if (generation === this.generation) this.inFlight--;
            if (err) {
              // the client was ended with it in flight: it stays stored and goes again on the next connection
              return;
            }
            this.stats.acked++;
            this.acked.push(r.seq);
            this.options.onAcked?.(r.payload);
            this.deleteTimer ??= setTimeout(() => this.flushDeletes(), 20);
            if (generation === this.generation && this.inFlight < this.window / 2) setImmediate(() => this.pump());
          });
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Deletes what the broker acknowledged (batched: one statement every few milliseconds). */
  flushDeletes(): void {
    clearTimeout(this.deleteTimer);
    this.deleteTimer = undefined;
    if (this.acked.length === 0) return;
    const seqs = this.acked;
    this.acked = [];
    try {
      this.options.store.delete(seqs);
    } catch (err) {
      this.options.logger.warn({ err: String(err) }, 'deleting acknowledged telemetry failed (it may be sent again)');
    }
  }
}
