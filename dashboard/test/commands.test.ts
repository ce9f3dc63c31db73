import type { CommandViewDto } from '@devicesaga/contracts';
import { checkCommand, mergeCommand, timelineOf } from '../src/lib/commands';

const bounds = { min: 0, max: 100, value: 30 };

describe('the command form checks a value against the parameter bounds before sending', () => {
  it('a set inside [min, max] is sent as typed', () => {
    expect(checkCommand('set', ' 34.4 ', bounds)).toEqual({ ok: true, action: 'set', value: 34.4, target: 34.4 });
    expect(checkCommand('set', '0', bounds)).toMatchObject({ ok: true, value: 0 });
    expect(checkCommand('set', '100', bounds)).toMatchObject({ ok: true, value: 100 });
  });

  it('a set outside the bounds, an empty or a non-numeric value is refused with a sentence', () => {
    expect(checkCommand('set', '150', bounds)).toEqual({ ok: false, error: '150 is outside the allowed range 0 … 100.' });
    expect(checkCommand('set', '-0.1', bounds)).toMatchObject({ ok: false });
    expect(checkCommand('set', '', bounds)).toEqual({ ok: false, error: 'Enter a value.' });
    expect(checkCommand('set', 'warm', bounds)).toEqual({ ok: false, error: '“warm” is not a number.' });
    expect(checkCommand('set', 'Infinity', bounds)).toMatchObject({ ok: false });
  });

  it('an add checks where the value would end, and sends the current value as expectedValue', () => {
    expect(checkCommand('add', '2.5', bounds)).toEqual({ ok: true, action: 'add', value: 2.5, target: 32.5, expectedValue: 30 });
    expect(checkCommand('add', '0.1', { min: 0, max: 0.3, value: 0.2 })).toMatchObject({ ok: true, target: 0.3 });
    expect(checkCommand('add', '71', bounds)).toEqual({ ok: false, error: '30 + 71 = 101 is outside the allowed range 0 … 100.' });
    expect(checkCommand('add', '-31', bounds)).toMatchObject({ ok: false });
    expect(checkCommand('add', '1', { ...bounds, value: null })).toMatchObject({ ok: false });
  });
});

const base: CommandViewDto = {
  id: '6f1c3a52-5b8a-4a39-9d55-0d6b1f3f2a11',
  version: 1,
  status: 'PENDING',
  deviceId: 'd',
  sensorId: 's',
  action: 'set',
  value: 34.4,
  ttlSeconds: 60,
  expiresAt: '2026-12-02T10:01:00.000Z',
  createdAt: '2026-12-02T10:00:00.000Z',
  updatedAt: '2026-12-02T10:00:00.000Z',
};
const at = (ms: number) => new Date(Date.parse(base.createdAt) + ms).toISOString();

describe("a command's saga as a timeline", () => {
  it('a fresh command is PENDING, with APPROVED and SUCCEEDED still to come', () => {
    expect(timelineOf(base).map((s) => [s.status, s.state])).toEqual([
      ['PENDING', 'current'],
      ['APPROVED', 'todo'],
      ['SUCCEEDED', 'todo'],
    ]);
  });

  it('a command that succeeded shows each step done, with its time', () => {
    const c = { ...base, status: 'SUCCEEDED' as const, version: 3, history: [{ status: 'PENDING' as const, at: at(0) }, { status: 'APPROVED' as const, at: at(5) }, { status: 'SUCCEEDED' as const, at: at(20) }] };
    expect(timelineOf(c)).toEqual([
      { status: 'PENDING', state: 'done', at: at(0) },
      { status: 'APPROVED', state: 'done', at: at(5) },
      { status: 'SUCCEEDED', state: 'done', at: at(20) },
    ]);
  });

  it('a rejected command ends at REJECTED with its reason', () => {
    const c = { ...base, status: 'REJECTED' as const, reason: 'OUT_OF_RANGE', history: [{ status: 'PENDING' as const, at: at(0) }, { status: 'REJECTED' as const, at: at(3), reason: 'OUT_OF_RANGE' }] };
    expect(timelineOf(c)).toEqual([
      { status: 'PENDING', state: 'done', at: at(0) },
      { status: 'REJECTED', state: 'failed', at: at(3), reason: 'OUT_OF_RANGE' },
    ]);
  });

  it('a refused command goes APPROVED → FAILED → COMPENSATED', () => {
    const failed = { ...base, status: 'FAILED' as const, reason: 'REFUSED', history: [{ status: 'PENDING' as const, at: at(0) }, { status: 'APPROVED' as const, at: at(4) }, { status: 'FAILED' as const, at: at(30), reason: 'REFUSED' }] };
    expect(timelineOf(failed).map((s) => [s.status, s.state])).toEqual([
      ['PENDING', 'done'],
      ['APPROVED', 'done'],
      ['FAILED', 'failed'],
      ['COMPENSATED', 'todo'],
    ]);
    const compensated = { ...failed, status: 'COMPENSATED' as const, history: [...failed.history, { status: 'COMPENSATED' as const, at: at(40), reason: 'REFUSED' }] };
    expect(timelineOf(compensated).map((s) => s.state)).toEqual(['done', 'done', 'failed', 'failed']);
  });
});

describe('what the dashboard learns of a command is merged, never lost', () => {
  it('frames without history add the steps they show, in order, and keep the newest version', () => {
    let c = mergeCommand(undefined, base);
    c = mergeCommand(c, { ...base, version: 3, status: 'SUCCEEDED', updatedAt: at(20) });
    c = mergeCommand(c, { ...base, version: 2, status: 'APPROVED', updatedAt: at(5) }); // late and out of order
    expect(c.status).toBe('SUCCEEDED');
    expect(c.version).toBe(3);
    expect(c.history?.map((h) => h.status)).toEqual(['PENDING', 'APPROVED', 'SUCCEEDED']);
  });

  it('a full history from the API replaces guesses with the recorded times', () => {
    const seen = mergeCommand(undefined, { ...base, version: 2, status: 'APPROVED', updatedAt: at(6) });
    const full = mergeCommand(seen, { ...base, version: 2, status: 'APPROVED', updatedAt: at(6), history: [{ status: 'PENDING', at: at(0) }, { status: 'APPROVED', at: at(5) }] });
    expect(full.history).toEqual([
      { status: 'PENDING', at: at(0) },
      { status: 'APPROVED', at: at(5) },
    ]);
  });
});
