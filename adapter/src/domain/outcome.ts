import type { ReplyMessage } from './protocol';

/** A pending command's life in the adapter: PENDING until exactly one outcome closes it. */
export type CommandState = 'PENDING' | 'SENT' | 'REFUSED' | 'TIMEOUT' | 'EXPIRED';
export type FailureReason = 'REFUSED' | 'TIMEOUT' | 'EXPIRED';

export type Outcome =
  | { state: 'SENT'; deviceValue?: number }
  | { state: FailureReason; reason: FailureReason; message: string };

/** A device's reply → the command's outcome. */
export function outcomeOfReply(reply: ReplyMessage): Outcome {
  switch (reply.status) {
    case 'accepted':
      return reply.value === undefined ? { state: 'SENT' } : { state: 'SENT', deviceValue: reply.value };
    case 'refused':
      return { state: 'REFUSED', reason: 'REFUSED', message: reply.reason?.trim() || 'refused by the device' };
  }
}

export interface TimedCommand {
  expiresAt: Date;
  /** Set while the device is online with the command; null while it is offline (it waits for its TTL then). */
  replyDeadline: Date | null;
}

/**
 * What the timer decides for a pending command at `now`: nothing yet, TIMEOUT (online, no reply in time) or EXPIRED
 * (its TTL passed — offline all along, or came online too late). When both passed, the earlier one wins.
 */
export type DeadlineOutcome = { state: 'TIMEOUT'; reason: 'TIMEOUT'; message: string } | { state: 'EXPIRED'; reason: 'EXPIRED'; message: string };

export function timerOutcome(cmd: TimedCommand, now: Date): DeadlineOutcome | undefined {
  const t = now.getTime();
  const expired = cmd.expiresAt.getTime() <= t;
  const deadline = cmd.replyDeadline?.getTime();
  const timedOut = deadline !== undefined && deadline <= t;
  if (timedOut && (!expired || deadline < cmd.expiresAt.getTime())) {
    return { state: 'TIMEOUT', reason: 'TIMEOUT', message: 'the device did not reply in time' };
  }
  if (expired) return { state: 'EXPIRED', reason: 'EXPIRED', message: 'the command expired before the device answered' };
  return undefined;
}

/** The reply deadline for a command sent now: only while the device is online. */
export function replyDeadlineFor(online: boolean, now: Date, replyTimeoutMs: number): Date | null {
  return online ? new Date(now.getTime() + replyTimeoutMs) : null;
}

export interface CommandFacts {
  commandId: string;
  userId: string;
  deviceId: string;
  sensorId: string;
  value: number;
  causationId: string | null;
}

export type OutcomeEvent =
  | {
      topic: 'adapter.value_set_sent';
      key: string;
      correlationId: string;
      causationId: string | null;
      payload: { commandId: string; userId: string; deviceId: string; sensorId: string; value: number; deviceValue?: number };
    }
  | {
      topic: 'adapter.value_set_error';
      key: string;
      correlationId: string;
      causationId: string | null;
      payload: { commandId: string; userId: string; deviceId: string; sensorId: string; reason: FailureReason; message: string };
    };

/** The saga event an outcome produces (correlation = command id, key = device id). */
export function outcomeEvent(cmd: CommandFacts, outcome: Outcome): OutcomeEvent {
  const base = { commandId: cmd.commandId, userId: cmd.userId, deviceId: cmd.deviceId, sensorId: cmd.sensorId };
  const envelope = { key: cmd.deviceId, correlationId: cmd.commandId, causationId: cmd.causationId };
  if (outcome.state === 'SENT') {
    return {
      ...envelope,
      topic: 'adapter.value_set_sent',
      payload: { ...base, value: cmd.value, ...(outcome.deviceValue === undefined ? {} : { deviceValue: outcome.deviceValue }) },
    };
  }
  return { ...envelope, topic: 'adapter.value_set_error', payload: { ...base, reason: outcome.reason, message: outcome.message } };
}
