import type { CommandStatusName, CommandViewDto } from '@devicesaga/contracts';

export const terminalStatuses: ReadonlySet<CommandStatusName> = new Set(['SUCCEEDED', 'REJECTED', 'COMPENSATED']);
export const isTerminal = (status: CommandStatusName): boolean => terminalStatuses.has(status);

export interface Bounds {
  min: number;
  max: number;
  /** The stored value, needed by `add` (the device-service checks it as `expectedValue`). */
  value: number | null;
}

export type CommandCheck =
  | { ok: true; action: 'set' | 'add'; value: number; target: number; expectedValue?: number }
  | { ok: false; error: string };

/**
 * What the command form checks before sending (device-service checks it again): a finite number, and the value the
 * sensor would end at — the value for `set`, current + value for `add` — inside the parameter's [min, max].
 */
export function checkCommand(action: 'set' | 'add', input: string, bounds: Bounds): CommandCheck {
  const text = input.trim();
  if (text === '') return { ok: false, error: 'Enter a value.' };
  const value = Number(text);
  if (!Number.isFinite(value)) return { ok: false, error: `“${text}” is not a number.` };
  if (action === 'add') {
    if (bounds.value === null) return { ok: false, error: 'This sensor has no value yet: use set.' };
    const target = round(bounds.value + value);
    if (target < bounds.min || target > bounds.max) {
      return { ok: false, error: `${fmt(bounds.value)} + ${fmt(value)} = ${fmt(target)} is outside the allowed range ${fmt(bounds.min)} … ${fmt(bounds.max)}.` };
    }
    return { ok: true, action, value, target, expectedValue: bounds.value };
  }
  if (value < bounds.min || value > bounds.max) return { ok: false, error: `${fmt(value)} is outside the allowed range ${fmt(bounds.min)} … ${fmt(bounds.max)}.` };
  return { ok: true, action, value, target: value };
}

const round = (n: number) => Math.round(n * 1e9) / 1e9;
const fmt = (n: number) => String(round(n));

export type StepState = 'done' | 'current' | 'failed' | 'todo';
export interface TimelineStep {
  status: CommandStatusName;
  state: StepState;
  at?: string;
  reason?: string;
}

/**
 * A command's saga as the steps a person reads: the ones it went through (from its history, or the statuses the
 * dashboard saw live) and, until it ends, the ones it is expected to reach next on the happy path.
 */
export function timelineOf(command: Pick<CommandViewDto, 'status' | 'reason' | 'history' | 'createdAt' | 'updatedAt'>): TimelineStep[] {
  const seen = command.history?.length ? command.history : [{ status: command.status, at: command.updatedAt, ...(command.reason ? { reason: command.reason } : {}) }];
  const byStatus = new Map<CommandStatusName, { at: string; reason?: string }>();
  for (const h of seen) byStatus.set(h.status, { at: h.at, ...(h.reason ? { reason: h.reason } : {}) });
  if (!byStatus.has('PENDING')) byStatus.set('PENDING', { at: command.createdAt });
  const path = pathOf(command.status, byStatus);
  return path.map((status) => {
    const step = byStatus.get(status);
    if (!step) return { status, state: 'todo' };
    const failed = status === 'REJECTED' || status === 'FAILED' || status === 'COMPENSATED';
    const current = status === command.status && !isTerminal(command.status);
    return { status, state: failed ? 'failed' : current ? 'current' : 'done', at: step.at, ...(step.reason ? { reason: step.reason } : {}) };
  });
}

function pathOf(status: CommandStatusName, seen: Map<CommandStatusName, unknown>): CommandStatusName[] {
  if (status === 'REJECTED' || (seen.has('REJECTED') && !seen.has('APPROVED'))) return ['PENDING', 'REJECTED'];
  if (status === 'FAILED' || status === 'COMPENSATED' || seen.has('FAILED')) return ['PENDING', 'APPROVED', 'FAILED', 'COMPENSATED'];
  return ['PENDING', 'APPROVED', 'SUCCEEDED'];
}

/** Merges what arrived (a WebSocket frame, a poll) into what is known, keeping the newest version and every step seen. */
export function mergeCommand(known: CommandViewDto | undefined, incoming: CommandViewDto): CommandViewDto {
  if (!known) return incoming.history ? incoming : { ...incoming, history: [{ status: incoming.status, at: incoming.updatedAt, ...(incoming.reason ? { reason: incoming.reason } : {}) }] };
  const newer = incoming.version >= known.version ? incoming : known;
  const history = new Map<CommandStatusName, { status: CommandStatusName; at: string; reason?: string }>();
  for (const h of [...(known.history ?? []), ...(incoming.history ?? [])]) history.set(h.status, h);
  if (!history.has(incoming.status)) history.set(incoming.status, { status: incoming.status, at: incoming.updatedAt, ...(incoming.reason ? { reason: incoming.reason } : {}) });
  const order: CommandStatusName[] = ['PENDING', 'APPROVED', 'SUCCEEDED', 'REJECTED', 'FAILED', 'COMPENSATED'];
  return { ...newer, history: [...history.values()].sort((a, b) => a.at.localeCompare(b.at) || order.indexOf(a.status) - order.indexOf(b.status)) };
}

/** Reason codes (device-service, adapter) as a person reads them. */
export function describeReason(reason: string | undefined): string {
  switch (reason) {
    case undefined:
      return '';
    case 'OUT_OF_RANGE':
      return 'the value is outside the parameter’s range';
    case 'EXPECTED_VALUE_MISMATCH':
      return 'the value changed before the add was applied';
    case 'SENSOR_NOT_FOUND':
      return 'the sensor does not exist';
    case 'FORBIDDEN':
      return 'you may not command this device';
    case 'SENSOR_BUSY':
      return 'the sensor is busy with other commands';
    case 'REFUSED':
      return 'the device refused the value';
    case 'TIMEOUT':
      return 'the device did not answer in time';
    case 'EXPIRED':
      return 'the device was offline until the command expired';
    case 'DEADLINE_EXCEEDED':
      return 'the saga passed its deadline';
    case 'STUCK':
      return 'no news from the saga for too long';
    default:
      return reason.toLowerCase().replace(/_/g, ' ');
  }
}
