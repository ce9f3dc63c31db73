import { Client } from 'pg';
import { DataSource, type MixedList, type EntitySchema } from 'typeorm';
import type { Logger } from './logger';

export interface DatabaseSettings {
  DATABASE_HOST: string;
  DATABASE_PORT: number;
  DATABASE_USER: string;
  DATABASE_PASSWORD: string;
  /** 0 = wait for locks forever (PostgreSQL's default). */
  DATABASE_LOCK_TIMEOUT_MS?: number;
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
    extra: {
      max: options.poolSize ?? 10,
      application_name: options.database,
      ...(settings.DATABASE_LOCK_TIMEOUT_MS ? { options: `-c lock_timeout=${Math.trunc(settings.DATABASE_LOCK_TIMEOUT_MS)}` } : {}),
    },
  });
}

/** PostgreSQL's SQLSTATEs for "database does not exist" and "database already exists". */
const INVALID_CATALOG_NAME = '3D000';
const DUPLICATE_DATABASE = '42P04';

/**
 * Creates the database when it does not exist yet (through the `postgres` maintenance database), so a service, a test
 * or a stack instance on a fresh server starts without a manual step. Safe when several processes race to create it.
 */
export async function ensureDatabase(settings: DatabaseSettings, name: string): Promise<void> {
  const client = new Client({
    host: settings.DATABASE_HOST,
    port: settings.DATABASE_PORT,
    user: settings.DATABASE_USER,
    password: settings.DATABASE_PASSWORD,
    database: 'postgres',
  });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((err: unknown) => {
      if ((err as { code?: string }).code !== DUPLICATE_DATABASE) throw err;
    });
  } finally {
    await client.end();
  }
}

/**
 * A test database's name: `base` plus TEST_DB_SUFFIX when set, so two checkouts can run the same tests on one
 * machine at once without sharing databases.
 */
export function testDatabaseName(base: string): string {
  return `${base}${process.env.TEST_DB_SUFFIX ?? ''}`;
}

/** Connects (creating the database when missing) and runs the migrations. */
export async function openDataSource(dataSource: DataSource, logger: Logger): Promise<DataSource> {
  try {
    await dataSource.initialize();
  } catch (err) {
    if ((err as { code?: string }).code !== INVALID_CATALOG_NAME) throw err;
    const o = dataSource.options as { host: string; port: number; username: string; password: string; database: string };
    logger.info({ database: o.database }, 'database missing: creating it');
    await ensureDatabase({ DATABASE_HOST: o.host, DATABASE_PORT: o.port, DATABASE_USER: o.username, DATABASE_PASSWORD: o.password }, o.database);
    await dataSource.initialize();
  }
  const applied = await dataSource.runMigrations({ transaction: 'each' });
  if (applied.length) logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
  return dataSource;
}
