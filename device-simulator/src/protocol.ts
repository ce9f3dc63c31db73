import { z } from 'zod';

/*
 * The MQTT device protocol (DESIGN.md §5.1) from the device's side. Belongs in packages/contracts (shared with the
 * adapter); duplicated here until that package has an `mqtt` module.
 */
export const commandMessage = z.object({
  commandId: z.string().min(1).max(64),
  sensorId: z.string().min(1),
  parameter: z.string().min(1).max(64),
  action: z.enum(['set', 'add']),
  value: z.number().finite(),
  expiresAt: z.iso.datetime({ offset: true }),
});
export type CommandMessage = z.infer<typeof commandMessage>;

export interface ReplyMessage {
  commandId: string;
  status: 'accepted' | 'refused';
  value?: number;
  reason?: string;
}

export interface TelemetryMessage {
  ts: string;
  values: Record<string, number>;
}

export const topics = {
  commands: (id: string) => `devices/${id}/commands`,
  replies: (id: string) => `devices/${id}/replies`,
  telemetry: (id: string) => `devices/${id}/telemetry`,
  status: (id: string) => `devices/${id}/status`,
};

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
