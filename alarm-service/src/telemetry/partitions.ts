import type { DataSource } from 'typeorm';
import type { Logger } from '@devicesaga/platform';

const DAY = 86_400_000;
const NAME = /^telemetry_p(\d{4})(\d{2})(\d{2})$/;
/** One maintainer at a time across instances (session advisory lock on its own connection). */
const LOCK_KEY = 727_001;

export const partitionName = (dayStart: number) => `telemetry_p${new Date(dayStart).toISOString().slice(0, 10).replace(/-/g, '')}`;
const dayOf = (ts: number) => Math.floor(ts / DAY) * DAY;
const iso = (ts: number) => new Date(ts).toISOString();

export interface PartitionSettings {
  retentionDays: number;
  aheadDays: number;
}

/**
 * The telemetry table's daily range partitions (UTC days). `maintain()` — at start and then periodically, by one
 * instance at a time — creates the partitions from yesterday to `aheadDays` ahead and drops those wholly older than
 * `retentionDays` (dropping a partition is instant and leaves no dead rows, unlike DELETE). A new partition is created
 * as a plain table and then attached, which locks the parent only in SHARE UPDATE EXCLUSIVE mode, so ingestion does
 * not stop; a drop takes a brief exclusive lock (bounded by lock_timeout, retried at the next run).
 * `accepts(ts)` says whether a reading has a partition to go to: readings outside are dropped and counted, so one
 * stray timestamp never fails a batch.
 */
export class TelemetryPartitions {
  private from = 0;
  private to = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly ds: DataSource,
    private readonly settings: PartitionSettings,
    private readonly logger: Logger,
  ) {}

  /** epoch ms of the first and past the last instant that has a partition (contiguous run around today). */
  get window(): { from: number; to: number } {
    return { from: this.from, to: this.to };
  }

  accepts(ts: number): 'ok' | 'too_old' | 'too_new' {
    if (ts < this.from) return 'too_old';
    if (ts >= this.to) return 'too_new';
    return 'ok';
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      void this.maintain().catch((err: unknown) => this.logger.warn({ err }, 'telemetry partition maintenance failed; retried next time'));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Creates what is missing, drops what expired (if no other instance is at it), then refreshes the window. */
  maintain(now = Date.now()): Promise<void> {
    this.running ??= this.run(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(now: number): Promise<void> {
    const qr = this.ds.createQueryRunner();
    await qr.connect();
    try {
      const locked = (await qr.query(`SELECT pg_try_advisory_lock($1) AS ok`, [LOCK_KEY])) as { ok: boolean }[];
      if (locked[0]?.ok) {
        try {
          await qr.query(`SET lock_timeout = '3s'`);
          const existing = new Set(await this.list(qr.query.bind(qr)));
          const today = dayOf(now);
          const created: string[] = [];
          for (let day = today - DAY; day <= today + this.settings.aheadDays * DAY; day += DAY) {
            const name = partitionName(day);
            if (existing.has(name)) continue;
            // a plain table first (a crash may leave one unattached: reuse it), then ATTACH
            await qr.query(`CREATE TABLE IF NOT EXISTS ${name} (LIKE telemetry INCLUDING ALL)`);
            await qr.query(`ALTER TABLE telemetry ATTACH PARTITION ${name} FOR VALUES FROM ('${iso(day)}') TO ('${iso(day + DAY)}')`);
            created.push(name);
          }
          const oldestKept = today - this.settings.retentionDays * DAY;
          const dropped: string[] = [];
          for (const name of existing) {
            const day = dayOfName(name);
            if (day !== undefined && day + DAY <= oldestKept) {
              await qr.query(`DROP TABLE ${name}`);
              dropped.push(name);
            }
          }
          if (created.length || dropped.length) this.logger.info({ created, dropped }, 'telemetry partitions maintained');
        } finally {
          await qr.query(`RESET lock_timeout`).catch(() => undefined);
          await qr.query(`SELECT pg_advisory_unlock($1)`, [LOCK_KEY]).catch(() => undefined);
        }
      }
      this.setWindow(await this.list(qr.query.bind(qr)), now);
    } finally {
      await qr.release();
    }
  }

  private async list(query: (sql: string) => Promise<unknown>): Promise<string[]> {
    const rows = (await query(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'telemetry'::regclass`)) as { name: string }[];
    return rows.map((r) => r.name);
  }

  private setWindow(names: string[], now: number): void {
    const days = new Set(names.map(dayOfName).filter((d): d is number => d !== undefined));
    const today = dayOf(now);
    if (!days.has(today)) {
      this.from = this.to = 0;
      this.logger.error({ partitions: names.length }, 'no telemetry partition for today: readings are dropped until maintenance creates it');
      return;
    }
    let from = today;
    while (days.has(from - DAY)) from -= DAY;
    let to = today + DAY;
    while (days.has(to)) to += DAY;
    this.from = from;
    this.to = to;
  }
}

function dayOfName(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : undefined;
}
