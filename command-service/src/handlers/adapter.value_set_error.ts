import type { Handler } from '@devicesaga/platform';
import type { Track } from './track';

/** The device refused, timed out, or stayed offline past the TTL: FAILED (device-service compensates next). */
export const onAdapterValueSetError =
  (track: Track): Handler<'adapter.value_set_error'> =>
  (event, ctx) =>
    track(event, { status: 'FAILED', at: event.occurredAt, reason: event.payload.reason }, ctx);
