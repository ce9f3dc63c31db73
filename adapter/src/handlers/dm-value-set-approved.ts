import type { EventOf } from '@devicesaga/contracts';
import type { HandlerContext } from '@devicesaga/platform';
import { pendingRows } from '../db/rows';
import type { PendingCommand } from '../db/entities';

export interface CommandSender {
  isOnline(deviceId: string): boolean;
  readonly replyTimeoutMs: number;
  /** Publishes the command QoS 1 without waiting for the PUBACK. */
  send(cmd: PendingCommand): void;
}

/**
 * `dm.value_set_approved` → the pending command row (in the consumer's transaction) and, once that has committed, the
 * MQTT command, QoS 1 (so the device's reply always finds the row, and no transaction waits on MQTT).
 * A redelivery of a still-pending command publishes it again (devices answer each commandId once). An online device
 * gets a reply deadline now; an offline one waits for its TTL (the timer arms the deadline when it comes online).
 */
export async function onValueSetApproved(sender: CommandSender, event: EventOf<'dm.value_set_approved'>, ctx: HandlerContext): Promise<void> {
  const p = event.payload;
  const online = sender.isOnline(p.deviceId);
  const columns = `command_id, device_id, sensor_id, user_id, parameter, action, value, expires_at, sent_at, reply_deadline, state, causation_id`;
  const [inserted] = await pendingRows(
    ctx.manager,
    `INSERT INTO pending_command (${columns})
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(),
             CASE WHEN $9::boolean THEN now() + make_interval(secs => $10::double precision / 1000) END, 'PENDING', $11)
     ON CONFLICT (command_id) DO NOTHING RETURNING *`,
    [p.commandId, p.deviceId, p.sensorId, p.userId, p.parameter, p.action, p.value, p.expiresAt, online, sender.replyTimeoutMs, event.id],
  );
  const cmd = inserted ?? (await pendingRows(ctx.manager, `SELECT * FROM pending_command WHERE command_id = $1`, [p.commandId]))[0];
  if (!cmd || cmd.state !== 'PENDING') {
    ctx.logger.info({ commandId: p.commandId, state: cmd?.state }, 'command already closed: not sent again');
    return;
  }
  if (cmd.expiresAt.getTime() <= Date.now()) {
    ctx.logger.info({ commandId: p.commandId }, 'command already expired: not sent (the timer closes it)');
    return;
  }
  ctx.afterCommit(() => sender.send(cmd));
  ctx.logger.info({ commandId: p.commandId, deviceId: p.deviceId, online, redelivered: !inserted }, 'command sent to the device');
}
