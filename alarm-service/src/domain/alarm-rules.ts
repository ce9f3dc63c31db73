import type { AlarmSeverityName } from '@devicesaga/contracts';

/**
 * Alarm evaluation, pure: given an alarm type, the condition's state as stored (an active alarm, a pending condition
 * waiting for its minimum duration, or nothing) and the new readings of one sensor in time order, what changes.
 * The handler reads the states of a whole batch in one statement, calls this per (sensor, alarm type), and writes
 * the outcome in one or two set-based statements.
 */

export interface AlarmRule {
  id: string;
  name: string;
  parameter: string;
  /** The alarming range is [lower, upper]. */
  lower: number;
  upper: number;
  severity: AlarmSeverityName;
  /** Only devices of this group, or every device when null. */
  deviceGroupId: string | null;
  /** An active alarm clears once the value is below lower − hysteresis or above upper + hysteresis. */
  hysteresis: number;
  /** The value must stay in the range this long before the alarm is raised (flap suppression). */
  minDurationMs: number;
}

export interface Reading {
  /** epoch ms */
  ts: number;
  value: number;
  /** The event that carried it (causation of what it raises or clears). */
  eventId: string;
}

export interface PendingCondition {
  since: number;
  firstValue: number;
  lastValue: number;
  lastSeenAt: number;
  occurrences: number;
}

export type OpenState = { kind: 'active'; id: string; lastSeenAt: number } | ({ kind: 'pending' } & PendingCondition) | null;

export interface Cleared {
  at: number;
  /** The reading that took the value out of the range (beyond the hysteresis). */
  eventId: string;
}

/** A new alarm; `cleared` when it also ended within these readings. */
export interface Raised {
  firstValue: number;
  lastValue: number;
  occurrences: number;
  raisedAt: number;
  lastSeenAt: number;
  eventId: string;
  cleared?: Cleared;
}

export interface Outcome {
  /**
   * Changes to the alarm that was active before these readings: `occurrences` to add, the latest value seen while
   * active (null: none new), `cleared` when it ended.
   */
  active?: { id: string; occurrences: number; lastValue: number | null; lastSeenAt: number; cleared?: Cleared };
  /** New alarms in time order; all but the last are cleared. */
  raised: Raised[];
  /**
   * The pending condition afterwards. `upsert`: what to add to the stored one (occurrences added, the earliest `since`
   * with its first value, the latest value) — or, with `replace`, what replaces it (the stored condition ended in
   * these readings and a new one began). `delete`: it ended (raised, or the value left the range).
   */
  pending?: { upsert: PendingCondition; replace: boolean } | 'delete';
}

export const inRange = (rule: Pick<AlarmRule, 'lower' | 'upper'>, value: number) => value >= rule.lower && value <= rule.upper;

/** Out of the range by more than the hysteresis: an active alarm clears. */
export const clears = (rule: Pick<AlarmRule, 'lower' | 'upper' | 'hysteresis'>, value: number) =>
  value < rule.lower - rule.hysteresis || value > rule.upper + rule.hysteresis;

/** Whether a rule watches a sensor of this parameter on a device of this group. */
export const applies = (rule: AlarmRule, parameter: string, deviceGroupId: string) =>
  rule.parameter === parameter && (rule.deviceGroupId === null || rule.deviceGroupId === deviceGroupId);

interface Active {
  occurrences: number;
  lastValue: number | null;
  lastSeenAt: number;
  cleared?: Cleared;
}

/**
 * Runs the readings (in time order) through the lifecycle: nothing → [pending →] active → cleared → … While an alarm
 * is active, each reading in the range counts an occurrence; a reading beyond the hysteresis clears it. A reading not
 * newer than what the open condition has already seen (replayed, or handled late by another consumer) still counts as
 * an occurrence when in the range, but neither raises, clears nor changes the last value.
 */
export function evaluate(rule: AlarmRule, state: OpenState, readings: readonly Reading[]): Outcome {
  const outcome: Outcome = { raised: [] };
  let watermark = state ? state.lastSeenAt : Number.NEGATIVE_INFINITY;
  let current: Active | undefined;
  if (state?.kind === 'active') {
    outcome.active = { id: state.id, occurrences: 0, lastValue: null, lastSeenAt: state.lastSeenAt };
    current = outcome.active;
  }
  const stored = state?.kind === 'pending' ? state : undefined;
  /** The pending condition as it stands, and whether it is the stored one (then `delta` is what was added). */
  let pending: PendingCondition | undefined = stored && { since: stored.since, firstValue: stored.firstValue, lastValue: stored.lastValue, lastSeenAt: stored.lastSeenAt, occurrences: stored.occurrences };
  let pendingIsStored = stored !== undefined;
  let delta: PendingCondition | undefined;
  let storedEnded = false;
  let changed = false;

  for (const r of readings) {
    if (r.ts <= watermark) {
      // late (a store-and-forward replay, another partition's consumer): it counts, but moves nothing
      if (inRange(rule, r.value)) {
        if (current) current.occurrences++;
        else if (pending) {
          pending.occurrences++;
          delta ??= { since: pending.since, firstValue: pending.firstValue, lastValue: pending.lastValue, lastSeenAt: pending.lastSeenAt, occurrences: 0 };
          delta.occurrences++;
        }
      }
      continue;
    }
    watermark = r.ts;
    if (current) {
      if (clears(rule, r.value)) {
        current.cleared = { at: r.ts, eventId: r.eventId };
        current = undefined;
      } else {
        if (inRange(rule, r.value)) current.occurrences++;
        current.lastValue = r.value;
        current.lastSeenAt = r.ts;
      }
      continue;
    }
    if (!inRange(rule, r.value)) {
      if (pending) {
        if (pendingIsStored) storedEnded = true;
        pending = delta = undefined;
        pendingIsStored = false;
        changed = true;
      }
      continue;
    }
    changed = true;
    if (!pending) {
      pending = { since: r.ts, firstValue: r.value, lastValue: r.value, lastSeenAt: r.ts, occurrences: 1 };
      delta = { ...pending };
    } else {
      pending.occurrences++;
      pending.lastValue = r.value;
      pending.lastSeenAt = r.ts;
      delta ??= { since: pending.since, firstValue: pending.firstValue, lastValue: r.value, lastSeenAt: r.ts, occurrences: 0 };
      delta.occurrences++;
      delta.lastValue = r.value;
      delta.lastSeenAt = r.ts;
    }
    if (r.ts - pending.since >= rule.minDurationMs) {
      const raised: Raised = { firstValue: r.value, lastValue: r.value, occurrences: pending.occurrences, raisedAt: r.ts, lastSeenAt: r.ts, eventId: r.eventId };
      outcome.raised.push(raised);
      current = raised;
      if (pendingIsStored) storedEnded = true;
      pending = delta = undefined;
      pendingIsStored = false;
    }
  }

  if (outcome.active && outcome.active.occurrences === 0 && outcome.active.lastValue === null && !outcome.active.cleared) delete outcome.active;
  else if (outcome.active && outcome.active.lastValue === null) outcome.active.lastSeenAt = state?.lastSeenAt ?? outcome.active.lastSeenAt;
  if (pending && delta) outcome.pending = { upsert: delta, replace: storedEnded };
  // a raise also deletes a pending row another consumer may have written meanwhile (min duration > 0 only)
  else if (!pending && changed && (storedEnded || (rule.minDurationMs > 0 && outcome.raised.length > 0))) outcome.pending = 'delete';
  return outcome;
}
