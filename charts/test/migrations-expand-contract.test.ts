/**
 * Zero-downtime upgrades need migrations that only expand: during a rolling update the previous version's pods run
 * against the schema the new version's migration Job has just produced (charts/README.md, "Expand and contract").
 * Each service's migrations are applied one at a time to a fresh database (through the service's own migrate.ts), and
 * the schema after each one is compared with the schema before it: nothing the earlier code could use may go away or
 * tighten. A migration that deliberately contracts must be listed in `contractSteps` with the reason it is safe, and
 * the service's code (outside its migrations) must no longer name what it removes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import type { DataSource, MigrationInterface } from 'typeorm';
import { testDatabaseName } from '@devicesaga/platform';
import { incompatibilities, namedIdentifiers, snapshot, type SchemaSnapshot } from './support/schema-compat';

const root = path.resolve(__dirname, '..', '..');

interface MigrateModule {
  migrationDataSource(env: NodeJS.ProcessEnv): DataSource;
  migrate(env: NodeJS.ProcessEnv): Promise<string[]>;
}

/** The services with a database and a migrate.ts (the chart's migration Jobs run these). */
const services = ['gateway', 'command-service', 'device-service', 'adapter'];

/**
 * Contract steps and why old code survives them. Only for migrations whose removal the code before them no longer
 * needed; the test checks that the current code does not name what they remove.
 */
const contractSteps: Record<string, string> = {
  // Shipped in the same commit that stopped using the table (7590109), before any release ran side by side with
  // another (there was no chart before this one). From now on such a drop goes one release after the code change.
  DropParkedReply1767400000000: 'parked_reply was read and written only by adapter code removed in 7590109',
};

const db = {
  DATABASE_HOST: process.env.DATABASE_HOST ?? '127.0.0.1',
  DATABASE_PORT: process.env.DATABASE_PORT ?? '5432',
  DATABASE_USER: process.env.DATABASE_USER ?? 'postgres',
  DATABASE_PASSWORD: process.env.DATABASE_PASSWORD ?? '',
};

async function freshDatabase(name: string): Promise<void> {
  const client = new Client({ host: db.DATABASE_HOST, port: Number(db.DATABASE_PORT), user: db.DATABASE_USER, password: db.DATABASE_PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

function loadMigrate(service: string): MigrateModule {
  return jest.requireActual<MigrateModule>(path.join(root, service, 'src', 'migrate.ts'));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const p = path.join(dir, entry);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function timestampOf(m: MigrationInterface): number {
  return Number(/(\d{13})$/.exec(m.name ?? m.constructor.name)?.[1] ?? 0);
}

describe.each(services)('%s migrations', (service) => {
  const database = testDatabaseName(`ds_test_compat_${service.replace(/-/g, '_')}`);
  const env = { ...db, DATABASE_NAME: database };

  it('migrate.ts applies every migration of the service and is a no-op the second time', async () => {
    await freshDatabase(database);
    const mod = loadMigrate(service);
    const ds = mod.migrationDataSource(env);
    const expected = (ds.options.migrations as (new () => MigrationInterface)[]).map((M) => new M()).sort((a, b) => timestampOf(a) - timestampOf(b));
    const applied = await mod.migrate(env);
    expect(applied).toEqual(expected.map((m) => m.name ?? m.constructor.name));
    expect(applied.length).toBeGreaterThan(0);
    await expect(mod.migrate(env)).resolves.toEqual(applied);
  });

  it('each migration only expands the schema the code before it ran against, or is a declared contract step', async () => {
    await freshDatabase(database);
    const ds = loadMigrate(service).migrationDataSource(env);
    await ds.initialize();
    try {
      const migrations = ds.migrations.slice().sort((a, b) => timestampOf(a) - timestampOf(b));
      let before: SchemaSnapshot = await snapshot(ds);
      const found: Record<string, string[]> = {};
      for (const m of migrations) {
        const runner = ds.createQueryRunner();
        await runner.startTransaction();
        await m.up(runner);
        await runner.commitTransaction();
        await runner.release();
        const after = await snapshot(ds);
        const problems = incompatibilities(before, after);
        if (problems.length) found[m.name ?? m.constructor.name] = problems;
        before = after;
      }
      expect(before.tables.size).toBeGreaterThan(0);
      const undeclared = Object.fromEntries(Object.entries(found).filter(([name]) => !(name in contractSteps)));
      expect(undeclared).toEqual({});
      // a declared contract step must really contract (else the list lies) and its removals must be unused now
      const code = sourceFiles(path.join(root, service, 'src'))
        .filter((f) => !/[/\\]db[/\\]migrations/.test(f) && !f.endsWith('migrations.ts'))
        .map((f) => readFileSync(f, 'utf8'))
        .join('\n');
      for (const name of Object.keys(contractSteps).filter((n) => migrations.some((m) => (m.name ?? m.constructor.name) === n))) {
        expect(found[name]?.length ?? 0).toBeGreaterThan(0);
        for (const identifier of namedIdentifiers(found[name] ?? [])) expect(code).not.toMatch(new RegExp(`\\b${identifier}\\b`));
      }
    } finally {
      await ds.destroy();
    }
  });
});
