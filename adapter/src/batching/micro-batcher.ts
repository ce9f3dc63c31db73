import type { Logger } from '@devicesaga/platform';

export interface MicroBatcherOptions<T> {
  name: string;
  /** Records a batch durably; resolves once it is (then the batch's messages may be acknowledged). */
  flush: (items: T[]) => Promise<void>;
  /** Called with a batch once `flush` resolved. */
  done: (items: T[]) => void;
  /** The first item of a batch waits at most this long for company (0: only what arrived in the same tick). */
  maxWaitMs: number;
  maxItems: number;
  logger: Logger;
  /** Backoff of a failed flush: doubles from `retryBaseMs` up to `retryMaxMs`, for as long as the batcher runs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Observes each flushed batch's size. */
  onBatch?: (size: number) => void;
}

/**
 * Collects items for at most `maxWaitMs` (or `maxItems`) and flushes them as one batch; one flush at a time, in
 * arrival order, so what arrives while a flush runs forms the next batch (group commit: the busier, the bigger the
 * batches, at the cost of one flush each). A failed flush is retried with backoff, the same batch before any later
 * one, until it succeeds or the batcher stops: nothing is acknowledged that was not flushed, and order holds.
 */
export class MicroBatcher<T> {
  private buffer: T[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wakeRetry: (() => void) | undefined;

  constructor(private readonly options: MicroBatcherOptions<T>) {}

  get buffered(): number {
    return this.buffer.length;
  }

  add(item: T): void {
    this.buffer.push(item);
    if (this.running) return; // the loop takes it next
    if (this.buffer.length >= this.options.maxItems) this.kick();
    else if (!this.timer) {
      this.timer = this.options.maxWaitMs > 0 ? setTimeout(() => this.kick(), this.options.maxWaitMs) : setImmediate(() => this.kick());
    }
  }

  /** Flushes what is buffered and waits for every flush (graceful stop: call after no more items arrive). */
  async drain(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  /** Stops retrying: a batch that could not be flushed stays unacknowledged (redelivered by the broker). */
  stop(): void {
    this.stopped = true;
    this.wakeRetry?.();
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    if (this.running || this.buffer.length === 0) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.buffer.length > 0 && !this.stopped) this.kick();
    });
  }

  private async loop(): Promise<void> {
    const { flush, done, maxItems, logger, name } = this.options;
    while (this.buffer.length > 0 && !this.stopped) {
      const batch = this.buffer.length <= maxItems ? this.buffer : this.buffer.slice(0, maxItems);
      this.buffer = batch === this.buffer ? [] : this.buffer.slice(maxItems);
      for (let attempt = 1; ; attempt++) {
        try {
          await flush(batch);
          break;
        } catch (err) {
          if (this.stopped) return;
          const delay = Math.min((this.options.retryBaseMs ?? 50) * 2 ** (attempt - 1), this.options.retryMaxMs ?? 5000);
          logger.warn({ err, batch: name, size: batch.length, attempt, delayMs: delay }, 'batch not recorded: retrying');
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, delay);
            this.wakeRetry = () => {
              clearTimeout(t);
              resolve();
            };
          });
          this.wakeRetry = undefined;
          if (this.stopped) return;
        }
      }
      this.options.onBatch?.(batch.length);
      done(batch);
    }
  }
}
