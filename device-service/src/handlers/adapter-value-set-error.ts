import type { Handler } from '@devicesaga/platform';
import { compensate } from '../saga/saga';
import { sagaContext, type HandlerDeps } from './context';

/** `adapter.value_set_error`: the device refused / timed out / expired — compensate exactly once. */
export const onAdapterValueSetError =
  (deps: HandlerDeps): Handler<'adapter.value_set_error'> =>
  async (event, ctx) => {
    await compensate(sagaContext(event, ctx, deps), event.payload.commandId, event.payload.reason, event.payload.message);
  };
