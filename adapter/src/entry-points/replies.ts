import type { Bus, Logger } from '@devicesaga/platform';
import { MicroBatcher } from '../batching/micro-batcher';
import { closeWithReplies, type ReplyClose } from '../db/pending-commands';
import { outcomeEvent, outcomeOfReply, type Outcome } from '../domain/outcome';
import { parseReply, type ReplyMessage } from '../domain/protocol';
import type { Settle } from '../mqtt/puback-order';
import type { EntryPoint } from './entry-point';

interface ReceivedReply {
  deviceId: string;
  reply: ReplyMessage;
  settle: Settle;
}

export interface ReplyStats {
  received: number;
  invalid: number;
  batches: number;
  closed: number;
  /** Replies to a closed or unknown command (a duplicate, a late answer after a timeout). */
  ignored: number;
}

export interface RepliesDeps {
  bus: Pick<Bus, 'transaction'>;
  logger: Logger;
  batchMs: number;
  batchMax: number;
  /** The commands these replies closed (after the commit): their deadlines go. */
  onClosed: (commandIds: string[]) => void;
  onBatch?: (size: number) => void;
}

/**
 * `devices/+/replies` → the commands' outcomes. Replies are collected for at most `batchMs` (and keep coming while a
 * transaction runs: they form the next batch), recorded in one transaction — one `UPDATE … FROM unnest` closing the
 * pending rows, the outcome events through the outbox — and PUBACKed only after its commit. A reply closes its
 * command only while it is PENDING, so each command gets exactly one outcome, however often a reply is redelivered.
 */
export function repliesEntryPoint(deps: RepliesDeps): EntryPoint & { stats: ReplyStats } {
  const stats: ReplyStats = { received: 0, invalid: 0, batches: 0, closed: 0, ignored: 0 };
  const { logger } = deps;

  const record = async (batch: ReceivedReply[]) => {
    // at most one reply per command: the first to arrive wins, as it would have one at a time
    const first = new Map<string, ReceivedReply & { outcome: Outcome }>();
    for (const r of batch) if (!first.has(r.reply.commandId)) first.set(r.reply.commandId, { ...r, outcome: outcomeOfReply(r.reply) });
    const closes: ReplyClose[] = [...first.values()].map(({ deviceId, reply, outcome }) => ({
      commandId: reply.commandId,
      deviceId,
      state: outcome.state,
      reason: outcome.state === 'SENT' ? null : outcome.message,
      deviceValue: outcome.state === 'SENT' ? (outcome.deviceValue ?? null) : null,
    }));
    const closed = await deps.bus.transaction(async (tx) => {
      const rows = await closeWithReplies(tx.manager, closes);
      for (const row of rows) tx.emit(outcomeEvent(row, first.get(row.commandId)!.outcome));
      return rows;
    });
    stats.batches++;
    stats.closed += closed.length;
    stats.ignored += batch.length - closed.length;
    if (closed.length > 0) deps.onClosed(closed.map((c) => c.commandId));
    if (logger.isLevelEnabled('debug')) {
      const closedIds = new Set(closed.map((c) => c.commandId));
      for (const r of batch) {
        logger.debug({ commandId: r.reply.commandId, deviceId: r.deviceId, status: r.reply.status, result: closedIds.has(r.reply.commandId) ? 'closed' : 'ignored' }, 'reply');
      }
    }
  };

  const batcher = new MicroBatcher<ReceivedReply>({
    name: 'replies',
    flush: record,
    done: (batch) => {
      for (const r of batch) r.settle();
    },
    maxWaitMs: deps.batchMs,
    maxItems: deps.batchMax,
    logger,
    ...(deps.onBatch ? { onBatch: deps.onBatch } : {}),
  });

  return {
    stats,
    receive(deviceId, payload, settle) {
      stats.received++;
      const parsed = parseReply(payload);
      if (!parsed.ok) {
        stats.invalid++;
        logger.warn({ deviceId, error: parsed.error, bytes: payload.length }, 'invalid reply dropped');
        settle();
        return;
      }
      batcher.add({ deviceId, reply: parsed.value, settle });
    },
    drain: () => batcher.drain(),
    stop: () => batcher.stop(),
  };
}
