import type { EventOf, Topic } from '@devicesaga/contracts';
import type { TxContext } from '@devicesaga/platform';
import type { Emit, SagaSettings } from '../saga/saga';

export interface HandlerDeps {
  settings: SagaSettings;
}

/** The saga's view of a consumer transaction: its events go through `ctx.emit`, each with its own correlation id. */
export function sagaContext(event: EventOf<Topic>, ctx: TxContext, deps: HandlerDeps) {
  const emit: Emit = (e) => {
    ctx.emit(e);
    return Promise.resolve();
  };
  return { m: ctx.manager, emit, settings: deps.settings, logger: ctx.logger, causationId: event.id };
}
