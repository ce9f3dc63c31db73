import { randomUUID } from 'node:crypto';
import type { EventOf } from '@devicesaga/contracts';
import type { DeviceInfo, OutgoingEvent, TxContext } from '@devicesaga/platform';
import type { Counter } from 'prom-client';
import type { EntityManager } from 'typeorm';
import { applies, evaluate, type AlarmRule, type OpenState, type Outcome, type Reading } from '../domain/alarm-rules';

export type DropReason = 'unknown_device' | 'unknown_sensor' | 'too_old' | 'too_new';

export interface IngestDeps {
  /** The device registry (AccessClient.devicesById). */
  devices(ids: Iterable<string>): Promise<Map<string, DeviceInfo | null>>;
  /** Alarm rules by parameter; a reload reads through the batch's transaction. */
  rules(via: EntityManager): Promise<ReadonlyMap<string, AlarmRule[]>>;
  /** Whether a reading's timestamp has a partition to go to. */
  accepts(ts: number): 'ok' | 'too_old' | 'too_new';
  metrics?: IngestMetrics;
}

export interface IngestMetrics {
  stored: Counter;
  duplicates: Counter;
  dropped: Counter<'reason'>;
  raised: Counter<'severity'>;
  cleared: Counter<'severity'>;
}

export interface IngestResult {
  stored: number;
  duplicates: number;
  dropped: Partial<Record<DropReason, number>>;
  created: string[];
  cleared: string[];
}

interface Row {
  deviceId: string;
  groupId: string;
  sensorId: string;
  parameter: string;
  ts: number;
  value: number;
  eventId: string;
}

interface KeyWork {
  rule: AlarmRule;
  row: Row;
  readings: Reading[];
  state: OpenState;
}

/** A PostgreSQL array literal of values that need no quoting (uuids, ISO timestamps, finite numbers). */
const literal = (values: (string | number)[]) => `{${values.join(',')}}`;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One batch of `adapter.measure_received`, in the consumer's transaction:
 * 1. the registry (cached) names each reading's sensor; an unknown device or sensor, or a timestamp with no
 *    partition, is dropped and counted (one log line per batch and reason);
 * 2. one statement stores the readings (`INSERT … SELECT FROM unnest … ON CONFLICT DO NOTHING`: a duplicate is
 *    stored once) and reads, locked, the open alarms and pending conditions of the batch's watched sensors, with the
 *    newly stored readings that matter to them;
 * 3. the lifecycle (domain/alarm-rules.ts) decides in memory, per (sensor, alarm type), on the new readings only;
 * 4. at most two statements write the outcome — updates/clears of active alarms and the pending conditions, then the
 *    new alarms as an upsert on the one-active-alarm index — and their events go to the outbox in this transaction.
 */
