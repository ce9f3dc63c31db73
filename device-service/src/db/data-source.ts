import { createDataSource, type DatabaseSettings } from '@devicesaga/platform';
import { busMigrations } from '@devicesaga/platform';
import { entities } from './entities';
import { DeviceSchema1767300000000 } from './migrations/1767300000000-DeviceSchema';

export const migrations = [...busMigrations, DeviceSchema1767300000000];

export function deviceDataSource(settings: DatabaseSettings, database: string) {
  return createDataSource(settings, { database, entities, migrations, poolSize: 10 });
}
