import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { noDelay } from '@devicesaga/contracts';

/**
 * Connects and resolves on the first CONNACK (rejects on the first error, e.g. bad credentials). `setup` attaches
 * listeners before any packet is read: a persistent session's queued messages can arrive right with the CONNACK.
 */
export function openClient(url: string, options: IClientOptions, setup: (client: MqttClient) => void): Promise<MqttClient> {
  const client = noDelay(mqtt.connect(url, { reconnectPeriod: 1000, connectTimeout: 10_000, ...options }));
  setup(client);
  return new Promise((resolve, reject) => {
    const onConnect = () => {
      client.off('error', onError);
      resolve(client);
    };
    const onError = (err: Error) => {
      client.off('connect', onConnect);
      client.end(true);
      reject(err);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
}

export interface Stats {
  online: number;
  telemetrySent: number;
  accepted: number;
  refused: number;
  ignored: number;
}

export const newStats = (): Stats => ({ online: 0, telemetrySent: 0, accepted: 0, refused: 0, ignored: 0 });

export interface SimLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export const silentLogger: SimLogger = { info: () => undefined, warn: () => undefined };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