export async function ingestBatch(deps: IngestDeps, events: EventOf<'adapter.measure_received'>[], ctx: TxContext): Promise<IngestResult> {
  const result: IngestResult = { stored: 0, duplicates: 0, dropped: {}, created: [], cleared: [] };
  const drop = (reason: DropReason, n: number, sample: Record<string, unknown>) => {
    result.dropped[reason] = (result.dropped[reason] ?? 0) + n;
    if (!samples.has(reason)) samples.set(reason, sample);
  };
  const samples = new Map<DropReason, Record<string, unknown>>();

  const [devices, rulesByParameter] = await Promise.all([deps.devices(new Set(events.map((e) => e.payload.deviceId))), deps.rules(ctx.manager)]);
  const rows: Row[] = [];
  const seen = new Set<string>();
  for (const e of events) {
    const { deviceId, values } = e.payload;
    const info = devices.get(deviceId);
    const parameters = Object.keys(values);
    if (!info) {
      drop('unknown_device', parameters.length, { deviceId, eventId: e.id });
      continue;
    }
    const ts = Date.parse(e.payload.ts);
    const window = deps.accepts(ts);
    if (window !== 'ok') {
      drop(window, parameters.length, { deviceId, ts: e.payload.ts, eventId: e.id });
      continue;
    }
    for (const parameter of parameters) {
      const sensorId = info.sensorsByParameter.get(parameter);
      if (!sensorId) {
        drop('unknown_sensor', 1, { deviceId, parameter, eventId: e.id });
        continue;
      }
      const key = `${sensorId}|${ts}`;
      if (seen.has(key)) {
        result.duplicates++;
        continue;
      }
      seen.add(key);
      rows.push({ deviceId, groupId: info.groupId, sensorId, parameter, ts, value: values[parameter]!, eventId: e.id });
    }
  }
  for (const [reason, sample] of samples) {
    ctx.logger.warn({ reason, count: result.dropped[reason], sample }, 'telemetry readings dropped');
    deps.metrics?.dropped.inc({ reason }, result.dropped[reason]);
  }
  if (rows.length === 0) {
    deps.metrics?.duplicates.inc(result.duplicates);
    return result;
  }

  // Lock order: every writer takes rows in (sensor, ts) order, so two batches sharing sensors cannot deadlock.
  rows.sort((a, b) => (a.sensorId < b.sensorId ? -1 : a.sensorId > b.sensorId ? 1 : a.ts - b.ts));

  // The (sensor, rule) pairs the batch touches; "hot" sensors have a reading in some rule's range.
  const work = new Map<string, KeyWork>();
  const watched = new Set<string>();
  const hot = new Set<string>();
  for (const row of rows) {
    for (const rule of rulesByParameter.get(row.parameter) ?? []) {
      if (!applies(rule, row.parameter, row.groupId)) continue;
      watched.add(row.sensorId);
      if (row.value >= rule.lower && row.value <= rule.upper) hot.add(row.sensorId);
      const key = `${row.sensorId}|${rule.id}`;
      if (!work.has(key)) work.set(key, { rule, row, readings: [], state: null });
    }
  }

  const read = await ctx.manager.query<{ k: number; id: string | null; s: string | null; t: string | null; t0: number | null; t1: number | null; v0: number | null; v1: number | null; n: number | null }[]>(
    `WITH ins AS (
       INSERT INTO telemetry (sensor_id, ts, value)
       SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[])
       ON CONFLICT DO NOTHING
       RETURNING sensor_id, ts
     ), a AS (
       SELECT id, sensor_id, alarm_type_id, last_seen_at FROM alarms
        WHERE cleared_at IS NULL AND sensor_id = ANY($4::uuid[]) ORDER BY id FOR UPDATE
     ), p AS (
       SELECT sensor_id, alarm_type_id, since, first_value, last_value, last_seen_at, occurrences FROM alarm_pending
        WHERE sensor_id = ANY($4::uuid[]) ORDER BY sensor_id, alarm_type_id FOR UPDATE
     )
     SELECT 0 AS k, NULL AS id, sensor_id::text AS s, NULL AS t, (extract(epoch FROM ts) * 1000)::float8 AS t0,
            NULL::float8 AS t1, NULL::float8 AS v0, NULL::float8 AS v1, NULL::int AS n
       FROM ins WHERE sensor_id = ANY($5::uuid[]) OR sensor_id IN (SELECT sensor_id FROM a UNION ALL SELECT sensor_id FROM p)
     UNION ALL
     SELECT 1, id::text, sensor_id::text, alarm_type_id::text, (extract(epoch FROM last_seen_at) * 1000)::float8, NULL, NULL, NULL, NULL FROM a
     UNION ALL
     SELECT 2, NULL, sensor_id::text, alarm_type_id::text, (extract(epoch FROM since) * 1000)::float8,
            (extract(epoch FROM last_seen_at) * 1000)::float8, first_value, last_value, occurrences FROM p
     UNION ALL
     SELECT 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*)::int FROM ins`,
    [
      literal(rows.map((r) => r.sensorId)),
      literal(rows.map((r) => iso(r.ts))),
      literal(rows.map((r) => r.value)),
      literal([...watched]),
      literal([...hot]),
    ],
  );

  const fresh = new Set<string>();
  for (const r of read) {
    if (r.k === 0) fresh.add(`${r.s}|${r.t0}`);
    else if (r.k === 1) {
      const w = work.get(`${r.s}|${r.t}`);
      if (w) w.state = { kind: 'active', id: r.id!, lastSeenAt: r.t0! };
    } else if (r.k === 2) {
      const w = work.get(`${r.s}|${r.t}`);
      if (w) w.state = { kind: 'pending', since: r.t0!, lastSeenAt: r.t1!, firstValue: r.v0!, lastValue: r.v1!, occurrences: r.n! };
    } else result.stored = r.n ?? 0;
  }
  result.duplicates += rows.length - result.stored;
  deps.metrics?.stored.inc(result.stored);
  deps.metrics?.duplicates.inc(result.duplicates);
  if (fresh.size === 0 && ![...work.values()].some((w) => w.state)) return result;

  // Newly stored readings per sensor, in time order (rows are sorted).
  const readingsOf = new Map<string, Reading[]>();
  for (const row of rows) {
    if (!fresh.has(`${row.sensorId}|${row.ts}`)) continue;
    let list = readingsOf.get(row.sensorId);
    if (!list) readingsOf.set(row.sensorId, (list = []));
    list.push({ ts: row.ts, value: row.value, eventId: row.eventId });
  }
  const outcomes: { w: KeyWork; o: Outcome }[] = [];
  for (const w of work.values()) {
    const readings = readingsOf.get(w.row.sensorId);
    if (!readings) continue;
    const o = evaluate(w.rule, w.state, readings);
    if (o.active || o.raised.length || o.pending) outcomes.push({ w, o });
  }
  if (outcomes.length === 0) return result;
  await writeOutcomes(outcomes, ctx, result, deps.metrics);
  return result;
}

