import type { Logger } from 'pino';

export interface ClientOptions {
  clientId: string;
  brokers: string[];
  logger?: Logger;
  /**
   * Longest a fetch waits on the broker when there is nothing to read (default 500 ms). It costs no latency — with
   * minBytes 1 the broker answers as soon as a record arrives — while a short wait makes every idle consumer poll.
   */
  maxWaitMs?: number;
  /** Partitions processed concurrently by one consumer (default 8); batches of one partition stay sequential. */
  partitionsConcurrency?: number;
  /** Group session timeout (default 30,000 ms; the broker's minimum is 6,000) and heartbeat interval (default 3,000 ms). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
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

/**
 * Splits records into consecutive chunks under the broker's default message.max.bytes (1 MiB) per request, keeping
 * their order: chunks are sent one after another, so order per key holds.
 */
export function chunkRecords<R extends { key: string; value: Buffer; headers: Record<string, string> }>(records: R[], maxBytes = 512 * 1024, maxCount = 1000): R[][] {
  const chunks: R[][] = [];
  let current: R[] = [];
  let size = 0;
  for (const r of records) {
    let bytes = r.value.length + r.key.length + 32;
    for (const k in r.headers) bytes += k.length + (r.headers[k]?.length ?? 0) + 8;
    if (current.length > 0 && (size + bytes > maxBytes || current.length >= maxCount)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(r);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
