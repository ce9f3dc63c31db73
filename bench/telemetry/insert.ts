/**
 * Which batch write of telemetry rows is cheaper in PostgreSQL: one `INSERT … SELECT FROM unnest($1, $2, $3) ON
 * CONFLICT DO NOTHING` (what alarm-service does), or COPY into a temporary table and `INSERT … SELECT … ON CONFLICT DO
 * NOTHING` from it (COPY cannot skip duplicates itself). Same partitioned table, same rows, batches of 100/500/2,000;
 * CPU of this process and of its PostgreSQL backend per row (from /proc), and wall time per batch.
 *
 *   npx tsx bench/telemetry/insert.ts   (env INSERT_ROWS=200000)
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { ensureDatabase, loadConfig } from '@devicesaga/platform';

const cfg = loadConfig({});
const DB = 'bench_telemetry_insert';
const total = Number(process.env.INSERT_ROWS ?? '200000');
const TICK = 100; // clock ticks per second (/proc)

const cpuOf = (pid: number | 'self') => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(parts[11]) + Number(parts[12])) / TICK) * 1000; // utime + stime, ms
};

async function main() {
  await ensureDatabase(cfg, DB);
  const db = new Client({ host: cfg.DATABASE_HOST, port: cfg.DATABASE_PORT, user: cfg.DATABASE_USER, password: cfg.DATABASE_PASSWORD, database: DB });
  await db.connect();
  const [{ pid }] = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
  await db.query(`DROP TABLE IF EXISTS t`);
  await db.query(`CREATE TABLE t (sensor_id uuid NOT NULL, ts timestamptz NOT NULL, value double precision NOT NULL, PRIMARY KEY (sensor_id, ts)) PARTITION BY RANGE (ts)`);
  const day = Math.floor(Date.now() / 86_400_000) * 86_400_000;
  await db.query(`CREATE TABLE t_today PARTITION OF t FOR VALUES FROM ('${new Date(day - 86_400_000).toISOString()}') TO ('${new Date(day + 2 * 86_400_000).toISOString()}')`);
  await db.query(`CREATE TEMP TABLE staging (sensor_id uuid, ts timestamptz, value double precision) ON COMMIT DELETE ROWS`);
  const sensors = Array.from({ length: 500 }, () => randomUUID());
  let clock = Date.now() - 3_600_000;

  const rows = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ s: sensors[i % sensors.length]!, ts: new Date(clock++).toISOString(), v: Math.round(Math.random() * 10000) / 100 }));

  const unnest = async (batch: ReturnType<typeof rows>) => {
    await db.query('BEGIN');
    await db.query(`INSERT INTO t (sensor_id, ts, value) SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[]) ON CONFLICT DO NOTHING`, [
      `{${batch.map((r) => r.s).join(',')}}`,
      `{${batch.map((r) => r.ts).join(',')}}`,
      `{${batch.map((r) => r.v).join(',')}}`,
    ]);
    await db.query('COMMIT');
  };
  const copy = async (batch: ReturnType<typeof rows>) => {
    await db.query('BEGIN');
    await new Promise<void>((resolve, reject) => {
      const stream = db.query(copyFrom('COPY staging (sensor_id, ts, value) FROM STDIN'));
      stream.on('finish', () => resolve());
      stream.on('error', reject);
      stream.end(batch.map((r) => `${r.s}\t${r.ts}\t${r.v}\n`).join(''));
    });
    await db.query(`INSERT INTO t (sensor_id, ts, value) SELECT * FROM staging ON CONFLICT DO NOTHING`);
    await db.query('COMMIT');
  };

  console.log(`${total} rows per run into a partitioned table with PRIMARY KEY (sensor_id, ts)`);
  console.log('method  batch  rows/s  node µs/row  postgres µs/row  total µs/row');
  for (const size of [100, 500, 2000]) {
    for (const [name, write] of [
      ['unnest', unnest],
      ['copy', copy],
    ] as const) {
      await db.query('TRUNCATE t');
      const batches = Array.from({ length: Math.ceil(total / size) }, () => rows(size));
      const n0 = cpuOf('self');
      const p0 = cpuOf(pid);
      const t0 = performance.now();
      for (const b of batches) await write(b);
      const wall = performance.now() - t0;
      const node = ((cpuOf('self') - n0) * 1000) / total;
      const pg = ((cpuOf(pid) - p0) * 1000) / total;
      console.log(`${name.padEnd(6)}  ${String(size).padStart(5)}  ${String(Math.round(total / (wall / 1000))).padStart(6)}  ${node.toFixed(1).padStart(11)}  ${pg.toFixed(1).padStart(15)}  ${(node + pg).toFixed(1).padStart(12)}`);
    }
  }
  await db.query(`DROP TABLE t`);
  await db.end();
  console.log('command: npx tsx bench/telemetry/insert.ts');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
