import type { HandlerMap } from '@devicesaga/platform';
import { onAdapterValueSetError } from './adapter.value_set_error';
import { onAdapterValueSetSent } from './adapter.value_set_sent';
import { onValueSetApproved } from './dm.value_set_approved';
import { onValueSetError } from './dm.value_set_error';
import type { Track, TrackedTopic } from './track';

export { StatusTracker, type TrackedTopic } from './track';

/** Every consumed topic and its handler (a topic without one fails to compile). */
export function createHandlers(track: Track): HandlerMap<TrackedTopic> {
  return {
    'dm.value_set_approved': onValueSetApproved(track),
    'dm.value_set_error': onValueSetError(track),
    'adapter.value_set_sent': onAdapterValueSetSent(track),
    'adapter.value_set_error': onAdapterValueSetError(track),
  };
}
