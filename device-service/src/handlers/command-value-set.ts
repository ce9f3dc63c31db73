import type { Handler } from '@devicesaga/platform';
import { handleCommand } from '../saga/saga';
import { sagaContext, type HandlerDeps } from './context';

/** `command.value_set`: validate, then reject, queue behind the sensor's lock, or apply and approve. */
export const onCommandValueSet =
  (deps: HandlerDeps): Handler<'command.value_set'> =>
  async (event, ctx) => {
    await handleCommand(sagaContext(event, ctx, deps), event.payload);
  };
