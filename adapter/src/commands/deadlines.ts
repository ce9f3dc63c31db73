import type { Logger } from '@devicesaga/platform';

/** A pending command's deadlines: the reply deadline (only while its device is online) and its TTL. */
export interface Deadlined {
  commandId: string;
  expiresAt: Date;
  replyDeadline: Date | null;
}

interface HeapEntry {
  dueAt: number;
  commandId: string;
}

/** Longest single timer (setTimeout's limit is ~24.8 days; a command's TTL is at most a day). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The adapter's deadlines in memory, one timer for the earliest: no polling, so an idle adapter costs nothing, and a
 * deadline fires within a few milliseconds of its time. The table stays the truth — `onDue` re-reads the commands
 * under lock and decides from the rows — so a stale entry (the command was closed elsewhere, or its deadline moved)
 * costs one look, never a wrong outcome; a restarted adapter rebuilds everything from the table (`track` of every
 * open command). Deadlines fire in batches (every command due by then, `maxBatch` at a time), one batch at a time.
 */
export class DeadlineTimers {
  private readonly due = new Map<string, number>();
  private readonly heap: HeapEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private firing: Promise<void> | undefined;
  private stopped = false;
  /** Nothing fires before this (ms since epoch): at start, replies queued in the broker get their chance first. */
  private holdUntil = 0;

  constructor(
    private readonly onDue: (commandIds: string[]) => Promise<void>,
    private readonly logger: Logger,
    private readonly maxBatch = 500,
  ) {}

  /** Commands being watched. */
  get size(): number {
    return this.due.size;
  }

  /** When the timer fires next (ms since epoch), or undefined when nothing is armed. */
  get nextWakeAt(): number | undefined {
    return this.timer ? this.timerAt : undefined;
  }

  /** Holds every deadline until `ms` from now (used at start-up). */
  holdFor(ms: number): void {
    this.holdUntil = Date.now() + ms;
    this.arm();
  }

  /** Watches (or re-watches with new deadlines) commands that are open. */
  track(commands: Deadlined[]): void {
    for (const c of commands) {
      const dueAt = Math.min(c.expiresAt.getTime(), c.replyDeadline?.getTime() ?? Infinity);
      if (this.due.get(c.commandId) === dueAt) continue;
      this.due.set(c.commandId, dueAt);
      push(this.heap, { dueAt, commandId: c.commandId });
    }
    this.arm();
  }

  /** Stops watching commands that closed. */
  forget(commandIds: Iterable<string>): void {
    for (const id of commandIds) this.due.delete(id); // their heap entries are skipped when they surface
    if (this.due.size === 0) this.heap.length = 0;
    this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.firing;
  }

  private arm(): void {
    if (this.stopped || this.firing) return;
    this.dropStale();
    const top = this.heap[0];
    if (!top) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    const at = Math.max(top.dueAt, this.holdUntil);
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS));
    this.timer.unref();
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.due.get(top.commandId) === top.dueAt) return;
      pop(this.heap);
    }
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    const ids: string[] = [];
    this.dropStale();
    while (this.heap.length > 0 && this.heap[0]!.dueAt <= now && ids.length < this.maxBatch) {
      const e = pop(this.heap)!;
      if (this.due.get(e.commandId) !== e.dueAt) continue;
      this.due.delete(e.commandId); // `onDue` tracks it again if it is still open
      ids.push(e.commandId);
      this.dropStale();
    }
    if (ids.length === 0) return this.arm();
    this.firing = this.onDue(ids)
      .catch((err: unknown) => {
        // nothing was closed: look again in a second
        this.logger.error({ err, count: ids.length }, 'closing overdue commands failed: retrying in 1 s');
        const retryAt = Date.now() + 1000;
        for (const id of ids) {
          if (!this.due.has(id)) {
            this.due.set(id, retryAt);
            push(this.heap, { dueAt: retryAt, commandId: id });
          }
        }
      })
      .finally(() => {
        this.firing = undefined;
        this.arm();
      });
  }
}

/* a binary min-heap on dueAt */
function push(heap: HeapEntry[], e: HeapEntry): void {
  heap.push(e);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.dueAt <= e.dueAt) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = e;
}

function pop(heap: HeapEntry[]): HeapEntry | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || !last) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    let mDue = last.dueAt;
    if (l < heap.length && heap[l]!.dueAt < mDue) {
      m = l;
      mDue = heap[l]!.dueAt;
    }
    if (r < heap.length && heap[r]!.dueAt < mDue) m = r;
    if (m === i) break;
    heap[i] = heap[m]!;
    i = m;
  }
  heap[i] = last;
  return top;
}
