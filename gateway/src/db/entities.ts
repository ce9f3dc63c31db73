import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

export const userRoles = ['user', 'operator'] as const;
export type UserRole = (typeof userRoles)[number];

@Entity({ name: 'users' })
export class UserEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  /** Stored lower-cased; unique (also enforced on lower(email) by the migration). */
  @Column({ type: 'text' })
  email!: string;

  /**
   * The login name, shown in notifications; unique case-insensitively (lower(username) index). No '@'. Always written
   * by this code (the column is nullable only for replicas of the previous release during a rolling upgrade).
   */
  @Column({ type: 'text' })
  username!: string;

  /** `user`, or `operator` (also manages parameters, alarm types and the DLQ — DESIGN.md §5). */
  @Column({ type: 'text', default: 'user' })
  role!: UserRole;

  @Column({ name: 'display_name', type: 'text', nullable: true })
  displayName!: string | null;

  @Column({ name: 'password_hash', type: 'text' })
  passwordHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@Entity({ name: 'api_keys' })
export class ApiKeyEntity {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ type: 'text' })
  name!: string;

  /** The public part of the key (`dsk_<prefix>_…`), unique, used to look the key up. */
  @Column({ type: 'text' })
  prefix!: string;

  /** sha256 of the whole key, hex. The key itself is never stored. */
  @Column({ name: 'key_hash', type: 'text' })
  keyHash!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt!: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}

export const entities = [UserEntity, ApiKeyEntity];
