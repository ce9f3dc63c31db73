import type { Logger } from '@devicesaga/platform';

/**
 * Collects items for at most `maxMs` or `maxItems`, then hands them to `flush` as one batch. One flush at a time, so
 * the order per key is kept. A failed flush is retried with backoff; after `attempts` the batch is dropped (counted).
 */
export class Batcher<T> {
  private buffer: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  dropped = 0;
  flushed = 0;

  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    private readonly logger: Logger,
    private readonly maxItems = 500,
    private readonly maxMs = 5,
    private readonly maxBuffered = 100_000,
    private readonly attempts = 4,
  ) {}

  add(item: T): void {
    if (this.buffer.length >= this.maxBuffered) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(item);
    if (this.buffer.length >= this.maxItems) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.maxMs);
  }

  /** Flushes everything buffered (used on stop). */
  async drain(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    while (this.buffer.length) {
      const batch = this.buffer.splice(0, this.maxItems);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.flush(batch);
          this.flushed += batch.length;
          break;
        } catch (err) {
          if (attempt >= this.attempts) {
            this.dropped += batch.length;
            this.logger.error({ err, count: batch.length }, 'telemetry batch dropped after retries');
            break;
          }
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
        }
      }
    }
  }
}
