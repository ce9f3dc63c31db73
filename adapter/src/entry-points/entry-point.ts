import type { DeviceUplinkKind } from '@devicesaga/contracts';
import type { Settle } from '../mqtt/puback-order';

/**
 * An MQTT entry point: what the adapter does with one kind of message devices publish. `receive` must not block (it
 * runs on the connection's read path): it buffers, records in batches, and settles each message once it is durable —
 * then its PUBACK goes. A message never settled is redelivered by the broker on the next session.
 */
export interface EntryPoint {
  receive(deviceId: string, payload: Buffer, settle: Settle): void;
  /** Records what is buffered (graceful stop, after the connection stopped taking messages). */
  drain(): Promise<void>;
  /** Gives up retrying (what is not recorded stays unacknowledged). */
  stop(): void;
}

/** Every kind of message devices publish, with its entry point: a missing one fails to compile. */
export type EntryPointMap = { [K in DeviceUplinkKind]: EntryPoint };

/**
 * How each kind is subscribed: replies and telemetry are shared by the adapter's replicas (`$share/<group>/…`);
 * every replica receives every status (each keeps presence, and a shared subscription gets no retained messages).
 * Telemetry has its own connection, so its volume never delays a reply's PUBACK (they are sent in arrival order).
 */
export const subscriptionOf: { [K in DeviceUplinkKind]: { shared: boolean; connection: 'control' | 'telemetry' } } = {
  replies: { shared: true, connection: 'control' },
  status: { shared: false, connection: 'control' },
  telemetry: { shared: true, connection: 'telemetry' },
};
