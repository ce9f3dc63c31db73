import type { HandlerMap } from '@devicesaga/platform';
import { onAdapterMeasureReceived } from './adapter-measure-received';
import { onAdapterValueSetError } from './adapter-value-set-error';
import { onAdapterValueSetSent } from './adapter-value-set-sent';
import { onCommandValueSet } from './command-value-set';
import type { HandlerDeps } from './context';

export type { HandlerDeps } from './context';

export const consumedTopics = ['command.value_set', 'adapter.value_set_sent', 'adapter.value_set_error', 'adapter.measure_received'] as const;
export type ConsumedTopic = (typeof consumedTopics)[number];

/** Every consumed topic has its handler (a missing one fails to compile). */
export function createHandlers(deps: HandlerDeps): HandlerMap<ConsumedTopic> {
  return {
    'command.value_set': onCommandValueSet(deps),
    'adapter.value_set_sent': onAdapterValueSetSent(deps),
    'adapter.value_set_error': onAdapterValueSetError(deps),
    'adapter.measure_received': onAdapterMeasureReceived(deps),
  };
}