interface AlarmEventRow {
  id: string;
  alarm_type_id: string;
  name: string;
  severity: 'CRITICAL' | 'MAJOR' | 'MINOR' | 'WARNING';
  parameter: string;
  device_id: string;
  sensor_id: string;
  first_value: number;
  last_value: number;
  occurrences: number;
  raised_at: Date;
  cleared_at: Date | null;
  created?: boolean;
}

/** The batch's alarm events, emitted in the order of the readings that caused them (a clear before a later raise). */
class Announcements {
  private readonly list: { at: number; n: number; event: OutgoingEvent<'alarm.alarm_created'> | OutgoingEvent<'alarm.alarm_cleared'> }[] = [];

  add(at: number, event: OutgoingEvent<'alarm.alarm_created'> | OutgoingEvent<'alarm.alarm_cleared'>): void {
    this.list.push({ at, n: this.list.length, event });
  }

  emit(ctx: TxContext): void {
    // at one instant a clear comes first (the reading that ends one alarm may raise the next)
    const rank = (e: { event: { topic: string } }) => (e.event.topic === 'alarm.alarm_cleared' ? 0 : 1);
    this.list.sort((a, b) => a.at - b.at || rank(a) - rank(b) || a.n - b.n);
    for (const { event } of this.list) ctx.emit(event);
  }
}

async function writeOutcomes(outcomes: { w: KeyWork; o: Outcome }[], ctx: TxContext, result: IngestResult, metrics?: IngestMetrics): Promise<void> {
  const out = new Announcements();
  await writeAll(outcomes, ctx, out, result, metrics);
  out.emit(ctx);
}

