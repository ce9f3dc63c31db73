/**
 * `node dist/migrate.js`: runs alarm-service's database migrations and exits (0 when the schema is up to date). The
 * chart's migration Job runs it before a new version's pods roll out. The DataSource is the one main.ts builds (same
 * configuration, database, entities, migrations and pool size).
 */
import { createDataSource, createLogger, isMain, openDataSource } from '@devicesaga/platform';
import { config } from './config';
import { entities, migrations } from './db';

const logger = createLogger('alarm-service');

export function migrationDataSource(env: NodeJS.ProcessEnv = process.env) {
  const cfg = config(env);
  return createDataSource(cfg, { database: cfg.DATABASE_NAME, entities, migrations, poolSize: cfg.DATABASE_POOL_SIZE });
}

/** Applies the pending migrations; answers the names of all applied ones, oldest first. */
export async function migrate(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const dataSource = await openDataSource(migrationDataSource(env), logger);
  try {
    const rows: { name: string }[] = await dataSource.query('SELECT name FROM migrations ORDER BY timestamp');
    return rows.map((r) => r.name);
  } finally {
    await dataSource.destroy();
  }
}

if (isMain(module)) {
  migrate().then(
    (applied) => {
      logger.info({ migrations: applied.length, latest: applied.at(-1) }, 'schema up to date');
      process.exit(0);
    },
    (err: unknown) => {
      logger.fatal({ err }, 'migrations failed');
      process.exit(1);
    },
  );
}
