import type { DataSource } from 'typeorm';

/** What old code relies on in a schema: tables, their columns (type, nullability, default) and constraints. */
export interface SchemaSnapshot {
  columns: Map<string, { type: string; nullable: boolean; hasDefault: boolean }>; // key "table.column"
  tables: Set<string>;
  constraints: Map<string, string>; // key "table.constraint" -> definition
}

/** The public schema of a database, without TypeORM's own `migrations` table. */
export async function snapshot(ds: DataSource): Promise<SchemaSnapshot> {
  const cols: { table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null }[] = await ds.query(
    `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' AND c.table_name <> 'migrations'`,
  );
  const cons: { tbl: string; conname: string; def: string }[] = await ds.query(
    `SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def
       FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace AND contype IN ('c', 'u', 'f', 'x') AND conrelid::regclass::text <> 'migrations'`,
  );
  return {
    tables: new Set(cols.map((c) => c.table_name)),
    columns: new Map(cols.map((c) => [`${c.table_name}.${c.column_name}`, { type: c.data_type, nullable: c.is_nullable === 'YES', hasDefault: c.column_default !== null }])),
    constraints: new Map(cons.map((c) => [`${c.tbl}.${c.conname}`, c.def])),
  };
}

/**
 * Why code written for `before` may fail on `after` (empty: `after` only expands `before`). Old code keeps reading and
 * writing what it knew, so nothing it knew may disappear or change type, no column it knew may turn NOT NULL, no new
 * column of a table it writes may be NOT NULL without a default, and no new constraint may reject its writes.
 */
export function incompatibilities(before: SchemaSnapshot, after: SchemaSnapshot): string[] {
  const out: string[] = [];
  for (const table of before.tables) if (!after.tables.has(table)) out.push(`drops table ${table}`);
  for (const [key, col] of before.columns) {
    const table = key.split('.')[0]!;
    const now = after.columns.get(key);
    if (!now) {
      if (after.tables.has(table)) out.push(`drops column ${key}`);
      continue;
    }
    if (now.type !== col.type) out.push(`changes the type of ${key} from ${col.type} to ${now.type}`);
    if (col.nullable && !now.nullable) out.push(`makes ${key} NOT NULL`);
  }
  for (const [key, col] of after.columns) {
    const table = key.split('.')[0]!;
    if (before.tables.has(table) && !before.columns.has(key) && !col.nullable && !col.hasDefault) {
      out.push(`adds ${key} NOT NULL without a default (old code's INSERTs omit it)`);
    }
  }
  for (const [key, def] of after.constraints) {
    const table = key.split('.')[0]!;
    const was = before.constraints.get(key);
    if (was === undefined && before.tables.has(table)) out.push(`adds constraint ${key} to an existing table: ${def}`);
    else if (was !== undefined && was !== def) out.push(`changes constraint ${key} from ${was} to ${def}`);
  }
  return out;
}

/** Table and column names an incompatibility names (what the old code must no longer use). */
export function namedIdentifiers(problems: string[]): string[] {
  return problems.flatMap((p) => {
    const m = /^(?:drops table|drops column|changes the type of|makes) ([a-z0-9_]+)(?:\.([a-z0-9_]+))?/.exec(p);
    return m ? [m[2] ?? m[1]!] : [];
  });
}
