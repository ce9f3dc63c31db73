import type { EventOf } from '@devicesaga/contracts';
import type { HandlerContext } from '@devicesaga/platform';
import type { Counter } from 'prom-client';
import { lockCommand, saveState, toView, type CommandView } from '../db/commands-repo';
import { applyStatusEvent, type StatusEvent } from '../domain/command-status';

/** Applies the status an event implies to its command, in the handler's transaction. */
export type Track = (event: EventOf<TrackedTopic>, status: StatusEvent, ctx: HandlerContext) => Promise<void>;

/**
 * The topics whose outcomes command-service tracks. `command.value_set` is not among them although DESIGN.md §3
 * lists command-service as its consumer: command-service produces it, and writes the command (PENDING) in the same
 * transaction as the outbox row, so consuming its own event would add nothing but load.
 */
export type TrackedTopic = 'dm.value_set_approved' | 'dm.value_set_error' | 'adapter.value_set_sent' | 'adapter.value_set_error';

export interface StatusTrackerDeps {
  publish(userId: string, command: CommandView): void;
  statusChanges?: Counter;
}

/**
 * Keeps each command's status in step with the saga's events, and once the consumer transaction commits publishes the
 * command it changed (Redis `command:<id>` and `user-commands:<userId>`) — nothing for a transaction that rolls back.
 */
export class StatusTracker {
  constructor(private readonly deps: StatusTrackerDeps) {}

  readonly track: Track = async (event, status, ctx) => {
    const commandId = event.payload.commandId;
    const row = await lockCommand(ctx.manager, commandId);
    if (!row) {
      ctx.logger.warn({ commandId, type: event.type }, 'saga event for an unknown command: ignored');
      return;
    }
    const transition = applyStatusEvent(row, status);
    if (!transition) {
      ctx.logger.debug({ commandId, type: event.type, status: row.status }, 'saga event changes nothing');
      return;
    }
    if (row.status === 'SUCCEEDED') {
      ctx.logger.warn({ commandId, reason: status.reason }, 'a SUCCEEDED command was compensated by device-service');
    }
    const updatedAt = await saveState(ctx.manager, commandId, transition.next, new Date());
    for (const entry of transition.added) this.deps.statusChanges?.inc({ status: entry.status });
    const view = toView({ ...row, ...transition.next, updatedAt }, false);
    ctx.afterCommit(() => this.deps.publish(row.userId, view));
  };
}
