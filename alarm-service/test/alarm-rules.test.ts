import { evaluate, type AlarmRule, type Reading } from '../src/domain/alarm-rules';
import { bucketMs, bucketStart } from '../src/domain/buckets';

const high: AlarmRule = { id: 'high', name: 'High temperature', parameter: 'temperature', lower: 40, upper: 50, severity: 'MAJOR', deviceGroupId: null, hysteresis: 1, minDurationMs: 0 };
const critical: AlarmRule = { ...high, id: 'critical', name: 'Critical temperature', lower: 50, upper: 100, severity: 'CRITICAL' };
const series = (values: number[], t0 = 1_000): Reading[] => values.map((value, i) => ({ ts: t0 + i * 1000, value, eventId: `e${i}` }));

describe('the alarm lifecycle (pure)', () => {
  it('a value crossing 40 raises High; crossing 50 raises Critical and clears High; back below 40 clears Critical', () => {
    const values = [20, 45, 47, 55, 60, 35];
    const h = evaluate(high, null, series(values));
    expect(h.raised).toHaveLength(1);
    expect(h.raised[0]).toMatchObject({ firstValue: 45, lastValue: 47, occurrences: 2, raisedAt: 2_000, cleared: { at: 4_000, eventId: 'e3' } });
    const c = evaluate(critical, null, series(values));
    expect(c.raised).toHaveLength(1);
    expect(c.raised[0]).toMatchObject({ firstValue: 55, lastValue: 60, occurrences: 2, raisedAt: 4_000, cleared: { at: 6_000, eventId: 'e5' } });
  });

  it('within the hysteresis an active alarm stays (and counts only readings in the range)', () => {
    const o = evaluate(high, { kind: 'active', id: 'a1', lastSeenAt: 0 }, series([45, 39.5, 50.8, 38.9]));
    expect(o.active).toEqual({ id: 'a1', occurrences: 1, lastValue: 50.8, lastSeenAt: 3_000, cleared: { at: 4_000, eventId: 'e3' } });
    expect(o.raised).toEqual([]);
  });

  it('cleared and raised again within one batch: the second alarm is new and stays active', () => {
    const o = evaluate(high, null, series([45, 30, 42]));
    expect(o.raised.map((r) => [r.firstValue, r.cleared?.at])).toEqual([
      [45, 2_000],
      [42, undefined],
    ]);
  });

  it('with a minimum duration the condition waits as pending and is raised only once it held long enough', () => {
    const slow = { ...high, minDurationMs: 2_500 };
    const first = evaluate(slow, null, series([45, 46]));
    expect(first.raised).toEqual([]);
    expect(first.pending).toEqual({ upsert: { since: 1_000, firstValue: 45, lastValue: 46, lastSeenAt: 2_000, occurrences: 2 }, replace: false });
    const stored = { kind: 'pending' as const, since: 1_000, firstValue: 45, lastValue: 46, lastSeenAt: 2_000, occurrences: 2 };
    const flap = evaluate(slow, stored, series([30], 3_000));
    expect(flap).toEqual({ raised: [], pending: 'delete' });
    const held = evaluate(slow, stored, series([47, 48], 3_000));
    expect(held.raised).toEqual([{ firstValue: 48, lastValue: 48, occurrences: 4, raisedAt: 4_000, lastSeenAt: 4_000, eventId: 'e1' }]);
    expect(held.pending).toBe('delete');
    const restarted = evaluate(slow, stored, series([30, 44], 3_000));
    expect(restarted.pending).toEqual({ upsert: { since: 4_000, firstValue: 44, lastValue: 44, lastSeenAt: 4_000, occurrences: 1 }, replace: true });
  });

  it('a late reading counts as an occurrence but neither clears nor moves the last value', () => {
    const o = evaluate(high, { kind: 'active', id: 'a1', lastSeenAt: 10_000 }, [
      { ts: 5_000, value: 45, eventId: 'late' },
      { ts: 6_000, value: 10, eventId: 'late-out' },
    ]);
    expect(o.active).toEqual({ id: 'a1', occurrences: 1, lastValue: null, lastSeenAt: 10_000 });
  });

  it('readings outside every range with nothing open change nothing', () => {
    expect(evaluate(high, null, series([10, 20, 30]))).toEqual({ raised: [] });
  });

  it('bucket sizes parse and align on the epoch', () => {
    expect(bucketMs('1m')).toBe(60_000);
    expect(bucketMs('15s')).toBe(15_000);
    expect(bucketMs('1d')).toBe(86_400_000);
    expect(bucketMs('0m')).toBeUndefined();
    expect(bucketMs('5 minutes')).toBeUndefined();
    expect(bucketStart(Date.UTC(2026, 0, 1, 10, 7, 30), 300_000)).toBe(Date.UTC(2026, 0, 1, 10, 5));
  });
});
