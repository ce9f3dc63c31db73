/**
 * The command status machine of docs/saga.md — pure, no I/O.
 *
 * Ranks: PENDING(0) → APPROVED(1) → SUCCEEDED(2) | FAILED(2) → COMPENSATED(3); PENDING → REJECTED(2).
 * Saga events can arrive out of order across topics, so `applyStatusEvent`:
 * - never moves a command backwards (an event whose status ranks at or below the current one is a no-op);
 * - never moves sideways between statuses of equal rank (SUCCEEDED, FAILED, REJECTED: the first one wins);
 * - records the steps an event implies (COMPENSATED while APPROVED records FAILED, then COMPENSATED);
 * - appends one history entry per recorded step and bumps `version` once per entry, so
 *   `version === history.length` always (version 1 = [PENDING]) and `history.slice(after)` is what a poller missed.
 *
 * One deliberate choice: COMPENSATED (rank 3) is accepted after SUCCEEDED (rank 2). device-service's sweeper can
 * compensate a saga (DEADLINE_EXCEEDED) while the device's late acceptance is still on its way; device-service then
 * holds the restored value, so COMPENSATED is the truth, and ranking it above SUCCEEDED makes the outcome the same
 * whatever order the two events arrive in. REJECTED is never left: device-service never compensates a rejected
 * command.
 */

export const commandStatuses = ['PENDING', 'APPROVED', 'SUCCEEDED', 'FAILED', 'REJECTED', 'COMPENSATED'] as const;
export type CommandStatus = (typeof commandStatuses)[number];

/** Terminal for clients (long-poll answers at once). FAILED is not: it moves on to COMPENSATED. */
export const terminalStatuses: ReadonlySet<CommandStatus> = new Set<CommandStatus>(['REJECTED', 'SUCCEEDED', 'COMPENSATED']);

export function isTerminal(status: CommandStatus): boolean {
  return terminalStatuses.has(status);
}

export const statusRank: Readonly<Record<CommandStatus, number>> = {
  PENDING: 0,
  APPROVED: 1,
  SUCCEEDED: 2,
  FAILED: 2,
  REJECTED: 2,
  COMPENSATED: 3,
};

export interface HistoryEntry {
  status: CommandStatus;
  at: string;
  reason?: string;
}

export interface CommandState {
  status: CommandStatus;
  version: number;
  reason: string | null;
  history: HistoryEntry[];
}

/** What one saga event says about a command: the status it implies, when, and why. */
export interface StatusEvent {
  status: Exclude<CommandStatus, 'PENDING'>;
  at: string;
  reason?: string;
}

/** The path from each status to each status it may reach, implied steps included (empty = not reachable). */
function pathTo(from: CommandStatus, to: StatusEvent['status']): CommandStatus[] {
  switch (to) {
    case 'APPROVED':
      return from === 'PENDING' ? ['APPROVED'] : [];
    case 'REJECTED':
      return from === 'PENDING' ? ['REJECTED'] : [];
    case 'SUCCEEDED':
      if (from === 'PENDING') return ['APPROVED', 'SUCCEEDED'];
      return from === 'APPROVED' ? ['SUCCEEDED'] : [];
    case 'FAILED':
      if (from === 'PENDING') return ['APPROVED', 'FAILED'];
      return from === 'APPROVED' ? ['FAILED'] : [];
    case 'COMPENSATED':
      switch (from) {
        case 'PENDING':
          return ['APPROVED', 'FAILED', 'COMPENSATED'];
        case 'APPROVED':
          return ['FAILED', 'COMPENSATED'];
        case 'FAILED':
        case 'SUCCEEDED':
          return ['COMPENSATED'];
        case 'REJECTED':
        case 'COMPENSATED':
          return [];
      }
  }
}

/** Which statuses carry the event's reason when recorded (APPROVED/SUCCEEDED never carry one). */
function carriesReason(status: CommandStatus): boolean {
  return status === 'REJECTED' || status === 'FAILED' || status === 'COMPENSATED';
}

export interface Transition {
  next: CommandState;
  /** The history entries added, in order (the implied ones first). */
  added: HistoryEntry[];
}

/** Applies one saga event; `null` when it changes nothing (duplicate, late, or backwards). */
export function applyStatusEvent(current: CommandState, event: StatusEvent): Transition | null {
  if (statusRank[event.status] <= statusRank[current.status]) return null;
  const path = pathTo(current.status, event.status);
  if (path.length === 0) return null;
  const added: HistoryEntry[] = path.map((status) =>
    carriesReason(status) && event.reason !== undefined ? { status, at: event.at, reason: event.reason } : { status, at: event.at },
  );
  const last = added[added.length - 1]!;
  return {
    added,
    next: {
      status: last.status,
      version: current.version + added.length,
      reason: last.reason ?? null,
      history: [...current.history, ...added],
    },
  };
}

/** The state of a command just created. */
export function initialState(at: string): CommandState {
  return { status: 'PENDING', version: 1, reason: null, history: [{ status: 'PENDING', at }] };
}
