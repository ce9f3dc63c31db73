import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { CommandState } from '../domain/outcome';

/** A command sent to a device and waiting for exactly one outcome. */
@Entity({ name: 'pending_command' })
export class PendingCommand {
  @PrimaryColumn('uuid', { name: 'command_id' }) commandId!: string;
  @Column('text', { name: 'device_id' }) deviceId!: string;
  @Column('text', { name: 'sensor_id' }) sensorId!: string;
  @Column('text', { name: 'user_id' }) userId!: string;
  @Column('text') parameter!: string;
  @Column('text') action!: 'set' | 'add';
  @Column('double precision') value!: number;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('timestamptz', { name: 'sent_at' }) sentAt!: Date;
  @Column('timestamptz', { name: 'reply_deadline', nullable: true }) replyDeadline!: Date | null;
  @Column('text') state!: CommandState;
  @Column('text', { nullable: true }) reason!: string | null;
  @Column('double precision', { name: 'device_value', nullable: true }) deviceValue!: number | null;
  @Column('text', { name: 'causation_id', nullable: true }) causationId!: string | null;
  @Column('timestamptz', { name: 'closed_at', nullable: true }) closedAt!: Date | null;
}

/** Last known presence of a device (from its retained status topic); unknown = offline. */
@Entity({ name: 'device_presence' })
export class DevicePresence {
  @PrimaryColumn('text', { name: 'device_id' }) deviceId!: string;
  @Column('boolean') online!: boolean;
  @Column('timestamptz', { name: 'changed_at' }) changedAt!: Date;
}

export const entities = [PendingCommand, DevicePresence];