async function writeAll(outcomes: { w: KeyWork; o: Outcome }[], ctx: TxContext, out: Announcements, result: IngestResult, metrics?: IngestMetrics): Promise<void> {
  const causeOf = new Map<string, string>();

  // 1. the alarms active before this batch (locked by the read), and the pending conditions
  const upd = { id: [] as string[], n: [] as number[], last: [] as (number | null)[], seen: [] as string[], cleared: [] as (string | null)[] };
  const pendingDelete = { s: [] as string[], t: [] as string[] };
  const pendingOf = () => ({ s: [] as string[], t: [] as string[], d: [] as string[], since: [] as string[], first: [] as number[], last: [] as number[], seen: [] as string[], n: [] as number[] });
  // a replaced condition is a row the read locked: a plain update; a new or continued one adds up (a concurrent
  // writer's row absorbs ours)
  const pendingUpsert = pendingOf();
  const pendingReplace = pendingOf();
  for (const { w, o } of outcomes) {
    if (o.active) {
      upd.id.push(o.active.id);
      upd.n.push(o.active.occurrences);
      upd.last.push(o.active.lastValue);
      upd.seen.push(iso(o.active.lastSeenAt));
      upd.cleared.push(o.active.cleared ? iso(o.active.cleared.at) : null);
      if (o.active.cleared) causeOf.set(`cleared:${o.active.id}`, o.active.cleared.eventId);
    }
    if (o.pending === 'delete') {
      pendingDelete.s.push(w.row.sensorId);
      pendingDelete.t.push(w.rule.id);
    } else if (o.pending) {
      const p = o.pending.upsert;
      const into = o.pending.replace ? pendingReplace : pendingUpsert;
      into.s.push(w.row.sensorId);
      into.t.push(w.rule.id);
      into.d.push(w.row.deviceId);
      into.since.push(iso(p.since));
      into.first.push(p.firstValue);
      into.last.push(p.lastValue);
      into.seen.push(iso(p.lastSeenAt));
      into.n.push(p.occurrences);
    }
  }
  if (upd.id.length || pendingDelete.s.length || pendingUpsert.s.length || pendingReplace.s.length) {
    const updated = (await ctx.manager.query<AlarmEventRow[]>(
      `WITH upd AS (
         UPDATE alarms a
            SET occurrences = a.occurrences + u.n,
                last_value = COALESCE(u.last_value, a.last_value),
                last_seen_at = GREATEST(a.last_seen_at, u.last_seen_at),
                cleared_at = u.cleared_at
           FROM unnest($1::uuid[], $2::int[], $3::float8[], $4::timestamptz[], $5::timestamptz[]) AS u(id, n, last_value, last_seen_at, cleared_at)
          WHERE a.id = u.id AND a.cleared_at IS NULL
         RETURNING a.*
       ), del AS (
         DELETE FROM alarm_pending ap USING unnest($6::uuid[], $7::uuid[]) AS x(sensor_id, alarm_type_id)
          WHERE ap.sensor_id = x.sensor_id AND ap.alarm_type_id = x.alarm_type_id
       ), rep AS (
         UPDATE alarm_pending ap
            SET since = x.since, first_value = x.first, last_value = x.last, last_seen_at = x.seen, occurrences = x.n
           FROM unnest($8::uuid[], $9::uuid[], $10::timestamptz[], $11::float8[], $12::float8[], $13::timestamptz[], $14::int[])
             AS x(s, t, since, first, last, seen, n)
          WHERE ap.sensor_id = x.s AND ap.alarm_type_id = x.t
       ), ups AS (
         INSERT INTO alarm_pending (sensor_id, alarm_type_id, device_id, since, first_value, last_value, last_seen_at, occurrences)
         SELECT * FROM unnest($15::uuid[], $16::uuid[], $17::uuid[], $18::timestamptz[], $19::float8[], $20::float8[], $21::timestamptz[], $22::int[])
         ON CONFLICT (sensor_id, alarm_type_id) DO UPDATE SET
           since = LEAST(alarm_pending.since, EXCLUDED.since),
           first_value = CASE WHEN EXCLUDED.since < alarm_pending.since THEN EXCLUDED.first_value ELSE alarm_pending.first_value END,
           last_value = CASE WHEN EXCLUDED.last_seen_at >= alarm_pending.last_seen_at THEN EXCLUDED.last_value ELSE alarm_pending.last_value END,
           last_seen_at = GREATEST(alarm_pending.last_seen_at, EXCLUDED.last_seen_at),
           occurrences = alarm_pending.occurrences + EXCLUDED.occurrences
       )
       SELECT id::text, alarm_type_id::text, name, severity, parameter, device_id::text, sensor_id::text, first_value, last_value,
              occurrences, raised_at, cleared_at
         FROM upd WHERE cleared_at IS NOT NULL`,
      [
        upd.id, upd.n, upd.last, upd.seen, upd.cleared,
        pendingDelete.s, pendingDelete.t,
        pendingReplace.s, pendingReplace.t, pendingReplace.since, pendingReplace.first, pendingReplace.last, pendingReplace.seen, pendingReplace.n,
        pendingUpsert.s, pendingUpsert.t, pendingUpsert.d, pendingUpsert.since, pendingUpsert.first, pendingUpsert.last, pendingUpsert.seen, pendingUpsert.n,
      ],
    ));
    for (const row of updated) emitCleared(out, row, causeOf.get(`cleared:${row.id}`) ?? null, result, metrics);
  }

  // 2. new alarms: an upsert on the one-active-alarm index, so a concurrent raiser's row absorbs ours
  const ins = {
    id: [] as string[], type: [] as string[], name: [] as string[], severity: [] as string[], parameter: [] as string[], device: [] as string[], sensor: [] as string[],
    first: [] as number[], last: [] as number[], n: [] as number[], raised: [] as string[], seen: [] as string[], cleared: [] as (string | null)[],
  };
  const causes = new Map<string, { raised: string; cleared?: string }>();
  for (const { w, o } of outcomes) {
    for (const r of o.raised) {
      const id = randomUUID();
      ins.id.push(id);
      ins.type.push(w.rule.id);
      ins.name.push(w.rule.name);
      ins.severity.push(w.rule.severity);
      ins.parameter.push(w.row.parameter);
      ins.device.push(w.row.deviceId);
      ins.sensor.push(w.row.sensorId);
      ins.first.push(r.firstValue);
      ins.last.push(r.lastValue);
      ins.n.push(r.occurrences);
      ins.raised.push(iso(r.raisedAt));
      ins.seen.push(iso(r.lastSeenAt));
      ins.cleared.push(r.cleared ? iso(r.cleared.at) : null);
      causes.set(id, { raised: r.eventId, ...(r.cleared ? { cleared: r.cleared.eventId } : {}) });
    }
  }
  if (ins.id.length === 0) return;
  const inserted = (await ctx.manager.query<AlarmEventRow[]>(
    `INSERT INTO alarms (id, alarm_type_id, name, severity, parameter, device_id, sensor_id, first_value, last_value, occurrences, raised_at, last_seen_at, cleared_at)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::uuid[], $8::float8[], $9::float8[], $10::int[],
                          $11::timestamptz[], $12::timestamptz[], $13::timestamptz[])
     ON CONFLICT (device_id, sensor_id, alarm_type_id) WHERE cleared_at IS NULL DO UPDATE SET
       occurrences = alarms.occurrences + EXCLUDED.occurrences,
       last_value = CASE WHEN EXCLUDED.last_seen_at >= alarms.last_seen_at THEN EXCLUDED.last_value ELSE alarms.last_value END,
       last_seen_at = GREATEST(alarms.last_seen_at, EXCLUDED.last_seen_at)
     RETURNING id::text, alarm_type_id::text, name, severity, parameter, device_id::text, sensor_id::text, first_value, last_value,
               occurrences, raised_at, cleared_at, (xmax = 0) AS created`,
    [ins.id, ins.type, ins.name, ins.severity, ins.parameter, ins.device, ins.sensor, ins.first, ins.last, ins.n, ins.raised, ins.seen, ins.cleared],
  ));
  for (const row of inserted) {
    // merged into an alarm another transaction raised meanwhile: that one announced it
    if (!row.created) continue;
    const cause = causes.get(row.id);
    out.add(new Date(row.raised_at).getTime(), {
      topic: 'alarm.alarm_created',
      key: row.device_id,
      correlationId: row.id,
      causationId: cause?.raised ?? null,
      payload: {
        alarmId: row.id,
        alarmTypeId: row.alarm_type_id,
        name: row.name,
        severity: row.severity,
        deviceId: row.device_id,
        sensorId: row.sensor_id,
        parameter: row.parameter,
        value: row.first_value,
        raisedAt: new Date(row.raised_at).toISOString(),
      },
    });
    result.created.push(row.id);
    metrics?.raised.inc({ severity: row.severity });
    if (row.cleared_at) emitCleared(out, row, cause?.cleared ?? null, result, metrics);
  }
}

function emitCleared(out: Announcements, row: AlarmEventRow, causationId: string | null, result: IngestResult, metrics?: IngestMetrics): void {
  out.add(new Date(row.cleared_at!).getTime(), {
    topic: 'alarm.alarm_cleared',
    key: row.device_id,
    correlationId: row.id,
    causationId,
    payload: {
      alarmId: row.id,
      alarmTypeId: row.alarm_type_id,
      name: row.name,
      severity: row.severity,
      deviceId: row.device_id,
      sensorId: row.sensor_id,
      parameter: row.parameter,
      value: row.last_value,
      occurrences: row.occurrences,
      clearedAt: new Date(row.cleared_at!).toISOString(),
      clearedBy: null,
    },
  });
  result.cleared.push(row.id);
  metrics?.cleared.inc({ severity: row.severity });
}
