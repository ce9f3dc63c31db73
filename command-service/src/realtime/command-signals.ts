import type { Logger, Redis } from '@devicesaga/platform';
import type { CommandView } from '../db/commands-repo';

export const commandChannel = (commandId: string) => `command:${commandId}`;
export const userCommandsChannel = (userId: string) => `user-commands:${userId}`;

/**
 * Publishes a command's change on Redis after its transaction commits: `command:<id>` (`{version, status}`, wakes the
 * long-polls of every replica) and `user-commands:<userId>` (the command as the API shows it, for push-service).
 * Best effort: a lost signal only delays a long-poll until its `wait` ends, and push-service can re-read.
 */
export class CommandPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  publish(userId: string, command: CommandView, signalPollers = true): void {
    const { history: _history, ...summary } = command;
    const pipeline = this.redis.pipeline();
    if (signalPollers) pipeline.publish(commandChannel(command.id), JSON.stringify({ version: command.version, status: command.status }));
    pipeline.publish(userCommandsChannel(userId), JSON.stringify(summary));
    pipeline.exec().then(
      (results) => {
        const failed = results?.find(([err]) => err);
        if (failed?.[0]) this.logger.warn({ err: failed[0].message, commandId: command.id }, 'command signal not published');
      },
      (err: unknown) => this.logger.warn({ err: err instanceof Error ? err.message : String(err), commandId: command.id }, 'command signal not published'),
    );
  }
}

type Listener = () => void;

/**
 * One shared Redis subscriber connection per process; long-polls register a listener per command channel and are
 * fanned out in memory. The channel is subscribed while it has listeners.
 */
export class CommandSignals {
  private readonly listeners = new Map<string, Set<Listener>>();
  private isClosed = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly logger: Logger,
  ) {
    subscriber.on('message', (channel: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener();
    });
  }

  /**
   * Listens to `command:<id>`; resolves once Redis confirms the subscription (so a change committed after this
   * resolves is never missed). Returns the function that stops listening.
   */
  async listen(commandId: string, listener: Listener): Promise<() => void> {
    if (this.isClosed) throw new Error('signals closed');
    const channel = commandChannel(commandId);
    let set = this.listeners.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
    }
    set.add(listener);
    const unlisten = () => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      this.subscriber.unsubscribe(channel).catch((err: unknown) => this.logger.debug({ err, channel }, 'unsubscribe failed'));
    };
    try {
      // Subscribing again when already subscribed is harmless and confirms the subscription is in place.
      await this.subscriber.subscribe(channel);
    } catch (err) {
      unlisten();
      throw err;
    }
    if (first) this.logger.trace({ channel }, 'subscribed');
    return unlisten;
  }

  /** Wakes every listener (so long-polls answer at once) and refuses new ones; used when the service stops. */
  close(): void {
    this.isClosed = true;
    for (const set of this.listeners.values()) for (const listener of set) listener();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  get size(): number {
    return this.listeners.size;
  }
}
