import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { noDelay } from '@devicesaga/contracts';
import type { Logger } from '@devicesaga/platform';
import { PubackOrder, type PacketSink, type Settle } from './puback-order';

export interface MqttSettings {
  url: string;
  username: string;
  password: string;
  clientId: string;
  sessionExpiryS: number;
  /** How many unacknowledged QoS 1 messages the broker may send (MQTT 5 Receive Maximum). */
  receiveMaximum: number;
}

/**
 * Receives one message. `settle` is called once the message is durable (recorded, or in Kafka) — or for a message
 * that is dropped on purpose (malformed) — and never otherwise: then the broker redelivers it. It must not block.
 */
export type MessageSink = (topic: string, payload: Buffer, settle: Settle) => void;

/** Passed to mqtt.js's handleMessage callback: go on reading, and leave the PUBACK to us (see `connectMqtt`). */
const PUBACK_DEFERRED = new Error('PUBACK deferred until the message is durable');

export interface MqttConnection {
  readonly client: MqttClient;
  readonly pubacksSent: number;
  /** Stops taking new messages (they stay unacknowledged for the next session); already taken ones still settle. */
  closeGate(): void;
  /** Disconnects (after `closeGate` and the sinks' drain); waits at most `timeoutMs` for outgoing PUBACKs. */
  end(timeoutMs?: number): Promise<void>;
  /** Drops the connection at once: nothing more is acknowledged on it (what a crash does). */
  abort(): Promise<void>;
}

/**
 * An MQTT 5 connection with a persistent session (clean=false + session expiry, fixed client id), so QoS 1 messages
 * wait in the broker while the adapter is down; subscribes on every (re)connect.
 *
 * PUBACKs are deferred without serialising: mqtt.js (5.16, `handlers/publish.js`) sends a QoS 1 PUBACK when the
 * `handleMessage` callback is called without an error, and reads the next packet only after that callback. Called
 * with an error it reads on and sends no PUBACK. So `handleMessage` hands the message to its sink, calls back at once
 * with `PUBACK_DEFERRED`, and the connection's `PubackOrder` writes the PUBACK itself, on the socket the message came
 * on, once the sink settles it — in arrival order. Thousands of messages can thus be in flight (up to the Receive
 * Maximum) while a transaction records the previous batch.
 */
export async function connectMqtt(
  settings: MqttSettings,
  subscriptions: string[],
  sink: MessageSink,
  logger: Logger,
): Promise<MqttConnection> {
  const options: IClientOptions = {
    clientId: settings.clientId,
    username: settings.username,
    password: settings.password,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: settings.sessionExpiryS, receiveMaximum: settings.receiveMaximum },
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    resubscribe: false,
  };
  const client = noDelay(mqtt.connect(settings.url, options));
  let order: PubackOrder | undefined;
  let gateOpen = true;
  let pubacksSent = 0;
  const noop: Settle = () => undefined;

  client.handleMessage = (packet, callback) => {
    if (gateOpen) {
      let settle = noop;
      if (packet.qos > 0 && packet.messageId !== undefined) {
        // packets are handled strictly in order, and only those of the current socket (mqtt.js drops the queue of a
        // superseded one), so the slot goes to the socket the packet was read from
        const socket = client.stream as unknown as PacketSink;
        if (order?.socket !== socket) order = new PubackOrder(socket, (n) => (pubacksSent += n));
        settle = order.track(packet.messageId);
      }
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      try {
        sink(packet.topic, payload, settle);
      } catch (err) {
        logger.error({ err, topic: packet.topic }, 'mqtt message sink failed: PUBACK withheld (redelivered on the next session)');
      }
    }
    callback(PUBACK_DEFERRED);
  };
  client.on('connect', (connack) => {
    logger.info({ clientId: settings.clientId, sessionPresent: connack.sessionPresent }, 'mqtt connected');
    client.subscribe(subscriptions, { qos: 1 }, (err, granted) => {
      if (err) logger.error({ err }, 'mqtt subscribe failed');
      for (const g of granted ?? []) if (g.qos > 2) logger.error({ topic: g.topic, code: g.qos }, 'mqtt subscription refused (ACL?)');
    });
  });
  client.on('error', (err) => logger.warn({ err: err.message, clientId: settings.clientId }, 'mqtt error'));
  client.on('offline', () => logger.warn({ clientId: settings.clientId }, 'mqtt offline'));

  await new Promise<void>((resolve, reject) => {
    const onConnect = () => {
      client.off('error', onError);
      resolve();
    };
    const onError = (err: Error) => {
      client.off('connect', onConnect);
      client.end(true);
      reject(err);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });

  return {
    client,
    get pubacksSent() {
      return pubacksSent;
    },
    closeGate() {
      gateOpen = false;
    },
    async abort() {
      gateOpen = false;
      await new Promise<void>((resolve) => client.end(true, () => resolve()));
    },
    async end(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      const forced = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          client.end(true, () => resolve());
        }, timeoutMs);
      });
      await Promise.race([client.endAsync(false), forced]);
      clearTimeout(timer);
    },
  };
}
