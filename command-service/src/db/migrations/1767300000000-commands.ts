import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Commands1767300000000 implements MigrationInterface {
  name = 'Commands1767300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE commands (
      id uuid PRIMARY KEY,
      user_id text NOT NULL,
      device_id text NOT NULL,
      sensor_id text NOT NULL,
      action text NOT NULL CHECK (action IN ('set', 'add')),
      value double precision NOT NULL,
      expected_value double precision,
      ttl_seconds integer NOT NULL CHECK (ttl_seconds BETWEEN 1 AND 86400),
      expires_at timestamptz NOT NULL,
      status text NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'SUCCEEDED', 'FAILED', 'REJECTED', 'COMPENSATED')),
      reason text,
      version integer NOT NULL,
      history jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    // Newest-first keyset listing of a user's commands, optionally of one device.
    await q.query(`CREATE INDEX commands_user_created ON commands (user_id, created_at DESC, id DESC)`);
    await q.query(`CREATE INDEX commands_user_device_created ON commands (user_id, device_id, created_at DESC, id DESC)`);
    // The sweeper's scan: only commands still waiting for an outcome.
    await q.query(`CREATE INDEX commands_open_expires ON commands (expires_at) WHERE status IN ('PENDING', 'APPROVED')`);
    await q.query(`CREATE TABLE idempotency_keys (
      user_id text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      command_id uuid NOT NULL REFERENCES commands (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, key)
    )`);
    await q.query(`CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS idempotency_keys`);
    await q.query(`DROP TABLE IF EXISTS commands`);
  }
}
