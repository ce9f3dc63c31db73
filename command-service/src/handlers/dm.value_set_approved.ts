import type { Handler } from '@devicesaga/platform';
import type { Track } from './track';

/** device-service validated and applied the value: APPROVED. */
export const onValueSetApproved =
  (track: Track): Handler<'dm.value_set_approved'> =>
  (event, ctx) =>
    track(event, { status: 'APPROVED', at: event.occurredAt }, ctx);
