import { busMigrations } from '@devicesaga/platform';
import { Alarms1767500000000 } from './migrations/1767500000000-alarms';

/** The service's migrations: the bus outbox/inbox tables, then its own. It has no TypeORM entities (plain SQL). */
export const migrations = [...busMigrations, Alarms1767500000000];
export const entities: never[] = [];
