import type { Logger } from 'pino';

export interface ClientOptions {
  clientId: string;
  brokers: string[];
  logger?: Logger;
  /** Longest a fetch waits on the broker when there is nothing to read (default 20 ms: low latency). */
  maxWaitMs?: number;
  /** Partitions processed concurrently by one consumer (default 3); batches of one partition stay sequential. */
  partitionsConcurrency?: number;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it resolves (true) or `shouldStop()` says to give up (false). A rejected batch is delivered again
 * in-process with backoff, so a transient failure (database down) never skips or commits past it.
 */
export async function retryUntilDone(
  fn: () => Promise<void>,
  shouldStop: () => boolean,
  logger: Logger | undefined,
  heartbeat?: () => Promise<void>,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fn();
      return true;
    } catch (err) {
      logger?.error({ err, attempt }, 'batch failed; it will be delivered again');
      if (shouldStop()) return false;
      const until = Date.now() + Math.min(100 * 2 ** Math.min(attempt - 1, 6), 5_000);
      while (Date.now() < until) {
        if (shouldStop()) return false;
        await sleep(Math.min(100, until - Date.now()));
        if (heartbeat) await heartbeat().catch(() => undefined);
      }
      if (shouldStop()) return false;
    }
  }
}
