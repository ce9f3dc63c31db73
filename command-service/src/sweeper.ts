import type { DataSource } from 'typeorm';
import type { Logger } from '@devicesaga/platform';
import type { Counter } from 'prom-client';

export interface SweeperOptions {
  dataSource: DataSource;
  logger: Logger;
  intervalMs: number;
  stuckAfterSeconds: number;
  idempotencyTtlHours: number;
  stuck: Counter;
}

/**
 * Flags sagas that look stuck; it never changes their status. Compensation belongs to device-service, whose own
 * sweeper compensates an in-flight saga past its deadline (DEADLINE_EXCEEDED) and rejects a queued one past its TTL
 * (EXPIRED) — those outcomes reach this service as events. A command still PENDING or APPROVED `stuckAfterSeconds`
 * past its `expires_at` therefore means a hop is down or lost a message: it gets `reason = 'STUCK'` (once; its
 * status, version and history stay as they are, and a later outcome replaces the reason), a warning in the log and
 * `saga_stuck_total`. The sweep also forgets idempotency keys past their retention.
 * Safe with N replicas: the update is conditional, so each command is flagged (and counted) once.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastKeyCleanup = 0;

  constructor(private readonly options: SweeperOptions) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .then(() => undefined)
        .catch((err: unknown) => this.options.logger.error({ err }, 'sweep failed'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One sweep; answers the ids flagged STUCK. */
  async sweep(now = new Date()): Promise<string[]> {
    const { dataSource, logger, stuckAfterSeconds } = this.options;
    const rows = await dataSource.query<[{ id: string; status: string; deviceId: string; expiresAt: Date }[], number]>(
      `UPDATE commands SET reason = 'STUCK', updated_at = $1
       WHERE id IN (
         SELECT id FROM commands
         WHERE status IN ('PENDING', 'APPROVED') AND expires_at < $1::timestamptz - make_interval(secs => $2) AND reason IS NULL
         ORDER BY expires_at LIMIT 500 FOR UPDATE SKIP LOCKED)
       RETURNING id, status, device_id AS "deviceId", expires_at AS "expiresAt"`,
      [now, stuckAfterSeconds],
    );
    const flagged = rows[0];
    for (const row of flagged) {
      logger.warn({ correlationId: row.id, commandId: row.id, status: row.status, deviceId: row.deviceId, expiresAt: row.expiresAt }, 'saga stuck: no outcome long past its deadline');
    }
    if (flagged.length) this.options.stuck.inc(flagged.length);
    if (now.getTime() - this.lastKeyCleanup > 60_000) {
      this.lastKeyCleanup = now.getTime();
      await dataSource.query(`DELETE FROM idempotency_keys WHERE created_at < $1::timestamptz - make_interval(hours => $2)`, [
        now,
        Math.ceil(this.options.idempotencyTtlHours),
      ]);
    }
    return flagged.map((r) => r.id);
  }
}
