import type { HandlerMap } from '@devicesaga/platform';
import { valueSetApproved, type CommandDispatch } from './dm-value-set-approved';

export type AdapterTopic = 'dm.value_set_approved';

/** Every topic the adapter consumes, with its handler (a missing one fails to compile). */
export function adapterHandlers(dispatch: CommandDispatch): HandlerMap<AdapterTopic> {
  return {
    'dm.value_set_approved': valueSetApproved(dispatch),
  };
}

export type { CommandDispatch };
