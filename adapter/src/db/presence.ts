import type { EntityManager } from 'typeorm';
import { rows } from './rows';

/* Last known presence of each device (from its retained status topic); unknown = offline. */

export async function loadPresence(m: EntityManager): Promise<Map<string, boolean>> {
  const found = await rows<{ device_id: string; online: boolean }>(m, `SELECT device_id, online FROM device_presence`);
  return new Map(found.map((r) => [r.device_id, r.online]));
}

export interface PresenceChange {
  deviceId: string;
  online: boolean;
  /** First sight of the device. */
  inserted: boolean;
}

/**
 * Records the devices' presence (one upsert); answers the devices whose presence changed — the table arbitrates
 * between replicas, which all receive every status: the first to record a change reports it.
 */
export async function recordPresence(m: EntityManager, devices: { deviceId: string; online: boolean }[]): Promise<PresenceChange[]> {
  if (devices.length === 0) return [];
  const changed = await rows<{ device_id: string; online: boolean; inserted: boolean }>(
    m,
    `INSERT INTO device_presence (device_id, online, changed_at)
     SELECT device_id, online, now() FROM unnest($1::text[], $2::boolean[]) AS d(device_id, online)
     ON CONFLICT (device_id) DO UPDATE SET online = EXCLUDED.online, changed_at = EXCLUDED.changed_at
     WHERE device_presence.online IS DISTINCT FROM EXCLUDED.online
     RETURNING device_id, online, (xmax = 0) AS inserted`,
    [devices.map((d) => d.deviceId), devices.map((d) => d.online)],
  );
  return changed.map((r) => ({ deviceId: r.device_id, online: r.online, inserted: r.inserted }));
}

/** Forgets deleted devices (their retained status was cleared). */
export async function forgetPresence(m: EntityManager, deviceIds: string[]): Promise<void> {
  if (deviceIds.length === 0) return;
  await m.query(`DELETE FROM device_presence WHERE device_id = ANY($1::text[])`, [deviceIds]);
}
