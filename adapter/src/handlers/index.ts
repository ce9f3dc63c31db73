import type { HandlerMap } from '@devicesaga/platform';
import { onValueSetApproved, type CommandSender } from './dm-value-set-approved';

export type AdapterTopic = 'dm.value_set_approved';

/** Every topic the adapter consumes, with its handler (a missing one fails to compile). */
export function adapterHandlers(sender: CommandSender): HandlerMap<AdapterTopic> {
  return {
    'dm.value_set_approved': (event, ctx) => onValueSetApproved(sender, event, ctx),
  };
}
