import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { HistoryEntry } from '../domain/command-status';

/** A command and its status history (jsonb `[{status, at, reason?}]`, `version === history.length`). */
@Entity({ name: 'commands' })
export class CommandEntity {
  @PrimaryColumn({ type: 'uuid' })
  id!: string;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ name: 'device_id', type: 'text' })
  deviceId!: string;

  @Column({ name: 'sensor_id', type: 'text' })
  sensorId!: string;

  @Column({ type: 'text' })
  action!: 'set' | 'add';

  @Column({ type: 'double precision' })
  value!: number;

  @Column({ name: 'expected_value', type: 'double precision', nullable: true })
  expectedValue!: number | null;

  @Column({ name: 'ttl_seconds', type: 'integer' })
  ttlSeconds!: number;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ type: 'jsonb' })
  history!: HistoryEntry[];

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** One idempotency key per (user, key): the request's hash and the command it created. */
@Entity({ name: 'idempotency_keys' })
export class IdempotencyKeyEntity {
  @PrimaryColumn({ name: 'user_id', type: 'text' })
  userId!: string;

  @PrimaryColumn({ type: 'text' })
  key!: string;

  @Column({ name: 'request_hash', type: 'text' })
  requestHash!: string;

  @Column({ name: 'command_id', type: 'uuid' })
  commandId!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

export const entities = [CommandEntity, IdempotencyKeyEntity];
