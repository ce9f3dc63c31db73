import { randomUUID } from 'node:crypto';
import { catalog, deviceTelemetryMessage } from '@devicesaga/contracts';
import { outcomeEvent, outcomeOfReply, timerOutcome } from '../src/domain/outcome';
import { parseReply, parseStatus, parseTelemetry, parseTopic } from '../src/domain/protocol';

const at = (ms: number) => new Date(1_700_000_000_000 + ms);

describe('reply → outcome', () => {
  it('an accepted reply is SENT with the device value', () => {
    expect(outcomeOfReply({ commandId: randomUUID(), status: 'accepted', value: 21.5 })).toEqual({ state: 'SENT', deviceValue: 21.5 });
  });
  it('a refused reply is REFUSED with the device reason (or a default)', () => {
    expect(outcomeOfReply({ commandId: randomUUID(), status: 'refused', reason: 'above hardware limit 70' })).toMatchObject({ reason: 'REFUSED', message: 'above hardware limit 70' });
    expect(outcomeOfReply({ commandId: randomUUID(), status: 'refused' })).toMatchObject({ reason: 'REFUSED', message: 'refused by the device' });
  });
  it('builds the saga event keyed by device, correlated by command', () => {
    const cmd = { commandId: randomUUID(), userId: 'u', deviceId: 'd', sensorId: 's', value: 3, causationId: 'c' };
    expect(outcomeEvent(cmd, { state: 'SENT' })).toEqual({
      topic: 'adapter.value_set_sent', key: 'd', correlationId: cmd.commandId, causationId: 'c',
      payload: { commandId: cmd.commandId, userId: 'u', deviceId: 'd', sensorId: 's', value: 3 },
    });
    expect(outcomeEvent(cmd, { state: 'TIMEOUT', reason: 'TIMEOUT', message: 'm' }).topic).toBe('adapter.value_set_error');
  });
});

describe('timer decisions', () => {
  it('nothing before the reply deadline and the TTL', () => {
    expect(timerOutcome({ expiresAt: at(10_000), replyDeadline: at(5000) }, at(4999))).toBeUndefined();
  });
  it('an online device that does not reply in time → TIMEOUT', () => {
    expect(timerOutcome({ expiresAt: at(10_000), replyDeadline: at(5000) }, at(5000))).toMatchObject({ reason: 'TIMEOUT' });
  });
  it('an offline device (no reply deadline) past the TTL → EXPIRED', () => {
    expect(timerOutcome({ expiresAt: at(10_000), replyDeadline: null }, at(9999))).toBeUndefined();
    expect(timerOutcome({ expiresAt: at(10_000), replyDeadline: null }, at(10_000))).toMatchObject({ reason: 'EXPIRED' });
  });
  it('when both passed, the earlier one wins', () => {
    expect(timerOutcome({ expiresAt: at(3000), replyDeadline: at(5000) }, at(6000))).toMatchObject({ reason: 'EXPIRED' });
    expect(timerOutcome({ expiresAt: at(6000), replyDeadline: at(5000) }, at(7000))).toMatchObject({ reason: 'TIMEOUT' });
  });
});

describe('device protocol parsing', () => {
  it('garbage replies are rejected with a reason', () => {
    expect(parseReply(Buffer.from('nope')).ok).toBe(false);
    expect(parseReply(Buffer.from(JSON.stringify({ commandId: 'x', status: 'accepted' }))).ok).toBe(false);
    expect(parseReply(Buffer.from(JSON.stringify({ commandId: randomUUID(), status: 'maybe' }))).ok).toBe(false);
  });
  it('telemetry: one object or an array; ts optional (receipt time), ISO or epoch ms', () => {
    const now = at(0);
    expect(parseTelemetry(Buffer.from('{"values":{"temperature":21.5}}'), now)).toEqual({ ok: true, value: [{ ts: now.toISOString(), values: { temperature: 21.5 } }] });
    const r = parseTelemetry(Buffer.from(JSON.stringify([{ ts: 1_700_000_000_000, values: { a: 1 } }, { ts: '2026-01-01T00:00:00Z', values: { b: 2 } }, { values: {} }])), now);
    expect(r).toEqual({ ok: true, value: [{ ts: at(0).toISOString(), values: { a: 1 } }, { ts: '2026-01-01T00:00:00.000Z', values: { b: 2 } }] });
    expect(parseTelemetry(Buffer.from('{"values":{"t":"hot"}}'), now).ok).toBe(false);
  });
  it('status and topics', () => {
    expect(parseStatus(Buffer.from('online'))).toEqual({ ok: true, value: true });
    expect(parseStatus(Buffer.from(''))).toEqual({ ok: true, value: false });
    expect(parseStatus(Buffer.from('sleepy')).ok).toBe(false);
    expect(parseTopic('devices/d-1/replies')).toEqual({ deviceId: 'd-1', kind: 'replies' });
    expect(parseTopic('devices/a/b/replies')).toBeUndefined();
  });
});

describe('telemetry parsing is exactly the contract (the hand-checked usual shape and zod agree)', () => {
  const now = at(0);
  const inputs: unknown[] = [
    { values: { temperature: 21.5 } },
    { ts: 1_700_000_000_123, values: { temperature: 21.5, enabled: 1 } },
    [{ ts: 1_700_000_000_000, values: { a: 1 } }, { values: { b: -2.5 } }, { values: {} }],
    { ts: '2026-01-01T00:00:00Z', values: { t: 1 } },
    { ts: 1_700_000_000_000, values: { t: 1 }, extra: 'ignored' },
    { ts: 0, values: { t: 1 } },
    { ts: -5, values: { t: 1 } },
    { ts: 1.5, values: { t: 1 } },
    { ts: 9_000_000_000_000_000, values: { t: 1 } },
    { ts: 253_402_300_800_000, values: { t: 1 } },
    { values: { t: 'hot' } },
    { values: { t: null } },
    { values: { ['x'.repeat(65)]: 1 } },
    { values: { '': 1 } },
    { values: [1, 2] },
    { values: null },
    {},
    [],
    Array.from({ length: 1001 }, () => ({ values: { t: 1 } })),
    'a string',
    42,
    null,
  ];
  it.each(inputs.map((input, i) => [i, input]))('input %i: accepted exactly when the schema accepts it, as a valid event payload', (_i, input) => {
    const parsed = parseTelemetry(Buffer.from(JSON.stringify(input)), now);
    const contract = deviceTelemetryMessage.safeParse(input);
    if (!contract.success) {
      expect(parsed.ok).toBe(false);
      return;
    }
    if (!parsed.ok) {
      // the schema accepts it, but its timestamp has no ISO-8601 form an event could carry
      expect(parsed.error).toBe('ts: invalid date');
      return;
    }
    for (const m of parsed.value) {
      expect(catalog['adapter.measure_received'].payload.safeParse({ deviceId: 'd-1', ...m }).success).toBe(true);
    }
    const items = Array.isArray(contract.data) ? contract.data : [contract.data];
    expect(parsed.value).toEqual(
      items.filter((item) => Object.keys(item.values).length > 0).map((item) => ({ ts: (item.ts === undefined ? now : new Date(item.ts)).toISOString(), values: item.values })),
    );
  });
});
