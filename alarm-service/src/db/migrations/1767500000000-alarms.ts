import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Telemetry history (partitioned by time; the partitions themselves are created ahead and dropped by
 * telemetry/partitions.ts), alarm types with the initial two, alarms, and the flap-suppression state.
 */
export class Alarms1767500000000 implements MigrationInterface {
  name = 'Alarms1767500000000';

  async up(q: QueryRunner): Promise<void> {
    // One row per reading. A sensor is one (device, parameter) of device-service (unique there), so the primary key
    // (sensor_id, ts) is "each reading once per device, parameter and timestamp"; it contains the partition key, as
    // PostgreSQL requires of a unique constraint on a partitioned table, and serves the history queries.
    await q.query(`CREATE TABLE telemetry (
      sensor_id uuid NOT NULL,
      ts timestamptz NOT NULL,
      value double precision NOT NULL,
      PRIMARY KEY (sensor_id, ts)
    ) PARTITION BY RANGE (ts)`);

    await q.query(`CREATE TABLE alarm_types (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL UNIQUE,
      parameter text NOT NULL,
      lower double precision NOT NULL,
      upper double precision NOT NULL,
      severity text NOT NULL CHECK (severity IN ('CRITICAL', 'MAJOR', 'MINOR', 'WARNING')),
      device_group_id uuid NULL,
      hysteresis double precision NOT NULL DEFAULT 0 CHECK (hysteresis >= 0),
      min_duration_seconds double precision NOT NULL DEFAULT 0 CHECK (min_duration_seconds >= 0),
      created_by text NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT alarm_types_range CHECK (lower <= upper)
    )`);
    // The original system's orange and red zones.
    await q.query(`INSERT INTO alarm_types (name, parameter, lower, upper, severity, hysteresis, min_duration_seconds) VALUES
      ('High temperature', 'temperature', 40, 50, 'MAJOR', 1, 0),
      ('Critical temperature', 'temperature', 50, 100, 'CRITICAL', 1, 0)
      ON CONFLICT (name) DO NOTHING`);

    // An alarm keeps the name, severity and parameter of its type as they were when it was raised.
    await q.query(`CREATE TABLE alarms (
      id uuid PRIMARY KEY,
      alarm_type_id uuid NOT NULL,
      name text NOT NULL,
      severity text NOT NULL,
      parameter text NOT NULL,
      device_id uuid NOT NULL,
      sensor_id uuid NOT NULL,
      first_value double precision NOT NULL,
      last_value double precision NOT NULL,
      occurrences integer NOT NULL CHECK (occurrences > 0),
      raised_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      ack_at timestamptz NULL,
      ack_by text NULL,
      cleared_at timestamptz NULL,
      cleared_by text NULL
    )`);
    // The invariant, by construction: at most one active alarm per (device, sensor, alarm type). Raising is an
    // INSERT … ON CONFLICT on this index, so concurrent raisers merge into one row (occurrences added up).
    await q.query(`CREATE UNIQUE INDEX alarms_one_active ON alarms (device_id, sensor_id, alarm_type_id) WHERE cleared_at IS NULL`);
    await q.query(`CREATE INDEX alarms_active_sensor ON alarms (sensor_id) WHERE cleared_at IS NULL`);
    await q.query(`CREATE INDEX alarms_device_raised ON alarms (device_id, raised_at DESC, id DESC)`);

    // Flap suppression: a condition that holds, but not yet for its type's minimum duration.
    await q.query(`CREATE TABLE alarm_pending (
      sensor_id uuid NOT NULL,
      alarm_type_id uuid NOT NULL,
      device_id uuid NOT NULL,
      since timestamptz NOT NULL,
      first_value double precision NOT NULL,
      last_value double precision NOT NULL,
      last_seen_at timestamptz NOT NULL,
      occurrences integer NOT NULL,
      PRIMARY KEY (sensor_id, alarm_type_id)
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['alarm_pending', 'alarms', 'alarm_types', 'telemetry']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
