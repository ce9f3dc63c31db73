import type { MigrationInterface, QueryRunner } from 'typeorm';
import { deriveUsernames } from '../../domain/usernames';

/**
 * Users get a unique login name and a role. Existing users get a name derived from their email's local part,
 * de-duplicated in registration order (`alice`, `alice-2`, … when two emails share a local part).
 *
 * Expand-only (charts/test/migrations-expand-contract.test.ts): old replicas still running during a rolling upgrade
 * insert users without these columns, so `username` stays nullable here (the code always writes it; a later release
 * backfills and sets NOT NULL) and `role` has a default and is checked by the code, not by a constraint.
 */
export class UsernamesAndRoles1767400000000 implements MigrationInterface {
  name = 'UsernamesAndRoles1767400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN username text`);
    await q.query(`ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'user'`);
    const rows = (await q.query(`SELECT id, email FROM users ORDER BY created_at, id`)) as { id: string; email: string }[];
    if (rows.length > 0) {
      const names = deriveUsernames(rows.map((r) => r.email));
      await q.query(`UPDATE users u SET username = n.username FROM unnest($1::uuid[], $2::text[]) AS n(id, username) WHERE u.id = n.id`, [
        rows.map((r) => r.id),
        names,
      ]);
    }
    await q.query(`CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX users_username_lower_key`);
    await q.query(`ALTER TABLE users DROP COLUMN role`);
    await q.query(`ALTER TABLE users DROP COLUMN username`);
  }
}
