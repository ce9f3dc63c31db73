import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { EventOf, PayloadOf, Topic } from '@devicesaga/contracts';
import type { HandlerContext } from './types';

export interface HandleOnceOptions {
  logger: Logger;
  /** Where `ctx.emit` goes (default: refused, for handlers that emit nothing). */
  emit?: <T extends Topic>(topic: T, key: string, payload: PayloadOf<T>) => void;
  /** Runs inside the transaction after the handler, before the commit (e.g. to race it in a test). */
  beforeCommit?: () => Promise<void>;
}

/**
 * Runs one handler as the consumer does — in a transaction, then its after-commit callbacks — without Kafka, the inbox
 * or the outbox. For tests of handlers against a real database.
 */
export async function handleOnce<T extends Topic>(
  dataSource: DataSource,
  handler: (event: EventOf<T>, ctx: HandlerContext) => Promise<void>,
  event: EventOf<T>,
  options: HandleOnceOptions,
): Promise<void> {
  const afterCommit: (() => void)[] = [];
  await dataSource.transaction(async (manager) => {
    const ctx: HandlerContext = {
      manager,
      logger: options.logger,
      headers: {},
      emit: (topic, key, payload) => {
        if (!options.emit) return Promise.reject(new Error(`this handler is not expected to emit (${topic})`));
        options.emit(topic, key, payload);
        return Promise.resolve();
      },
      afterCommit: (fn) => {
        afterCommit.push(fn);
      },
    };
    await handler(event, ctx);
    await options.beforeCommit?.();
  });
  for (const fn of afterCommit) fn();
}
