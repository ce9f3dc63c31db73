import type { DataSource, EntityManager } from 'typeorm';
import type { AlarmSeverityName, AlarmTypeView } from '@devicesaga/contracts';
import type { Logger, Redis } from '@devicesaga/platform';
import type { AlarmRule } from '../domain/alarm-rules';

/** Redis channel on which an instance announces that alarm types changed (after the commit). */
export const ALARM_TYPES_CHANGED = 'alarm-types-changed';

export interface AlarmTypeRow {
  id: string;
  name: string;
  parameter: string;
  lower: number;
  upper: number;
  severity: AlarmSeverityName;
  device_group_id: string | null;
  hysteresis: number;
  min_duration_seconds: number;
  created_at: Date;
  updated_at: Date;
}

export const ALARM_TYPE_COLUMNS = `id::text, name, parameter, lower, upper, severity, device_group_id::text, hysteresis, min_duration_seconds, created_at, updated_at`;

export const alarmTypeView = (r: AlarmTypeRow): AlarmTypeView => ({
  id: r.id,
  name: r.name,
  parameter: r.parameter,
  lower: r.lower,
  upper: r.upper,
  severity: r.severity,
  deviceGroupId: r.device_group_id,
  hysteresis: r.hysteresis,
  minDurationSeconds: r.min_duration_seconds,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

export const alarmRule = (r: AlarmTypeRow): AlarmRule => ({
  id: r.id,
  name: r.name,
  parameter: r.parameter,
  lower: r.lower,
  upper: r.upper,
  severity: r.severity,
  deviceGroupId: r.device_group_id,
  hysteresis: r.hysteresis,
  minDurationMs: r.min_duration_seconds * 1000,
});

export async function loadAlarmTypes(m: DataSource | EntityManager): Promise<AlarmTypeRow[]> {
  return (await m.query<AlarmTypeRow[]>(`SELECT ${ALARM_TYPE_COLUMNS} FROM alarm_types ORDER BY name`));
}

/**
 * The alarm types the telemetry consumer evaluates, in memory, by parameter. Reloaded when any instance announces a
 * change on Redis, and at the latest `ttlMs` after the last load (a lost announcement).
 */
export class AlarmRules {
  private byParameter = new Map<string, AlarmRule[]>();
  private loadedAt = 0;
  private loading: Promise<void> | undefined;
  private generation = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to announcements (on a connection in subscriber mode). */
  async listen(subscriber: Redis): Promise<void> {
    subscriber.on('message', (channel: string) => {
      if (channel === ALARM_TYPES_CHANGED) this.invalidate();
    });
    subscriber.on('ready', () => this.invalidate());
    await subscriber.subscribe(ALARM_TYPES_CHANGED);
  }

  invalidate(): void {
    this.generation++;
    this.loadedAt = 0;
  }

  /**
   * The rules by parameter (every group scope), fresh within the TTL. A reload goes through `via` when given — the
   * caller's transaction: a consumer holding a pooled connection must not wait for a second one.
   */
  async forParameters(via?: EntityManager): Promise<ReadonlyMap<string, AlarmRule[]>> {
    if (Date.now() - this.loadedAt > this.ttlMs) await this.reload(via);
    return this.byParameter;
  }

  private reload(via?: EntityManager): Promise<void> {
    if (via) return this.load(via);
    this.loading ??= this.load(this.ds).finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(m: DataSource | EntityManager): Promise<void> {
    {
      const generation = this.generation;
      const rows = await loadAlarmTypes(m);
      const next = new Map<string, AlarmRule[]>();
      for (const row of rows) {
        const rule = alarmRule(row);
        const list = next.get(rule.parameter);
        if (list) list.push(rule);
        else next.set(rule.parameter, [rule]);
      }
      this.byParameter = next;
      if (generation === this.generation) this.loadedAt = Date.now();
      this.logger.debug({ types: rows.length }, 'alarm types loaded');
    }
  }
}
