import type { Handler } from '@devicesaga/platform';
import type { Track } from './track';

/** device-service rejected the command (stage REJECTED) or compensated it after the device failed (COMPENSATED). */
export const onValueSetError =
  (track: Track): Handler<'dm.value_set_error'> =>
  (event, ctx) =>
    track(event, { status: event.payload.stage, at: event.occurredAt, reason: event.payload.reason }, ctx);
