import { randomUUID } from 'node:crypto';
import type { Bus, Logger } from '@devicesaga/platform';
import { MicroBatcher } from '../batching/micro-batcher';
import type { PendingCommand } from '../db/entities';
import { applyPresence } from '../db/pending-commands';
import { forgetPresence, recordPresence } from '../db/presence';
import { parseStatus } from '../domain/protocol';
import type { Settle } from '../mqtt/puback-order';
import type { EntryPoint } from './entry-point';

/** `online`, `offline`, or `forget`: an empty retained message, i.e. device-service deleted the device. */
type Status = boolean | 'forget';

interface ReceivedStatus {
  deviceId: string;
  status: Status;
  settle: Settle;
}

export interface StatusDeps {
  bus: Pick<Bus, 'transaction'>;
  logger: Logger;
  batchMs: number;
  batchMax: number;
  replyTimeoutMs: number;
  /** This replica's view of presence, updated once a batch is recorded. */
  presence: Map<string, boolean>;
  /**
   * After the commit: the open commands of devices whose presence changed, with their new reply deadlines (set for
   * devices now online — to be published again —, cleared for devices now offline, which wait for their TTL).
   */
  onPresenceApplied: (online: PendingCommand[], offline: PendingCommand[]) => void;
  onInvalid: () => void;
}

/**
 * `devices/+/status` (retained `online` / `offline`, the last will `offline`) → presence, `adapter.device_status`
 * on each change, and the reply deadlines of the device's open commands. Statuses are recorded in batches like
 * replies (the last status of a device in a batch is the one recorded) and PUBACKed after the commit.
 */
export function statusEntryPoint(deps: StatusDeps): EntryPoint {
  const { logger } = deps;

  const record = async (batch: ReceivedStatus[]) => {
    const last = new Map<string, Status>();
    for (const s of batch) {
      last.delete(s.deviceId); // keep arrival order of the last status
      last.set(s.deviceId, s.status);
    }
    const forgotten = [...last].filter(([, s]) => s === 'forget').map(([id]) => id);
    const statuses = [...last].filter((e): e is [string, boolean] => e[1] !== 'forget').map(([deviceId, online]) => ({ deviceId, online }));
    const { commands, changes } = await deps.bus.transaction(async (tx) => {
      await forgetPresence(tx.manager, forgotten);
      const recorded = await recordPresence(tx.manager, statuses);
      // a device first seen offline changes nothing (unknown = offline)
      const changed = recorded.filter((c) => !(c.inserted && !c.online));
      const at = new Date().toISOString();
      for (const c of changed) {
        const id = randomUUID();
        tx.emit({ id, topic: 'adapter.device_status', key: c.deviceId, correlationId: id, payload: { deviceId: c.deviceId, online: c.online, at } });
      }
      return { changes: changed, commands: await applyPresence(tx.manager, changed, deps.replyTimeoutMs) };
    });
    for (const id of forgotten) deps.presence.delete(id);
    for (const s of statuses) deps.presence.set(s.deviceId, s.online);
    for (const id of forgotten) logger.info({ deviceId: id }, 'device status cleared (device deleted): presence forgotten');
    const online = commands.filter((c) => c.replyDeadline !== null);
    const offline = commands.filter((c) => c.replyDeadline === null);
    for (const c of changes) {
      logger.info({ deviceId: c.deviceId, online: c.online, republish: online.filter((o) => o.deviceId === c.deviceId).length }, 'device presence');
    }
    deps.onPresenceApplied(online, offline);
  };

  const batcher = new MicroBatcher<ReceivedStatus>({
    name: 'status',
    flush: record,
    done: (batch) => {
      for (const s of batch) s.settle();
    },
    maxWaitMs: deps.batchMs,
    maxItems: deps.batchMax,
    logger,
  });

  return {
    receive(deviceId, payload, settle) {
      if (payload.length === 0) {
        batcher.add({ deviceId, status: 'forget', settle });
        return;
      }
      const parsed = parseStatus(payload);
      if (!parsed.ok) {
        deps.onInvalid();
        logger.warn({ deviceId, error: parsed.error }, 'invalid status dropped');
        settle();
        return;
      }
      batcher.add({ deviceId, status: parsed.value, settle });
    },
    drain: () => batcher.drain(),
    stop: () => batcher.stop(),
  };
}
