import type { Handler } from '@devicesaga/platform';
import type { Track } from './track';

/** The device accepted the command (the pivot): SUCCEEDED. */
export const onAdapterValueSetSent =
  (track: Track): Handler<'adapter.value_set_sent'> =>
  (event, ctx) =>
    track(event, { status: 'SUCCEEDED', at: event.occurredAt }, ctx);
