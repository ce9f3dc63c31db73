import type { MigrationInterface, QueryRunner } from 'typeorm';

export class DeviceSchema1767300000000 implements MigrationInterface {
  name = 'DeviceSchema1767300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE parameters (
      name text PRIMARY KEY,
      unit text NOT NULL DEFAULT '',
      min numeric NOT NULL,
      max numeric NOT NULL,
      default_value numeric NULL,
      created_by text NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT parameters_range CHECK (min < max)
    )`);
    await q.query(`INSERT INTO parameters (name, unit, min, max, default_value) VALUES
      ('temperature', '°C', 0, 100, 20),
      ('enabled', '', 0, 1, 0)
      ON CONFLICT (name) DO NOTHING`);

    await q.query(`CREATE TABLE device_groups (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      personal_of text NULL UNIQUE,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE user_groups (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      personal_of text NULL UNIQUE,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE memberships (
      user_group_id uuid NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
      user_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_group_id, user_id)
    )`);
    await q.query(`CREATE INDEX memberships_user ON memberships (user_id)`);
    await q.query(`CREATE TABLE grants (
      user_group_id uuid NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
      device_group_id uuid NOT NULL REFERENCES device_groups(id) ON DELETE CASCADE,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_group_id, device_group_id)
    )`);
    await q.query(`CREATE INDEX grants_device_group ON grants (device_group_id)`);

    await q.query(`CREATE TABLE devices (
      id uuid PRIMARY KEY,
      name text NOT NULL,
      group_id uuid NOT NULL REFERENCES device_groups(id),
      created_by text NOT NULL,
      mqtt_password_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX devices_group ON devices (group_id)`);
    await q.query(`CREATE TABLE sensors (
      id uuid PRIMARY KEY,
      device_id uuid NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
      parameter text NOT NULL REFERENCES parameters(name),
      value numeric NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      in_flight_command_id uuid NULL,
      CONSTRAINT sensors_device_parameter UNIQUE (device_id, parameter)
    )`);

    await q.query(`CREATE TABLE sagas (
      command_id uuid PRIMARY KEY,
      sensor_id uuid NOT NULL REFERENCES sensors(id) ON DELETE CASCADE,
      device_id uuid NOT NULL,
      user_id text NOT NULL,
      action text NOT NULL,
      requested_value numeric NOT NULL,
      previous_value numeric NULL,
      applied_value numeric NOT NULL,
      state text NOT NULL CHECK (state IN ('IN_FLIGHT', 'CONFIRMED', 'COMPENSATED')),
      reason text NULL,
      expires_at timestamptz NOT NULL,
      deadline_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      ended_at timestamptz NULL
    )`);
    await q.query(`CREATE INDEX sagas_in_flight_deadline ON sagas (deadline_at) WHERE state = 'IN_FLIGHT'`);
    await q.query(`CREATE TABLE queued_commands (
      seq bigserial PRIMARY KEY,
      command_id uuid NOT NULL UNIQUE,
      sensor_id uuid NOT NULL REFERENCES sensors(id) ON DELETE CASCADE,
      device_id uuid NOT NULL,
      user_id text NOT NULL,
      action text NOT NULL,
      value numeric NOT NULL,
      expected_value numeric NULL,
      expires_at timestamptz NOT NULL,
      source_event_id uuid NULL,
      queued_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX queued_commands_sensor ON queued_commands (sensor_id, seq)`);
    await q.query(`CREATE INDEX queued_commands_expires ON queued_commands (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['queued_commands', 'sagas', 'sensors', 'devices', 'grants', 'memberships', 'user_groups', 'device_groups', 'parameters']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
