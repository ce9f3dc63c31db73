
import { deviceCommandMessage, deviceTopics, type DeviceCommandMessage, type DeviceReplyMessage } from '@devicesaga/contracts';

/* The MQTT device protocol (packages/contracts/src/mqtt.ts) from the device's side. */
export const commandMessage = deviceCommandMessage;
export type CommandMessage = DeviceCommandMessage;
export type ReplyMessage = DeviceReplyMessage;

export interface TelemetryMessage {
  ts: string;
  values: Record<string, number>;
}

export const topics = deviceTopics;

const COMMANDS = /^devices\/([^/+#]{1,64})\/commands$/;
export function deviceIdOfCommandsTopic(topic: string): string | undefined {
  return COMMANDS.exec(topic)?.[1];
}

export function parseCommand(payload: Buffer): { ok: true; command: CommandMessage } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const r = commandMessage.safeParse(json);
  return r.success ? { ok: true, command: r.data } : { ok: false, error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
}
