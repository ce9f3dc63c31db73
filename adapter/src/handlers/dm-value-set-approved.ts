import { batch, type BatchHandlerSpec } from '@devicesaga/platform';
import { recordApproved, type ApprovedCommand, type RecordedCommand } from '../db/pending-commands';

/** What the approval handler needs of the device edge. */
export interface CommandDispatch {
  /** Presence as this replica knows it (a command for an online device gets its reply deadline at once). */
  isOnline(deviceId: string): boolean;
  readonly replyTimeoutMs: number;
  /** After the commit: watch the recorded commands' deadlines and publish the open ones to their devices. */
  dispatch(recorded: RecordedCommand[]): void;
}

/**
 * `dm.value_set_approved` → the pending commands, recorded for the whole batch in one statement
 * (`INSERT … SELECT FROM unnest`), then — once that committed — published to MQTT `devices/<id>/commands`, QoS 1: so a
 * device's reply always finds its row, and no transaction waits on the broker. A redelivered approval of a still
 * pending command publishes it again (devices answer a commandId once); of a closed one, nothing.
 */
export function valueSetApproved(dispatch: CommandDispatch): BatchHandlerSpec<'dm.value_set_approved'> {
  return batch(async (events, ctx) => {
    const seen = new Set<string>();
    const commands: ApprovedCommand[] = [];
    for (const event of events) {
      const p = event.payload;
      if (seen.has(p.commandId)) continue;
      seen.add(p.commandId);
      commands.push({ ...p, online: dispatch.isOnline(p.deviceId), causationId: event.id });
    }
    const recorded = await recordApproved(ctx.manager, commands, dispatch.replyTimeoutMs);
    ctx.afterCommit(() => dispatch.dispatch(recorded));
    if (ctx.logger.isLevelEnabled('debug')) {
      for (const { command, inserted } of recorded) {
        ctx.logger.debug({ commandId: command.commandId, deviceId: command.deviceId, state: command.state, redelivered: !inserted }, 'approved command recorded');
      }
    }
  });
}
