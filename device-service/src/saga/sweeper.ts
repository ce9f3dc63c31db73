import type { Bus, Logger } from '@devicesaga/platform';
import { sweepDeadlines, sweepExpiredQueued, type Emit, type SagaSettings } from './saga';

export interface SweeperOptions {
  /** A transaction with the outbox (`bus.transaction`). */
  transaction: Bus['transaction'];
  settings: SagaSettings;
  logger: Logger;
  intervalMs: number;
}

/** One sweep: sagas past their deadline → compensated (DEADLINE_EXCEEDED); expired queued commands → rejected. */
export async function sweepOnce(o: Omit<SweeperOptions, 'intervalMs'>): Promise<{ compensated: number; expired: number }> {
  const run = (work: (ctx: Parameters<typeof sweepDeadlines>[0]) => Promise<number>) =>
    o.transaction((tx) => {
      const emit: Emit = (e) => {
        tx.emit(e);
        return Promise.resolve();
      };
      return work({ m: tx.manager, emit, settings: o.settings, logger: o.logger });
    });
  const compensated = await run((ctx) => sweepDeadlines(ctx));
  const expired = await run((ctx) => sweepExpiredQueued(ctx));
  return { compensated, expired };
}

/** Runs `sweepOnce` every `intervalMs` (several replicas may: rows are taken with SKIP LOCKED). */
export function startSweeper(o: SweeperOptions): { stop(): Promise<void> } {
  let stopped = false;
  let current: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopped) return;
    current = sweepOnce(o)
      .then((r) => {
        if (r.compensated || r.expired) o.logger.info(r, 'sweeper pass');
      })
      .catch((err: unknown) => o.logger.error({ err }, 'sweeper pass failed'))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, o.intervalMs);
      });
  };
  timer = setTimeout(tick, o.intervalMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
