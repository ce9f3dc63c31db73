import { classify, connecting, hello, initialInbox, received, replayEnds, restCount, unreadBadge, type InboxState } from '../src/lib/inbox';

/** Replays what the socket would deliver: each frame classified, then recorded, as live.ts does. */
function deliver(state: InboxState, seqs: number[]): { state: InboxState; kinds: string[] } {
  const kinds: string[] = [];
  for (const seq of seqs) {
    const kind = classify(state, seq);
    kinds.push(kind);
    if (kind !== 'duplicate') state = received(state, seq);
  }
  return { state, kinds };
}

describe('notifications in one browser: resume after lastSeq, each shown once', () => {
  it('a first connection in this browser counts nothing as missed', () => {
    let s = connecting(initialInbox(null));
    s = replayEnds(hello(s, 12), 14);
    expect(s.seenSeq).toBe(12);
    expect(deliver(s, [13, 14, 15]).kinds).toEqual(['live', 'live', 'live']);
  });

  it('after being offline, the frames up to the newest seq at hello are missed, later ones live, repeats ignored', () => {
    let s = connecting(initialInbox(5)); // this browser had processed up to 5
    s = hello(s, 5); // frames follow 5
    s = replayEnds(s, 8); // 6, 7 and 8 existed when it said hello: replays
    const { state, kinds } = deliver(s, [6, 7, 8, 7, 9]);
    expect(kinds).toEqual(['missed', 'missed', 'missed', 'duplicate', 'live']);
    expect(state.seenSeq).toBe(9);

    // Reconnecting again resumes after 9: nothing is shown twice.
    const again = replayEnds(hello(connecting(state), 9), 9);
    expect(deliver(again, [8, 9, 10]).kinds).toEqual(['duplicate', 'duplicate', 'live']);
  });
});

describe('the unread badge', () => {
  it('is the REST count plus frames past its watermark, so a frame racing the REST answer counts once', () => {
    let s = initialInbox(0);
    s = received(s, 10); // arrived before the REST answer, which already counts it
    s = received(s, 11); // arrived after the REST answer was computed
    s = restCount(s, 4, 10);
    expect(unreadBadge(s)).toBe(5);
    s = received(s, 12);
    expect(unreadBadge(s)).toBe(6);
    s = restCount(s, 0, 12); // all marked read
    expect(unreadBadge(s)).toBe(0);
  });
});
