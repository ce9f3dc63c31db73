import { z } from 'zod';

import {
  deviceCommandMessage,
  deviceReplyMessage,
  deviceTelemetryMessage,
  deviceTopics,
  parseDeviceTopic,
  type DeviceCommandMessage,
  type DeviceReplyMessage,
  type DeviceTopicKind,
} from '@devicesaga/contracts';

/* The MQTT device protocol (packages/contracts/src/mqtt.ts) as the adapter parses it. */

export const commandMessage = deviceCommandMessage;
export type CommandMessage = DeviceCommandMessage;
export const replyMessage = deviceReplyMessage;
export type ReplyMessage = DeviceReplyMessage;
export const telemetryMessage = deviceTelemetryMessage;
export type { DeviceTopicKind };

export interface Measurement {
  ts: string;
  values: Record<string, number>;
}

export const commandsTopic = deviceTopics.commands;
export const parseTopic = parseDeviceTopic;

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

function parseJson(buf: Buffer): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(buf.toString('utf8')) as unknown };
  } catch {
    return { ok: false, error: 'not JSON' };
  }
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

export function parseReply(buf: Buffer): Parsed<ReplyMessage> {
  const json = parseJson(buf);
  if (!json.ok) return json;
  const r = replyMessage.safeParse(json.value);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: describe(r.error) };
}

/** Telemetry → measurements with ISO timestamps (items with no values are dropped). */
export function parseTelemetry(buf: Buffer, receivedAt: Date): Parsed<Measurement[]> {
  const json = parseJson(buf);
  if (!json.ok) return json;
  const r = telemetryMessage.safeParse(json.value);
  if (!r.success) return { ok: false, error: describe(r.error) };
  const items = Array.isArray(r.data) ? r.data : [r.data];
  const out: Measurement[] = [];
  for (const item of items) {
    if (Object.keys(item.values).length === 0) continue;
    const ts = item.ts === undefined ? receivedAt : new Date(item.ts);
    if (Number.isNaN(ts.getTime())) return { ok: false, error: 'ts: invalid date' };
    out.push({ ts: ts.toISOString(), values: item.values });
  }
  return { ok: true, value: out };
}

/** Retained presence payload: `online` / `offline` (an empty retained payload — a cleared topic — counts as offline). */
export function parseStatus(buf: Buffer): Parsed<boolean> {
  const text = buf.toString('utf8').trim().toLowerCase();
  if (text === 'online') return { ok: true, value: true };
  if (text === 'offline' || text === '') return { ok: true, value: false };
  return { ok: false, error: `unknown status ${JSON.stringify(text.slice(0, 40))}` };
}
