import type { TxContext } from '@devicesaga/platform';
import { closeWithOutcomes, lockDeadlines, type DeadlineClose, type DeadlineRow } from '../db/pending-commands';
import type { PendingCommand } from '../db/entities';
import { outcomeEvent, timerOutcome, type Outcome } from '../domain/outcome';

export interface OverdueResult {
  closed: { command: PendingCommand; outcome: Outcome }[];
  /** Still open, not due by the table (their deadlines moved, e.g. the device went offline): watch again. */
  stillOpen: DeadlineRow[];
}

/**
 * Closes the commands whose deadline passed — decided on the rows read under lock with the database's clock (one
 * read, decisions in TypeScript, one write) — and emits their outcomes; a command closed meanwhile is left alone.
 */
export async function closeOverdue(tx: TxContext, commandIds: string[]): Promise<OverdueResult> {
  const locked = await lockDeadlines(tx.manager, commandIds);
  const closes: DeadlineClose[] = [];
  const outcomes = new Map<string, Outcome>();
  const stillOpen: DeadlineRow[] = [];
  for (const row of locked) {
    if (row.state !== 'PENDING') continue;
    const outcome = timerOutcome(row, row.dbNow);
    if (!outcome) {
      stillOpen.push(row);
      continue;
    }
    outcomes.set(row.commandId, outcome);
    closes.push({ commandId: row.commandId, state: outcome.state, reason: outcome.message });
  }
  const closed = await closeWithOutcomes(tx.manager, closes);
  const result = closed.map((command) => ({ command, outcome: outcomes.get(command.commandId)! }));
  for (const { command, outcome } of result) tx.emit(outcomeEvent(command, outcome));
  return { closed: result, stillOpen };
}
