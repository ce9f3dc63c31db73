import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { noDelay } from '@devicesaga/contracts';
import type { Logger } from '@devicesaga/platform';

export interface MqttSettings {
  url: string;
  username: string;
  password: string;
  clientId: string;
  sessionExpiryS: number;
}

/** Handles one incoming message; the PUBACK goes out only once it resolves (a rejection withholds it). */
export type MessageHandler = (topic: string, payload: Buffer) => Promise<void>;

/**
 * An MQTT 5 connection with a persistent session (clean=false + session expiry) and a fixed client id, so QoS 1
 * messages for the adapter wait in the broker while it is down. Subscribes on every (re)connect.
 *
 * `handleMessage` delays each PUBACK until `onMessage` resolves. mqtt.js processes incoming packets strictly one at a
 * time (the next is parsed after this callback), so handlers must never wait for anything this same connection has to
 * receive (e.g. a PUBACK of our own publish) — that would deadlock.
 */
export async function connectMqtt(
  settings: MqttSettings,
  subscriptions: string[],
  onMessage: MessageHandler,
  logger: Logger,
): Promise<MqttClient> {
  const options: IClientOptions = {
    clientId: settings.clientId,
    username: settings.username,
    password: settings.password,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: settings.sessionExpiryS },
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    resubscribe: false,
  };
  const client = noDelay(mqtt.connect(settings.url, options));
  client.handleMessage = (packet, callback) => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    onMessage(packet.topic, payload).then(
      () => callback(),
      (err: unknown) => {
        logger.error({ err, topic: packet.topic }, 'mqtt message not processed: PUBACK withheld (redelivered after reconnect)');
        callback(err instanceof Error ? err : new Error(String(err)));
      },
    );
  };
  client.on('connect', (connack) => {
    logger.info({ clientId: settings.clientId, sessionPresent: connack.sessionPresent }, 'mqtt connected');
    client.subscribe(
      subscriptions.map((topic) => topic),
      { qos: 1 },
      (err, granted) => {
        if (err) logger.error({ err }, 'mqtt subscribe failed');
        for (const g of granted ?? []) if (g.qos > 2) logger.error({ topic: g.topic, code: g.qos }, 'mqtt subscription refused (ACL?)');
      },
    );
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
  return client;
}
