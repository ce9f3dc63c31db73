import { PubackOrder } from '../src/mqtt/puback-order';

/** A socket that records what is written (PUBACK packets: 0x40 0x02 id-msb id-lsb). */
function fakeSocket() {
  const acked: number[] = [];
  const writes: number[] = [];
  return {
    acked,
    writes,
    writable: true,
    destroyed: false,
    write(chunk: Buffer) {
      writes.push(chunk.length / 4);
      for (let i = 0; i < chunk.length; i += 4) {
        if (chunk[i] !== 0x40 || chunk[i + 1] !== 2) throw new Error('not a PUBACK');
        acked.push(chunk.readUInt16BE(i + 2));
      }
      return true;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('PUBACKs of one connection', () => {
  it('go in the order the messages arrived, whatever order they are settled in, and a settled run in one write', async () => {
    const socket = fakeSocket();
    const order = new PubackOrder(socket);
    const settle = [11, 12, 13, 14, 15].map((id) => order.track(id));
    settle[2]!();
    settle[1]!();
    await tick();
    expect(socket.acked).toEqual([]); // 11 is not settled: nothing after it goes
    settle[0]!();
    await tick();
    expect(socket.acked).toEqual([11, 12, 13]);
    expect(socket.writes).toEqual([3]);
    settle[4]!();
    settle[3]!();
    settle[3]!(); // twice changes nothing
    await tick();
    expect(socket.acked).toEqual([11, 12, 13, 14, 15]);
    expect(order.open).toBe(0);
  });

  it('are never written to a socket that is gone', async () => {
    const socket = fakeSocket();
    const order = new PubackOrder(socket);
    const settle = order.track(7);
    socket.destroyed = true;
    settle();
    await tick();
    expect(socket.acked).toEqual([]);
  });

  it('keep their order across thousands of messages (the ledger compacts behind the acknowledged prefix)', async () => {
    const socket = fakeSocket();
    const order = new PubackOrder(socket);
    const ids = Array.from({ length: 20_000 }, (_, i) => (i % 65535) + 1);
    const settles = ids.map((id) => order.track(id));
    for (let i = 0; i < settles.length; i += 1000) {
      for (let j = Math.min(i + 999, settles.length - 1); j >= i; j--) settles[j]!();
      await tick();
    }
    expect(socket.acked).toEqual(ids);
  });
});
