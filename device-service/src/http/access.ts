import type { DataSource, EntityManager } from 'typeorm';

export interface Personal {
  userGroupId: string;
  deviceGroupId: string;
}

/**
 * Each user has a personal user group, a personal device group, and a grant between them — created lazily and
 * idempotently on the user's first authenticated request (ON CONFLICT DO NOTHING), cached per process.
 */
export class PersonalGroups {
  private readonly cache = new Map<string, Personal>();

  constructor(private readonly ds: DataSource) {}

  async ensure(userId: string): Promise<Personal> {
    const hit = this.cache.get(userId);
    if (hit) return hit;
    const personal = await this.ds.transaction(async (m) => {
      await m.query(`INSERT INTO user_groups (name, personal_of, created_by) VALUES ($1, $2, $2) ON CONFLICT (personal_of) DO NOTHING`, [
        `personal:${userId}`,
        userId,
      ]);
      await m.query(`INSERT INTO device_groups (name, personal_of, created_by) VALUES ($1, $2, $2) ON CONFLICT (personal_of) DO NOTHING`, [
        `personal:${userId}`,
        userId,
      ]);
      const [ug] = await m.query<{ id: string }[]>(`SELECT id FROM user_groups WHERE personal_of = $1`, [userId]);
      const [dg] = await m.query<{ id: string }[]>(`SELECT id FROM device_groups WHERE personal_of = $1`, [userId]);
      if (!ug || !dg) throw new Error('personal groups missing after insert');
      await m.query(`INSERT INTO memberships (user_group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [ug.id, userId]);
      await m.query(`INSERT INTO grants (user_group_id, device_group_id, created_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [ug.id, dg.id, userId]);
      return { userGroupId: ug.id, deviceGroupId: dg.id };
    });
    this.cache.set(userId, personal);
    return personal;
  }
}

/** SQL condition: device group `$expr` is granted to one of user `$n`'s user groups. */
export const grantedTo = (groupExpr: string, userParam: string) =>
  `EXISTS (SELECT 1 FROM grants g JOIN memberships mb ON mb.user_group_id = g.user_group_id
           WHERE mb.user_id = ${userParam} AND g.device_group_id = ${groupExpr})`;

export async function mayAccessDeviceGroup(m: EntityManager | DataSource, userId: string, deviceGroupId: string): Promise<boolean> {
  const rows: unknown[] = await m.query(`SELECT 1 WHERE ${grantedTo('$2::uuid', '$1')}`, [userId, deviceGroupId]);
  return rows.length > 0;
}

export async function isMember(m: EntityManager | DataSource, userId: string, userGroupId: string): Promise<boolean> {
  const rows: unknown[] = await m.query(`SELECT 1 FROM memberships WHERE user_id = $1 AND user_group_id = $2`, [userId, userGroupId]);
  return rows.length > 0;
}
