import { wsServerFrame, type WsClientFrame, type WsServerFrame } from '@devicesaga/contracts';

export type SocketStatus = 'connecting' | 'open' | 'reconnecting' | 'offline' | 'closed';

export interface LiveSocketOptions {
  /** The seq to resume after (`?lastSeq=`), read at each (re)connection. */
  resumeAfter: () => number | null;
  onFrame: (frame: WsServerFrame) => void;
  onStatus: (status: SocketStatus) => void;
  /** A frame that is not JSON or that `wsServerFrame` rejects (counted, dropped). */
  onBadFrame?: (raw: string) => void;
  /** Called right before each connection attempt (the inbox marks where it resumes from). */
  onConnecting?: () => void;
}

/**
 * The dashboard's one WebSocket to the gateway's `/ws` (DESIGN.md §5.2), authenticated by the session cookie at the
 * upgrade. Every frame is parsed with the contracts' `wsServerFrame` (an unknown or malformed frame is counted and
 * dropped). Reconnects with capped, jittered backoff; closes while the browser says it is offline and reconnects
 * when it is back, resuming after the last notification seq it processed; re-sends its device subscriptions (kept
 * reference-counted, so two views of one device share one subscription) on every connection.
 */
export class LiveSocket {
  private ws: WebSocket | undefined;
  private status: SocketStatus = 'closed';
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  private readonly subscriptions = new Map<string, number>();
  private pendingAck: number | undefined;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: LiveSocketOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('offline', this.wentOffline);
    window.addEventListener('online', this.cameOnline);
    if (navigator.onLine) this.connect();
    else this.setStatus('offline');
  }

  stop(): void {
    this.stopped = true;
    window.removeEventListener('offline', this.wentOffline);
    window.removeEventListener('online', this.cameOnline);
    clearTimeout(this.timer);
    clearTimeout(this.ackTimer);
    this.closeSocket();
    this.setStatus('closed');
  }

  /** Live measurements and presence of these devices while the returned function is not called. */
  subscribe(deviceIds: string[]): () => void {
    const added = deviceIds.filter((id) => {
      const n = this.subscriptions.get(id) ?? 0;
      this.subscriptions.set(id, n + 1);
      return n === 0;
    });
    if (added.length) this.sendInChunks('subscribe', added);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const removed = deviceIds.filter((id) => {
        const n = (this.subscriptions.get(id) ?? 1) - 1;
        if (n <= 0) this.subscriptions.delete(id);
        else this.subscriptions.set(id, n);
        return n <= 0;
      });
      if (removed.length) this.sendInChunks('unsubscribe', removed);
    };
  }

  /** Acknowledges processed notifications (coalesced: the highest seq, at most every 250 ms). */
  ack(seq: number): void {
    this.pendingAck = Math.max(this.pendingAck ?? seq, seq);
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      if (this.pendingAck !== undefined && this.send({ type: 'ack', seq: this.pendingAck })) this.pendingAck = undefined;
    }, 250);
  }

  private connect(): void {
    if (this.stopped) return;
    this.closeSocket();
    this.options.onConnecting?.();
    this.setStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const resume = this.options.resumeAfter();
    const url = new URL('/ws', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (resume !== null) url.searchParams.set('lastSeq', String(resume));
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      if (performance.getEntriesByName('devicesaga:ws-open').length === 0) performance.mark('devicesaga:ws-open');
      this.attempt = 0;
      this.setStatus('open');
      const ids = [...this.subscriptions.keys()];
      if (ids.length) this.sendInChunks('subscribe', ids);
      if (this.pendingAck !== undefined) this.ack(this.pendingAck);
    };
    ws.onmessage = (event: MessageEvent) => {
      if (this.ws !== ws || typeof event.data !== 'string') return;
      let json: unknown;
      try {
        json = JSON.parse(event.data);
      } catch {
        this.options.onBadFrame?.(event.data);
        return;
      }
      const parsed = wsServerFrame.safeParse(json);
      if (!parsed.success) {
        this.options.onBadFrame?.(event.data);
        return;
      }
      this.options.onFrame(parsed.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.scheduleReconnect();
    };
    // An error is always followed by close; the browser itself reports the failed connection.
    ws.onerror = () => undefined;
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.setStatus('offline');
      return;
    }
    this.attempt++;
    this.setStatus('reconnecting');
    const delay = Math.min(10_000, 500 * 2 ** Math.min(this.attempt - 1, 5)) * (0.75 + Math.random() * 0.5);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private readonly wentOffline = () => {
    clearTimeout(this.timer);
    this.closeSocket();
    this.setStatus('offline');
  };

  private readonly cameOnline = () => {
    if (this.stopped) return;
    this.attempt = 0;
    this.connect();
  };

  private closeSocket(): void {
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'closing');
  }

  private sendInChunks(type: 'subscribe' | 'unsubscribe', ids: string[]): void {
    for (let i = 0; i < ids.length; i += 500) this.send({ type, deviceIds: ids.slice(i, i + 500) });
  }

  private send(frame: WsClientFrame): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  private setStatus(status: SocketStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.options.onStatus(status);
  }
}
