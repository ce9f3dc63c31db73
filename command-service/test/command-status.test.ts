import {
  applyStatusEvent,
  initialState,
  isTerminal,
  statusRank,
  type CommandState,
  type CommandStatus,
  type StatusEvent,
} from '../src/domain/command-status';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (n: number) => new Date(Date.parse(T0) + n * 1000).toISOString();

const approved: StatusEvent = { status: 'APPROVED', at: at(1) };
const rejected: StatusEvent = { status: 'REJECTED', at: at(1), reason: 'OUT_OF_RANGE' };
const succeeded: StatusEvent = { status: 'SUCCEEDED', at: at(2) };
const failed: StatusEvent = { status: 'FAILED', at: at(2), reason: 'REFUSED' };
const compensated: StatusEvent = { status: 'COMPENSATED', at: at(3), reason: 'REFUSED' };

function applyAll(events: StatusEvent[], start: CommandState = initialState(T0)): CommandState {
  return events.reduce((state, e) => applyStatusEvent(state, e)?.next ?? state, start);
}

const statuses = (s: CommandState) => s.history.map((h) => h.status);

/** Every permutation of a list (small lists only). */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('command status machine', () => {
  test('a new command is PENDING at version 1 with one history entry', () => {
    expect(initialState(T0)).toEqual({ status: 'PENDING', version: 1, reason: null, history: [{ status: 'PENDING', at: T0 }] });
  });

  test('the happy path goes PENDING → APPROVED → SUCCEEDED, one version per step', () => {
    const s = applyAll([approved, succeeded]);
    expect(s.status).toBe('SUCCEEDED');
    expect(s.version).toBe(3);
    expect(s.reason).toBeNull();
    expect(s.history).toEqual([
      { status: 'PENDING', at: T0 },
      { status: 'APPROVED', at: at(1) },
      { status: 'SUCCEEDED', at: at(2) },
    ]);
  });

  test('a rejection records its reason', () => {
    const s = applyAll([rejected]);
    expect(s).toMatchObject({ status: 'REJECTED', version: 2, reason: 'OUT_OF_RANGE' });
    expect(s.history[1]).toEqual({ status: 'REJECTED', at: at(1), reason: 'OUT_OF_RANGE' });
  });

  test('a refusal goes APPROVED → FAILED → COMPENSATED with the reasons', () => {
    const s = applyAll([approved, failed, { ...compensated, reason: 'REFUSED' }]);
    expect(statuses(s)).toEqual(['PENDING', 'APPROVED', 'FAILED', 'COMPENSATED']);
    expect(s).toMatchObject({ status: 'COMPENSATED', version: 4, reason: 'REFUSED' });
    expect(s.history[2]).toEqual({ status: 'FAILED', at: at(2), reason: 'REFUSED' });
  });

  test('SUCCEEDED arriving before APPROVED records the implied APPROVED', () => {
    const s = applyAll([succeeded]);
    expect(statuses(s)).toEqual(['PENDING', 'APPROVED', 'SUCCEEDED']);
    expect(s.version).toBe(3);
    expect(s.history[1]).toEqual({ status: 'APPROVED', at: at(2) });
  });

  test('COMPENSATED arriving while APPROVED records FAILED then COMPENSATED, both with its reason', () => {
    const t = applyStatusEvent(applyAll([approved]), { status: 'COMPENSATED', at: at(3), reason: 'DEADLINE_EXCEEDED' });
    expect(t?.added).toEqual([
      { status: 'FAILED', at: at(3), reason: 'DEADLINE_EXCEEDED' },
      { status: 'COMPENSATED', at: at(3), reason: 'DEADLINE_EXCEEDED' },
    ]);
    expect(t?.next).toMatchObject({ status: 'COMPENSATED', version: 4, reason: 'DEADLINE_EXCEEDED' });
  });

  test('COMPENSATED arriving first records APPROVED, FAILED and COMPENSATED', () => {
    expect(statuses(applyAll([compensated]))).toEqual(['PENDING', 'APPROVED', 'FAILED', 'COMPENSATED']);
  });

  test('a duplicate event changes nothing', () => {
    const s = applyAll([approved]);
    expect(applyStatusEvent(s, approved)).toBeNull();
    const done = applyAll([approved, succeeded]);
    expect(applyStatusEvent(done, succeeded)).toBeNull();
  });

  test('a late APPROVED never moves a command backwards', () => {
    for (const start of [[succeeded], [failed], [compensated], [rejected]]) {
      expect(applyStatusEvent(applyAll(start), approved)).toBeNull();
    }
  });

  test('equal-rank outcomes never replace each other: the first of SUCCEEDED, FAILED, REJECTED wins', () => {
    expect(applyStatusEvent(applyAll([succeeded]), failed)).toBeNull();
    expect(applyStatusEvent(applyAll([failed]), succeeded)).toBeNull();
    expect(applyStatusEvent(applyAll([rejected]), succeeded)).toBeNull();
    expect(applyStatusEvent(applyAll([rejected]), failed)).toBeNull();
    expect(applyStatusEvent(applyAll([approved]), rejected)).toBeNull();
  });

  test('a rejected command is never compensated', () => {
    expect(applyStatusEvent(applyAll([rejected]), compensated)).toBeNull();
  });

  test('a compensation after SUCCEEDED wins (device-service restored the value), whatever the order', () => {
    const a = applyAll([approved, succeeded, compensated]);
    const b = applyAll([compensated, succeeded, approved]);
    expect(a.status).toBe('COMPENSATED');
    expect(b.status).toBe('COMPENSATED');
    expect(statuses(a)).toEqual(['PENDING', 'APPROVED', 'SUCCEEDED', 'COMPENSATED']);
  });

  test('the failure path ends COMPENSATED with the same history in every arrival order', () => {
    for (const order of permutations([approved, failed, compensated])) {
      const s = applyAll(order);
      expect(s.status).toBe('COMPENSATED');
      expect(statuses(s)).toEqual(['PENDING', 'APPROVED', 'FAILED', 'COMPENSATED']);
      expect(s.version).toBe(s.history.length);
    }
  });

  test('the success path ends SUCCEEDED in every arrival order, duplicates included', () => {
    for (const order of permutations([approved, succeeded, approved, succeeded])) {
      const s = applyAll(order);
      expect(statuses(s)).toEqual(['PENDING', 'APPROVED', 'SUCCEEDED']);
      expect(s.version).toBe(3);
    }
  });

  test('every transition moves the rank strictly up and keeps version equal to history length', () => {
    const all: StatusEvent[] = [approved, rejected, succeeded, failed, compensated];
    const seen = new Set<CommandStatus>();
    const walk = (state: CommandState, depth: number) => {
      seen.add(state.status);
      expect(state.version).toBe(state.history.length);
      if (depth === 0) return;
      for (const e of all) {
        const t = applyStatusEvent(state, e);
        if (!t) continue;
        expect(statusRank[t.next.status]).toBeGreaterThan(statusRank[state.status]);
        expect(t.next.history.slice(0, state.history.length)).toEqual(state.history);
        walk(t.next, depth - 1);
      }
    };
    walk(initialState(T0), 4);
    expect([...seen].sort()).toEqual(['APPROVED', 'COMPENSATED', 'FAILED', 'PENDING', 'REJECTED', 'SUCCEEDED']);
  });

  test('a new reason replaces the old one, and a step without a reason clears it', () => {
    const stuck: CommandState = { ...applyAll([approved]), reason: 'STUCK' };
    expect(applyStatusEvent(stuck, succeeded)?.next.reason).toBeNull();
    expect(applyStatusEvent(stuck, failed)?.next.reason).toBe('REFUSED');
  });

  test('REJECTED, SUCCEEDED and COMPENSATED are terminal; FAILED is not', () => {
    expect((['PENDING', 'APPROVED', 'FAILED'] as const).map(isTerminal)).toEqual([false, false, false]);
    expect((['REJECTED', 'SUCCEEDED', 'COMPENSATED'] as const).map(isTerminal)).toEqual([true, true, true]);
  });
});
