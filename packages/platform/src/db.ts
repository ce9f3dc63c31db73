import { DataSource, type MixedList, type EntitySchema } from 'typeorm';
import type { Logger } from './logger';

export interface DatabaseSettings {
  DATABASE_HOST: string;
  DATABASE_PORT: number;
  DATABASE_USER: string;
  DATABASE_PASSWORD: string;
}

export interface DataSourceOptions {
  database: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
  poolSize?: number;
}

/** A TypeORM data source on the service's own database; `openDataSource` connects and runs its migrations. */
export function createDataSource(settings: DatabaseSettings, options: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    host: settings.DATABASE_HOST,
    port: settings.DATABASE_PORT,
    username: settings.DATABASE_USER,
    password: settings.DATABASE_PASSWORD,
    database: options.database,
    entities: options.entities,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    logging: false,
    extra: { max: options.poolSize ?? 10, application_name: options.database },
  });
}

export async function openDataSource(dataSource: DataSource, logger: Logger): Promise<DataSource> {
  await dataSource.initialize();
  const applied = await dataSource.runMigrations({ transaction: 'each' });
  if (applied.length) logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
  return dataSource;
}
