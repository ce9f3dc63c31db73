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

/** Timestamps from year 10000 on have no ISO-8601 form with four year digits (events carry ISO timestamps). */
const LAST_ISO_MS = 253_402_300_800_000;

/**
 * Telemetry → measurements with ISO timestamps (items with no values are skipped). Exactly the contract's
 * `deviceTelemetryMessage`: the usual shape (epoch-ms or no `ts`, numeric values) is checked by hand — the hot path,
 * thousands of messages a second —, anything else (ISO `ts`, or a message that fails) by the zod schema, which also
 * says what is wrong.
 */
export function parseTelemetry(buf: Buffer, receivedAt: Date): Parsed<Measurement[]> {
  const json = parseJson(buf);
  if (!json.ok) return json;
  const fast = usualTelemetry(json.value, receivedAt);
  if (fast) return { ok: true, value: fast };
  const r = telemetryMessage.safeParse(json.value);
  if (!r.success) return { ok: false, error: describe(r.error) };
  const items = Array.isArray(r.data) ? r.data : [r.data];
  const out: Measurement[] = [];
  for (const item of items) {
    if (Object.keys(item.values).length === 0) continue;
    const ts = item.ts === undefined ? receivedAt : new Date(item.ts);
    if (Number.isNaN(ts.getTime()) || ts.getTime() >= LAST_ISO_MS) return { ok: false, error: 'ts: invalid date' };
    out.push({ ts: ts.toISOString(), values: item.values });
  }
  return { ok: true, value: out };
}

/** The common shapes, accepted only where the zod schema accepts them too; undefined means "ask zod". */
function usualTelemetry(value: unknown, receivedAt: Date): Measurement[] | undefined {
  const items: unknown[] = Array.isArray(value) ? value : [value];
  if (items.length > 1000) return undefined;
  const out: Measurement[] = [];
  for (const item of items) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
    const { ts, values } = item as { ts?: unknown; values?: unknown };
    let t: number;
    if (ts === undefined) t = receivedAt.getTime();
    else if (typeof ts === 'number' && Number.isSafeInteger(ts) && ts > 0 && ts < LAST_ISO_MS) t = ts;
    else return undefined;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) return undefined;
    let n = 0;
    for (const key in values) {
      const v = (values as Record<string, unknown>)[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || key.length === 0 || key.length > 64) return undefined;
      n++;
    }
    if (n > 0) out.push({ ts: new Date(t).toISOString(), values: values as Record<string, number> });
  }
  return out;
}

/** Retained presence payload: `online` / `offline` (an empty retained payload — a cleared topic — counts as offline). */
export function parseStatus(buf: Buffer): Parsed<boolean> {
  const text = buf.toString('utf8').trim().toLowerCase();
  if (text === 'online') return { ok: true, value: true };
  if (text === 'offline' || text === '') return { ok: true, value: false };
  return { ok: false, error: `unknown status ${JSON.stringify(text.slice(0, 40))}` };
}
