import type { Logger, Redis } from '@devicesaga/platform';

export type Revocation = { kind: 'session'; id: string } | { kind: 'apiKey'; id: string } | { kind: 'user'; id: string };

/**
 * Tells every gateway replica, over one Redis pub/sub channel, that a session ended, an API key was revoked or a
 * user changed (role): each replica's in-memory auth cache drops the matching entries at once. The caches also
 * expire on their own within AUTH_CACHE_MS (≤ 1 s), which bounds the delay when a message is lost; and a replica
 * whose subscription was interrupted clears its caches when it is back (it may have missed messages meanwhile).
 */
export class Revocations {
  private readonly channel: string;
  private subscriber: Redis | undefined;
  private readonly listeners: ((r: Revocation) => void)[] = [];
  private readonly resyncs: (() => void)[] = [];

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.channel = `${prefix}auth:revoked`;
  }

  onRevoked(listener: (r: Revocation) => void): void {
    this.listeners.push(listener);
  }

  /** Called when messages may have been missed (the subscription was re-established): drop everything cached. */
  onResync(listener: () => void): void {
    this.resyncs.push(listener);
  }

  start(): void {
    const sub = this.redis.duplicate();
    this.subscriber = sub;
    let subscribedOnce = false;
    sub.on('error', () => undefined); // ioredis reconnects; the main client logs outages
    sub.on('ready', () => {
      if (subscribedOnce) for (const r of this.resyncs) r();
    });
    sub.on('message', (_channel: string, message: string) => {
      const revocation = decode(message);
      if (revocation) for (const l of this.listeners) l(revocation);
    });
    sub.subscribe(this.channel).then(
      () => {
        subscribedOnce = true;
      },
      (err: unknown) => this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'auth revocation channel: subscribe failed'),
    );
  }

  async stop(): Promise<void> {
    await this.subscriber?.quit().catch(() => undefined);
    this.subscriber = undefined;
  }

  session(sid: string): Promise<void> {
    return this.publish({ kind: 'session', id: sid });
  }

  apiKey(prefix: string): Promise<void> {
    return this.publish({ kind: 'apiKey', id: prefix });
  }

  user(userId: string): Promise<void> {
    return this.publish({ kind: 'user', id: userId });
  }

  private async publish(r: Revocation): Promise<void> {
    // This replica first, whatever Redis does; then the others.
    for (const l of this.listeners) l(r);
    try {
      await this.redis.publish(this.channel, `${r.kind}:${r.id}`);
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), kind: r.kind }, 'could not announce a revocation (other replicas drop it within AUTH_CACHE_MS)');
    }
  }
}

function decode(message: string): Revocation | undefined {
  const colon = message.indexOf(':');
  const kind = message.slice(0, colon);
  const id = message.slice(colon + 1);
  if (!id) return undefined;
  if (kind === 'session' || kind === 'apiKey' || kind === 'user') return { kind, id };
  return undefined;
}
