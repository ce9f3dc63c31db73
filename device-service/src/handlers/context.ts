import type { EventOf, Topic } from '@devicesaga/contracts';
import type { EntityManager } from 'typeorm';
import type { HandlerContext, OutgoingEvent } from '@devicesaga/platform';
import type { Emit, SagaSettings } from '../saga/saga';

/** Writes events to the outbox in the caller's transaction (the platform's `enqueue`), with the trace parent. */
export type Enqueue = (manager: EntityManager, events: OutgoingEvent[], parentTraceparent?: string | null) => Promise<void>;

export interface HandlerDeps {
  settings: SagaSettings;
  enqueue: Enqueue;
}

/**
 * Saga events go to the outbox through `deps.enqueue`, not `ctx.emit`, on purpose: a handler also emits events about
 * *other* commands (ending a saga approves or rejects the next queued command), and those must carry their own
 * correlation id (= their command id), which `ctx.emit` cannot set; and one path keeps them in causal order in the
 * outbox (`ctx.emit` rows are written at the end of the consumer's batch, after rows written directly).
 */
export function sagaContext(event: EventOf<Topic>, ctx: HandlerContext, deps: HandlerDeps) {
  const traceparent = ctx.headers.traceparent ?? null;
  const emit: Emit = (e) => deps.enqueue(ctx.manager, [e], traceparent);
  return { m: ctx.manager, emit, settings: deps.settings, logger: ctx.logger, causationId: event.id };
}
