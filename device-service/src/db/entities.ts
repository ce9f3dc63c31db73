import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn, type ValueTransformer } from 'typeorm';

/** PostgreSQL `numeric` comes back as a string; expose it as a number. */
export const numeric: ValueTransformer = {
  to: (v: number | null | undefined) => v,
  from: (v: string | null) => (v === null ? null : Number(v)),
};

@Entity('parameters')
export class ParameterEntity {
  @PrimaryColumn('text') name!: string;
  @Column('text') unit!: string;
  @Column('numeric', { transformer: numeric }) min!: number;
  @Column('numeric', { transformer: numeric }) max!: number;
  @Column('numeric', { name: 'default_value', nullable: true, transformer: numeric }) defaultValue!: number | null;
  @Column('text', { name: 'created_by', nullable: true }) createdBy!: string | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity('device_groups')
export class DeviceGroupEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'personal_of', nullable: true }) personalOf!: string | null;
  @Column('text', { name: 'created_by' }) createdBy!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity('user_groups')
export class UserGroupEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text', { name: 'personal_of', nullable: true }) personalOf!: string | null;
  @Column('text', { name: 'created_by' }) createdBy!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity('memberships')
export class MembershipEntity {
  @PrimaryColumn('uuid', { name: 'user_group_id' }) userGroupId!: string;
  @PrimaryColumn('text', { name: 'user_id' }) userId!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity('grants')
export class GrantEntity {
  @PrimaryColumn('uuid', { name: 'user_group_id' }) userGroupId!: string;
  @PrimaryColumn('uuid', { name: 'device_group_id' }) deviceGroupId!: string;
  @Column('text', { name: 'created_by' }) createdBy!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity('devices')
export class DeviceEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('uuid', { name: 'group_id' }) groupId!: string;
  @Column('text', { name: 'created_by' }) createdBy!: string;
  @Column('text', { name: 'mqtt_password_hash' }) mqttPasswordHash!: string;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
}

@Entity('sensors')
export class SensorEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'device_id' }) deviceId!: string;
  @Column('text') parameter!: string;
  @Column('numeric', { nullable: true, transformer: numeric }) value!: number | null;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('uuid', { name: 'in_flight_command_id', nullable: true }) inFlightCommandId!: string | null;
}

export type SagaState = 'IN_FLIGHT' | 'CONFIRMED' | 'COMPENSATED';

@Entity('sagas')
export class SagaEntity {
  @PrimaryColumn('uuid', { name: 'command_id' }) commandId!: string;
  @Column('uuid', { name: 'sensor_id' }) sensorId!: string;
  @Column('uuid', { name: 'device_id' }) deviceId!: string;
  @Column('text', { name: 'user_id' }) userId!: string;
  @Column('text') action!: 'set' | 'add';
  @Column('numeric', { name: 'requested_value', transformer: numeric }) requestedValue!: number;
  @Column('numeric', { name: 'previous_value', nullable: true, transformer: numeric }) previousValue!: number | null;
  @Column('numeric', { name: 'applied_value', transformer: numeric }) appliedValue!: number;
  @Column('text') state!: SagaState;
  @Column('text', { nullable: true }) reason!: string | null;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('timestamptz', { name: 'deadline_at' }) deadlineAt!: Date;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'ended_at', nullable: true }) endedAt!: Date | null;
}

@Entity('queued_commands')
export class QueuedCommandEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) seq!: string;
  @Column('uuid', { name: 'command_id' }) commandId!: string;
  @Column('uuid', { name: 'sensor_id' }) sensorId!: string;
  @Column('uuid', { name: 'device_id' }) deviceId!: string;
  @Column('text', { name: 'user_id' }) userId!: string;
  @Column('text') action!: 'set' | 'add';
  @Column('numeric', { transformer: numeric }) value!: number;
  @Column('numeric', { name: 'expected_value', nullable: true, transformer: numeric }) expectedValue!: number | null;
  @Column('timestamptz', { name: 'expires_at' }) expiresAt!: Date;
  @Column('uuid', { name: 'source_event_id', nullable: true }) sourceEventId!: string | null;
  @Column('timestamptz', { name: 'queued_at' }) queuedAt!: Date;
}

export const entities = [
  ParameterEntity,
  DeviceGroupEntity,
  UserGroupEntity,
  MembershipEntity,
  GrantEntity,
  DeviceEntity,
  SensorEntity,
  SagaEntity,
  QueuedCommandEntity,
];
