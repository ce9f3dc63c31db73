import { busMigrations } from '@devicesaga/platform';
import { Commands1767300000000 } from './migrations/1767300000000-commands';

export { entities } from './entities';

/** The service's migrations: the bus outbox/inbox tables, then its own. */
export const migrations = [...busMigrations, Commands1767300000000];
