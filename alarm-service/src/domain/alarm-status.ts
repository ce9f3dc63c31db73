import type { AlarmStatusName } from '@devicesaga/contracts';

/** Clearing (the condition ended, or a person cleared it) and acknowledging (a person saw it) are independent. */
export function alarmStatus(cleared: boolean, acknowledged: boolean): AlarmStatusName {
  if (cleared) return acknowledged ? 'CLEARED_ACK' : 'CLEARED_UNACK';
  return acknowledged ? 'ACTIVE_ACK' : 'ACTIVE_UNACK';
}

/** The SQL condition selecting alarms of one status (`a` = the alarms table alias). */
export function statusCondition(status: AlarmStatusName): string {
  switch (status) {
    case 'ACTIVE_UNACK':
      return 'a.cleared_at IS NULL AND a.ack_at IS NULL';
    case 'ACTIVE_ACK':
      return 'a.cleared_at IS NULL AND a.ack_at IS NOT NULL';
    case 'CLEARED_UNACK':
      return 'a.cleared_at IS NOT NULL AND a.ack_at IS NULL';
    case 'CLEARED_ACK':
      return 'a.cleared_at IS NOT NULL AND a.ack_at IS NOT NULL';
  }
}
