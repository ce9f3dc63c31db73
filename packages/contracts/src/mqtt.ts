import { z } from 'zod';

/** The MQTT device protocol (DESIGN.md §5.1): what firmware, the adapter and the simulator all speak. */

export const deviceCommandMessage = z.object({
  commandId: z.uuid(),
  sensorId: z.string().min(1).max(64),
  parameter: z.string().min(1).max(64),
  action: z.enum(['set', 'add']),
  value: z.number().finite(),
  expiresAt: z.iso.datetime({ offset: true }),
});
export type DeviceCommandMessage = z.infer<typeof deviceCommandMessage>;

export const deviceReplyMessage = z.object({
  commandId: z.uuid(),
  status: z.enum(['accepted', 'refused']),
  value: z.number().finite().optional(),
  reason: z.string().max(500).optional(),
});
export type DeviceReplyMessage = z.infer<typeof deviceReplyMessage>;

export const telemetryReading = z.object({
  /** ISO-8601 or epoch milliseconds; the receipt time when absent. */
  ts: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).optional(),
  values: z.record(z.string().min(1).max(64), z.number().finite()),
});
export const deviceTelemetryMessage = z.union([telemetryReading, z.array(telemetryReading).max(1000)]);
export type DeviceTelemetryMessage = z.infer<typeof deviceTelemetryMessage>;

export const deviceStatusValues = ['online', 'offline'] as const;

export type DeviceTopicKind = 'commands' | 'replies' | 'telemetry' | 'status';

/** What devices publish (device → platform); `commands` is the one kind the platform publishes. */
export type DeviceUplinkKind = Exclude<DeviceTopicKind, 'commands'>;
export const deviceUplinkKinds = ['replies', 'telemetry', 'status'] as const satisfies readonly DeviceUplinkKind[];

/**
 * MQTT 5 user property naming the platform instance that published a command (`devicesaga` for the default stack,
 * `devicesaga-<instance>` for a test or benchmark stack beside it). Firmware ignores it; the simulator farm of one
 * instance answers only commands with its own instance's origin, so two stacks on one broker never play each other's
 * devices.
 */
export const commandOriginProperty = 'devicesaga-origin';

/**
 * Where device topics live: `devices/<id>/<kind>`. A benchmark may run its adapter and farm under a root of its own
 * (`<name>/devices`, allowed to the service accounts by infra's ACLs) so no other stack on the broker sees its
 * traffic; devices on their own credentials only ever use `devices`.
 */
export const defaultTopicRoot = 'devices';
export const topicRootPattern = /^(?:[A-Za-z0-9_-]{1,32}\/)?devices$/;

/** The topics of a device under a root. */
export function topicsUnder(root: string = defaultTopicRoot) {
  return {
    commands: (deviceId: string) => `${root}/${deviceId}/commands`,
    replies: (deviceId: string) => `${root}/${deviceId}/replies`,
    telemetry: (deviceId: string) => `${root}/${deviceId}/telemetry`,
    status: (deviceId: string) => `${root}/${deviceId}/status`,
  };
}

export const deviceTopics = topicsUnder();

/** The filter matching one kind of topic of every device: `devices/+/<kind>`. */
export const deviceTopicFilter = (kind: DeviceTopicKind, root: string = defaultTopicRoot) => `${root}/+/${kind}`;

const DEVICE_TOPIC_TAIL = /^([^/+#]{1,64})\/(commands|replies|telemetry|status)$/;

/** `devices/<id>/<kind>` → `{deviceId, kind}`, or undefined for any other topic. */
export function parseDeviceTopic(topic: string, root: string = defaultTopicRoot): { deviceId: string; kind: DeviceTopicKind } | undefined {
  if (!topic.startsWith(root) || topic.charCodeAt(root.length) !== 47 /* '/' */) return undefined;
  const m = DEVICE_TOPIC_TAIL.exec(topic.slice(root.length + 1));
  if (!m?.[1] || !m[2]) return undefined;
  return { deviceId: m[1], kind: m[2] as DeviceTopicKind };
}

/** The bit of an MQTT.js client `noDelay` needs (contracts does not depend on mqtt). */
interface MqttClientLike {
  stream?: unknown;
  on(event: 'connect', listener: () => void): unknown;
}

/**
 * Turns Nagle's algorithm off on an MQTT.js client's TCP socket, after every (re)connect. A device answers a command
 * with two small writes (PUBACK, then its reply), and Nagle holds the second until the first is acknowledged — which
 * the peer's delayed ACK postpones by ~40 ms on every command round trip.
 */
export function noDelay<C extends MqttClientLike>(client: C): C {
  client.on('connect', () => {
    const socket = client.stream as { setNoDelay?: (on: boolean) => void } | undefined;
    socket?.setNoDelay?.(true);
  });
  return client;
}
