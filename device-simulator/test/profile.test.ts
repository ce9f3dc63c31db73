import { randomUUID } from 'node:crypto';
import { DeviceState, profiles } from '../src/profile';
import type { CommandMessage } from '../src/protocol';

const demo = profiles.demo!;
const later = () => new Date(Date.now() + 60_000).toISOString();
const cmd = (over: Partial<CommandMessage> = {}): CommandMessage => ({
  commandId: randomUUID(),
  sensorId: 's1',
  parameter: 'temperature',
  action: 'set',
  value: 21.5,
  expiresAt: later(),
  ...over,
});

describe('device state (demo profile)', () => {
  it('accepts a temperature within limits and holds it as the setpoint', () => {
    const s = new DeviceState({ profile: demo, refusalRate: 0 });
    const d = s.handle(cmd({ value: 21.5 }));
    expect(d).toMatchObject({ kind: 'reply', reply: { status: 'accepted', value: 21.5 } });
    expect(s.setpoints.get('temperature')).toBe(21.5);
  });

  it('refuses a temperature above 70 with "above hardware limit 70" and keeps the old setpoint', () => {
    const s = new DeviceState({ profile: demo, refusalRate: 0 });
    const d = s.handle(cmd({ value: 74.4 }));
    expect(d).toMatchObject({ kind: 'reply', reply: { status: 'refused', reason: 'above hardware limit 70' } });
    expect(s.setpoints.get('temperature')).toBe(20);
  });

  it('accepts enabled 0 or 1 only', () => {
    const s = new DeviceState({ profile: demo, refusalRate: 0 });
    expect(s.handle(cmd({ parameter: 'enabled', value: 0 }))).toMatchObject({ reply: { status: 'accepted' } });
    expect(s.handle(cmd({ parameter: 'enabled', value: 2 }))).toMatchObject({ reply: { status: 'refused', reason: 'enabled must be 0 or 1' } });
  });

  it('adds to the current setpoint for action add, within the limits', () => {
    const s = new DeviceState({ profile: demo, refusalRate: 0 });
    expect(s.handle(cmd({ action: 'add', value: 5 }))).toMatchObject({ reply: { status: 'accepted', value: 25 } });
    expect(s.handle(cmd({ action: 'add', value: 50 }))).toMatchObject({ reply: { status: 'refused' } });
  });

  it('answers a commandId once and ignores an expired command', () => {
    const s = new DeviceState({ profile: demo, refusalRate: 0 });
    const c = cmd();
    expect(s.handle(c).kind).toBe('reply');
    expect(s.handle(c)).toEqual({ kind: 'ignored', why: 'duplicate' });
    expect(s.handle(cmd({ expiresAt: new Date(Date.now() - 1).toISOString() }))).toEqual({ kind: 'ignored', why: 'expired' });
  });

  it('refuses valid commands at the configured rate', () => {
    const s = new DeviceState({ profile: demo, refusalRate: 0.5, random: () => 0.1 });
    expect(s.handle(cmd())).toMatchObject({ reply: { status: 'refused', reason: 'simulated refusal' } });
  });

  it('reports the setpoint with small noise in telemetry', () => {
    const s = new DeviceState({ profile: demo, refusalRate: 0 });
    s.handle(cmd({ value: 21.5 }));
    const t = s.telemetry();
    expect(Math.abs((t.values.temperature ?? 0) - 21.5)).toBeLessThanOrEqual(0.2);
    expect(t.values.enabled).toBe(1);
  });
});
