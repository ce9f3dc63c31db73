import { alarmTypeView, alarmView, commandView, telemetrySeries, type AlarmSeverityName, type AlarmTypeView } from '@devicesaga/contracts';
import { call } from './client';
import {
  alarmPage,
  alarmTypeList,
  commandPage,
  createdDevice,
  device,
  devicePage,
  loginAnswer,
  me,
  notificationList,
  parameterList,
  sensor,
} from './schemas';

/** Every call the dashboard makes: the gateway's public API (DESIGN.md §5), nothing else. */
const q = (params: Record<string, string | number | boolean | undefined | null>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const text = s.toString();
  return text ? `?${text}` : '';
};
const enc = encodeURIComponent;

export const api = {
  /* auth — the login sets the httpOnly session cookie the rest of the calls (and /ws) use */
  login: (login: string, password: string) => call('POST', '/api/v1/auth/login', loginAnswer, { body: { email: login, password } }),
  register: (body: { email: string; password: string; username?: string; name?: string }) => call('POST', '/api/v1/auth/register', null, { body }),
  logout: () => call('POST', '/api/v1/auth/logout', null),
  me: () => call('GET', '/api/v1/me', me),

  /* devices */
  devices: (params: { limit: number; cursor?: string | null }) => call('GET', `/api/v1/devices${q(params)}`, devicePage),
  device: (id: string) => call('GET', `/api/v1/devices/${enc(id)}`, device),
  createDevice: (body: { name: string; sensors: { parameter: string }[] }) => call('POST', '/api/v1/devices', createdDevice, { body }),
  sensor: (id: string) => call('GET', `/api/v1/sensors/${enc(id)}`, sensor),
  parameters: () => call('GET', '/api/v1/parameters', parameterList),

  /* commands */
  sendCommand: (body: { deviceId: string; sensorId: string; action: 'set' | 'add'; value: number; expectedValue?: number }, idempotencyKey: string) =>
    call('POST', '/api/v1/commands', commandView, { body, headers: { 'idempotency-key': idempotencyKey } }),
  command: (id: string, wait?: { seconds: number; after: number }, signal?: AbortSignal) =>
    call('GET', `/api/v1/commands/${enc(id)}${q({ wait: wait?.seconds, after: wait?.after })}`, commandView, signal ? { signal } : {}),
  commands: (params: { deviceId?: string; limit?: number; cursor?: string | null }) => call('GET', `/api/v1/commands${q(params)}`, commandPage),

  /* telemetry */
  telemetry: (deviceId: string, params: { sensorId: string; from: string; to: string; bucket?: string }, signal?: AbortSignal) =>
    call('GET', `/api/v1/devices/${enc(deviceId)}/telemetry${q(params)}`, telemetrySeries, signal ? { signal } : {}),

  /* notifications */
  notifications: (params: { unread?: boolean; limit?: number; after?: string | null }) => call('GET', `/api/v1/notifications${q(params)}`, notificationList),
  markRead: (id: string) => call('POST', `/api/v1/notifications/${enc(id)}/read`, null),
  markAllRead: () => call('POST', '/api/v1/notifications/read', null),
  clearNotifications: () => call('DELETE', '/api/v1/notifications', null),

  /* alarms */
  alarms: (params: { status?: string; severity?: AlarmSeverityName; deviceId?: string; limit?: number; cursor?: string | null }) =>
    call('GET', `/api/v1/alarms${q(params)}`, alarmPage),
  ackAlarm: (id: string) => call('POST', `/api/v1/alarms/${enc(id)}/ack`, alarmView),
  clearAlarm: (id: string) => call('POST', `/api/v1/alarms/${enc(id)}/clear`, alarmView),
  alarmTypes: () => call('GET', '/api/v1/alarm-types', alarmTypeList),
  createAlarmType: (body: AlarmTypeInput) => call('POST', '/api/v1/alarm-types', alarmTypeView, { body }),
  updateAlarmType: (id: string, body: AlarmTypeInput) => call('PUT', `/api/v1/alarm-types/${enc(id)}`, alarmTypeView, { body }),
  deleteAlarmType: (id: string) => call('DELETE', `/api/v1/alarm-types/${enc(id)}`, null),
};

export type AlarmTypeInput = Pick<AlarmTypeView, 'name' | 'parameter' | 'lower' | 'upper' | 'severity' | 'hysteresis' | 'minDurationSeconds' | 'deviceGroupId'>;
