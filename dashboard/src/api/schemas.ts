import { z } from 'zod';
import { alarmTypeView, alarmView, commandView, notificationView } from '@devicesaga/contracts';

/**
 * Shapes the dashboard reads that packages/contracts does not (yet) describe: the gateway's users and
 * device-service's devices, sensors and parameters (DESIGN.md §5). Commands, notifications, alarms, telemetry and
 * WebSocket frames come from `@devicesaga/contracts`.
 */
const id = z.string().min(1).max(64);
const timestamp = z.iso.datetime({ offset: true });

export const me = z.object({
  id,
  email: z.string(),
  /** The login name (gateway: usernames and roles); absent on gateways before it. */
  username: z.string().optional(),
  name: z.string().nullable().optional(),
  /** `operator` also manages parameters and alarm types. */
  role: z.string().optional(),
});
export type Me = z.infer<typeof me>;

export const loginAnswer = z.object({ token: z.string(), user: me });

export const sensor = z.object({
  id,
  deviceId: id.optional(),
  parameter: z.string(),
  value: z.number().nullable(),
  min: z.number(),
  max: z.number(),
  unit: z.string().optional(),
  updatedAt: timestamp.optional(),
});
export type Sensor = z.infer<typeof sensor>;

export const device = z.object({
  id,
  name: z.string(),
  groupId: id,
  createdAt: timestamp.optional(),
  sensors: z.array(sensor),
});
export type Device = z.infer<typeof device>;

export const devicePage = z.object({ items: z.array(device), nextCursor: z.string().nullable() });
export type DevicePage = z.infer<typeof devicePage>;

/** `POST /devices` answers the device's MQTT secret this once. */
export const createdDevice = device.extend({ mqtt: z.object({ username: z.string(), password: z.string() }) });
export type CreatedDevice = z.infer<typeof createdDevice>;

export const parameter = z.object({ name: z.string(), unit: z.string(), min: z.number(), max: z.number(), defaultValue: z.number().nullable().optional() });
export type Parameter = z.infer<typeof parameter>;
export const parameterList = z.object({ items: z.array(parameter) });

export const commandPage = z.object({ items: z.array(commandView), nextCursor: z.string().nullable() });
export const alarmPage = z.object({ items: z.array(alarmView), nextCursor: z.string().nullable().optional() });
export const alarmTypeList = z.object({ items: z.array(alarmTypeView) });
export const notificationList = z.object({ items: z.array(notificationView), nextCursor: z.string().nullable(), unread: z.number().int().nonnegative().optional() });

export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), requestId: z.string().optional(), details: z.unknown().optional() }) });
