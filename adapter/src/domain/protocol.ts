import { z } from 'zod';

/*
 * The MQTT device protocol (DESIGN.md §5.1) as the adapter sees it. These schemas belong in packages/contracts
 * (shared with device-simulator); kept here until that package grows an `mqtt` module.
 */

export const commandMessage = z.object({
  commandId: z.uuid(),
  sensorId: z.string().min(1),
  parameter: z.string().min(1),
  action: z.enum(['set', 'add']),
  value: z.number().finite(),
  expiresAt: z.iso.datetime({ offset: true }),
});
export type CommandMessage = z.infer<typeof commandMessage>;

export const replyMessage = z.object({
  commandId: z.uuid(),
  status: z.enum(['accepted', 'refused']),
  value: z.number().finite().optional(),
  reason: z.string().max(500).optional(),
});
export type ReplyMessage = z.infer<typeof replyMessage>;

const telemetryItem = z.object({
  /** ISO-8601 or epoch milliseconds; the receipt time when absent. */
  ts: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).optional(),
  values: z.record(z.string().min(1).max(64), z.number().finite()),
});
export const telemetryMessage = z.union([telemetryItem, z.array(telemetryItem).max(1000)]);

export interface Measurement {
  ts: string;
  values: Record<string, number>;
}

export type DeviceTopicKind = 'commands' | 'replies' | 'telemetry' | 'status';

const TOPIC = /^devices\/([^/+#]{1,64})\/(commands|replies|telemetry|status)$/;

export function commandsTopic(deviceId: string): string {
  return `devices/${deviceId}/commands`;
}

/** `devices/<id>/<kind>` → `{deviceId, kind}`, or undefined for any other topic. */
export function parseTopic(topic: string): { deviceId: string; kind: DeviceTopicKind } | undefined {
  const m = TOPIC.exec(topic);
  if (!m?.[1] || !m[2]) return undefined;
  return { deviceId: m[1], kind: m[2] as DeviceTopicKind };
}

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
