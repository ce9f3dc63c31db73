import { busMigrations } from '@devicesaga/platform/src/bus/outbox';
import { Commands1767300000000 } from './migrations/1767300000000-commands';

export { entities } from './entities';

/**
 * The service's migrations: the bus outbox/inbox tables, then its own. `busMigrations` is imported from the bus
 * module directly because `@devicesaga/platform`'s index does not export it yet.
 */
export const migrations = [...busMigrations, Commands1767300000000];
