import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { EventOf, Topic } from '@devicesaga/contracts';
import type { BatchHandlerSpec, Handler, OutgoingEvent, TxContext } from './types';

export interface HandleOnceOptions {
  logger: Logger;
  /** Where `ctx.emit` goes (default: refused, for handlers that emit nothing). */
  emit?: (event: OutgoingEvent) => void;
  /** Runs inside the transaction after the handler, before the commit (e.g. to race it in a test). */
  beforeCommit?: () => Promise<void>;
}

/**
 * Runs a handler as the consumer does — one transaction for the events given (a batch handler gets them all at once,
 * a per-message one each in turn), then its after-commit callbacks — without Kafka, the inbox or the outbox. For tests
 * of handlers against a real database.
 */
export async function handleOnce<T extends Topic>(
  dataSource: DataSource,
  handler: Handler<T> | BatchHandlerSpec<T>,
  events: EventOf<T> | EventOf<T>[],
  options: HandleOnceOptions,
): Promise<void> {
  const list = Array.isArray(events) ? events : [events];
  const afterCommit: (() => void)[] = [];
  await dataSource.transaction(async (manager) => {
    const ctx: TxContext = {
      manager,
      logger: options.logger,
      emit: (event) => {
        if (!options.emit) throw new Error(`this handler is not expected to emit (${event.topic})`);
        options.emit(event);
      },
      afterCommit: (fn) => {
        afterCommit.push(fn);
      },
    };
    if (typeof handler === 'function') for (const event of list) await handler(event, { ...ctx, headers: {} });
    else await handler.batch(list, ctx);
    await options.beforeCommit?.();
  });
  for (const fn of afterCommit) fn();
}
