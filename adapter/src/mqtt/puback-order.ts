/** A writable byte stream: the MQTT connection's socket as mqtt.js holds it. */
export interface PacketSink {
  write(chunk: Buffer): unknown;
  readonly writable: boolean;
  readonly destroyed?: boolean;
}

/** Settles one received message: its PUBACK may go once every message received before it is settled too. */
export type Settle = () => void;

/**
 * The PUBACKs of one MQTT connection, sent in the order the PUBLISHes arrived (MQTT 5 §4.6: a client sends PUBACKs
 * in the order of the PUBLISHes it received) and only once the message is durable.
 *
 * Every QoS 1 message gets a slot when it arrives; whoever made it durable settles it (in any order); the PUBACKs of
 * the settled prefix go out together, in one socket write. A slot never settled (its work failed, or the adapter
 * stopped first) holds back the PUBACKs after it: the broker redelivers all of them on the next connection (the
 * session is persistent), and recording is idempotent. A slot belongs to the socket its message came on: a PUBACK
 * is never written to a later connection (packet ids are reused there).
 */
export class PubackOrder {
  private readonly ids: number[] = [];
  private readonly settled: boolean[] = [];
  /** Absolute position of `ids[0]` (the arrays are compacted as the prefix is acknowledged). */
  private base = 0;
  private head = 0;
  private flushQueued = false;
  /** PUBACKs written on this connection. */
  sent = 0;

  constructor(
    readonly socket: PacketSink,
    private readonly onSent: (count: number) => void = () => undefined,
  ) {}

  /** Slots not yet acknowledged. */
  get open(): number {
    return this.ids.length - this.head;
  }

  track(messageId: number): Settle {
    const position = this.base + this.ids.length;
    this.ids.push(messageId);
    this.settled.push(false);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const index = position - this.base;
      this.settled[index] = true;
      if (index === this.head && !this.flushQueued) {
        // settle calls come in bursts (a whole batch after its commit): one write for all of them
        this.flushQueued = true;
        queueMicrotask(() => this.flush());
      }
    };
  }

  private flush(): void {
    this.flushQueued = false;
    let end = this.head;
    while (end < this.ids.length && this.settled[end]) end++;
    const count = end - this.head;
    if (count === 0) return;
    // PUBACK with reason Success and no properties: fixed header 0x40, remaining length 2, packet id (MQTT 5 §3.4.2.1;
    // the same 4 bytes in MQTT 3.1.1)
    const packets = Buffer.allocUnsafe(4 * count);
    for (let i = 0; i < count; i++) {
      const id = this.ids[this.head + i]!;
      packets[4 * i] = 0x40;
      packets[4 * i + 1] = 2;
      packets[4 * i + 2] = id >> 8;
      packets[4 * i + 3] = id & 0xff;
    }
    this.head = end;
    if (this.head > 4096 && this.head * 2 > this.ids.length) {
      this.ids.splice(0, this.head);
      this.settled.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
    if (this.socket.destroyed || !this.socket.writable) return; // gone: the broker redelivers them on the next session
    this.socket.write(packets);
    this.sent += count;
    this.onSent(count);
  }
}
