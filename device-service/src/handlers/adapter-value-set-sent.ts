import type { Handler } from '@devicesaga/platform';
import { confirm } from '../saga/saga';
import { sagaContext, type HandlerDeps } from './context';

/** `adapter.value_set_sent`: the device accepted — the saga is confirmed and the next queued command may go. */
export const onAdapterValueSetSent =
  (deps: HandlerDeps): Handler<'adapter.value_set_sent'> =>
  async (event, ctx) => {
    await confirm(sagaContext(event, ctx, deps), event.payload);
  };
