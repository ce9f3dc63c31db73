import { applyAction, decide, sagaDeadline, shouldRestore, type SensorView } from '../src/domain/command';

const now = new Date('2026-01-01T00:00:00Z');
const later = '2026-01-01T00:01:00Z';
const sensor: SensorView = { id: 's', deviceId: 'd', value: 20, min: 0, max: 100, locked: false, queued: 0 };
const cmd = { deviceId: 'd', sensorId: 's', action: 'set' as const, value: 30, expiresAt: later };
const opts = { mayAccess: true, now, maxQueue: 10 };

describe('command decision (saga step 1 rules)', () => {
  it('a valid set is approved with the previous value kept', () => {
    expect(decide(cmd, sensor, opts)).toEqual({ kind: 'approve', previousValue: 20, newValue: 30 });
  });
  it('an add adds to the current value', () => {
    expect(decide({ ...cmd, action: 'add', value: 5 }, sensor, opts)).toEqual({ kind: 'approve', previousValue: 20, newValue: 25 });
    expect(applyAction('add', null, 3)).toBe(3);
  });
  it('checks in order: sensor, access, expiry, lock, expected value, range', () => {
    expect(decide(cmd, null, { ...opts, mayAccess: false })).toMatchObject({ reason: 'SENSOR_NOT_FOUND' });
    expect(decide({ ...cmd, deviceId: 'other' }, sensor, opts)).toMatchObject({ reason: 'SENSOR_NOT_FOUND' });
    expect(decide({ ...cmd, expiresAt: '2025-01-01T00:00:00Z' }, sensor, { ...opts, mayAccess: false })).toMatchObject({ reason: 'FORBIDDEN' });
    expect(decide({ ...cmd, expiresAt: '2025-01-01T00:00:00Z', value: 1000 }, { ...sensor, locked: true }, opts)).toMatchObject({ reason: 'EXPIRED' });
    expect(decide({ ...cmd, value: 1000 }, { ...sensor, locked: true }, opts)).toEqual({ kind: 'queue' });
    expect(decide({ ...cmd, action: 'add', value: 1000, expectedValue: 19 }, sensor, opts)).toMatchObject({ reason: 'EXPECTED_VALUE_MISMATCH' });
    expect(decide({ ...cmd, value: 100.5 }, sensor, opts)).toMatchObject({ reason: 'OUT_OF_RANGE' });
    expect(decide({ ...cmd, action: 'add', value: -21 }, sensor, opts)).toMatchObject({ reason: 'OUT_OF_RANGE' });
  });
  it('the range bounds are inclusive', () => {
    expect(decide({ ...cmd, value: 100 }, sensor, opts).kind).toBe('approve');
    expect(decide({ ...cmd, value: 0 }, sensor, opts).kind).toBe('approve');
  });
  it('a command queues behind a non-empty queue even when the lock is free (FIFO)', () => {
    expect(decide(cmd, { ...sensor, queued: 2 }, opts)).toEqual({ kind: 'queue' });
  });
  it('a full queue rejects with SENSOR_BUSY', () => {
    expect(decide(cmd, { ...sensor, locked: true, queued: 10 }, opts)).toMatchObject({ reason: 'SENSOR_BUSY' });
  });
  it('the dequeued head is validated against the value as it now is, ignoring the queue', () => {
    expect(decide({ ...cmd, action: 'add', value: 10 }, { ...sensor, value: 95, queued: 3 }, { ...opts, dequeued: true })).toMatchObject({ reason: 'OUT_OF_RANGE' });
    expect(decide({ ...cmd, action: 'add', value: 10 }, { ...sensor, value: 50, queued: 3 }, { ...opts, dequeued: true })).toEqual({
      kind: 'approve',
      previousValue: 50,
      newValue: 60,
    });
  });
  it('compensation restores only when the applied value is still there', () => {
    expect(shouldRestore({ appliedValue: 30 }, 30)).toBe(true);
    expect(shouldRestore({ appliedValue: 30 }, 31)).toBe(false);
    expect(shouldRestore({ appliedValue: 30 }, null)).toBe(false);
  });
  it('the saga deadline is the expiry plus the grace', () => {
    expect(sagaDeadline(later, 30_000).toISOString()).toBe('2026-01-01T00:01:30.000Z');
  });
});
