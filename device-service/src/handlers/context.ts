import type { EventOf, Topic } from '@devicesaga/contracts';
import type { EntityManager } from 'typeorm';
import type { HandlerContext, OutgoingEvent } from '@devicesaga/platform';
import type { Emit, SagaSettings } from '../saga/saga';

export interface HandlerDeps {
  settings: SagaSettings;
  /**
   * The outbox (Bus.enqueue) for events about another command than the one handled — e.g. a queued command approved
   * when this one ends: its events carry its own correlation id (= its command id).
   */
  enqueue: (manager: EntityManager, events: OutgoingEvent[]) => Promise<void>;
}

/** Emits through `ctx.emit` what belongs to the handled message, through the outbox with explicit ids the rest. */
export function sagaContext(event: EventOf<Topic>, ctx: HandlerContext, deps: HandlerDeps) {
  const emit: Emit = async (e) => {
    if (e.correlationId === event.correlationId && e.causationId === event.id) {
      switch (e.topic) {
        case 'dm.value_set_approved':
          await ctx.emit(e.topic, e.key, e.payload);
          return;
        case 'dm.value_set_error':
          await ctx.emit(e.topic, e.key, e.payload);
          return;
      }
    }
    await deps.enqueue(ctx.manager, [e]);
  };
  return { m: ctx.manager, emit, settings: deps.settings, logger: ctx.logger, causationId: event.id };
}
