import type { MigrationInterface, QueryRunner } from 'typeorm';

export class AdapterInit1767312000000 implements MigrationInterface {
  name = 'AdapterInit1767312000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE pending_command (
      command_id uuid PRIMARY KEY,
      device_id text NOT NULL,
      sensor_id text NOT NULL,
      user_id text NOT NULL,
      parameter text NOT NULL,
      action text NOT NULL,
      value double precision NOT NULL,
      expires_at timestamptz NOT NULL,
      sent_at timestamptz NOT NULL,
      reply_deadline timestamptz,
      state text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING','SENT','REFUSED','TIMEOUT','EXPIRED')),
      reason text,
      device_value double precision,
      causation_id text,
      closed_at timestamptz
    )`);
    await q.query(`CREATE INDEX pending_command_open ON pending_command (expires_at) WHERE state = 'PENDING'`);
    await q.query(`CREATE INDEX pending_command_open_device ON pending_command (device_id) WHERE state = 'PENDING'`);
    await q.query(`CREATE TABLE device_presence (
      device_id text PRIMARY KEY,
      online boolean NOT NULL,
      changed_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE parked_reply (
      command_id uuid PRIMARY KEY,
      device_id text NOT NULL,
      reply jsonb NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE parked_reply`);
    await q.query(`DROP TABLE device_presence`);
    await q.query(`DROP TABLE pending_command`);
  }
}

/** Replies can no longer precede their pending row (commands are published after the commit): no parking. */
export class DropParkedReply1767400000000 implements MigrationInterface {
  name = 'DropParkedReply1767400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS parked_reply`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE parked_reply (
      command_id uuid PRIMARY KEY,
      device_id text NOT NULL,
      reply jsonb NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    )`);
  }
}

export const adapterMigrations = [AdapterInit1767312000000, DropParkedReply1767400000000];
