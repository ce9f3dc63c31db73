/**
 * The notification bookkeeping of one browser, no I/O (live/notifications.ts does the I/O):
 * - every notification frame carries the user's increasing `seq`; the highest one processed is remembered per user
 *   (localStorage), and the next connection resumes after it (`/ws?lastSeq=`), so what arrived while the browser was
 *   offline is replayed — and shown — once each; a frame at or below it is a duplicate and ignored;
 * - `hello` says after which seq the frames that follow come; which of them are replays is told by the newest seq
 *   that existed when the connection said hello (asked of the REST API then): a frame up to it is one the user
 *   missed while offline, a later one is live;
 * - the unread badge is the REST count (which has a seq watermark: the newest notification it saw) plus the frames
 *   past that watermark, so a frame racing the REST call is counted once.
 */
export interface InboxState {
  /** Highest seq processed in this browser, or null when it never connected for this user. */
  seenSeq: number | null;
  /** The seq this connection resumed after (null: a first connection, nothing to replay). */
  resumedFrom: number | null;
  /** The seq this connection's frames come after (its `hello`). */
  helloSeq: number | null;
  /** The newest seq that existed when this connection said hello: frames up to it are replays. */
  replayUpTo: number | null;
  /** Unread count from the REST API and the newest seq that answer knew of. */
  restUnread: number;
  restWatermark: number;
  /** Seqs received over the socket since the REST answer that were not read yet. */
  frameSeqs: readonly number[];
}

export const initialInbox = (seenSeq: number | null): InboxState => ({
  seenSeq,
  resumedFrom: null,
  helloSeq: null,
  replayUpTo: null,
  restUnread: 0,
  restWatermark: Number.MAX_SAFE_INTEGER,
  frameSeqs: [],
});

/** A new connection is opened: it resumes after what this browser already processed. */
export function connecting(state: InboxState): InboxState {
  return { ...state, resumedFrom: state.seenSeq, helloSeq: null, replayUpTo: null };
}

export function hello(state: InboxState, lastSeq: number): InboxState {
  return { ...state, helloSeq: lastSeq, seenSeq: state.seenSeq ?? lastSeq, replayUpTo: null };
}

/** The newest seq that existed at hello (live.ts holds the connection's notification frames until it knows it). */
export function replayEnds(state: InboxState, latestSeq: number): InboxState {
  return { ...state, replayUpTo: latestSeq };
}

export type FrameKind = 'duplicate' | 'missed' | 'live';

export function classify(state: InboxState, seq: number): FrameKind {
  if (state.seenSeq !== null && seq <= state.seenSeq) return 'duplicate';
  // A first connection in this browser has nothing to have missed: the inbox page shows the history.
  if (state.resumedFrom !== null && state.replayUpTo !== null && seq <= state.replayUpTo) return 'missed';
  return 'live';
}

export function received(state: InboxState, seq: number): InboxState {
  return { ...state, seenSeq: Math.max(state.seenSeq ?? seq, seq), frameSeqs: state.frameSeqs.includes(seq) ? state.frameSeqs : [...state.frameSeqs, seq] };
}

export function restCount(state: InboxState, unread: number, watermark: number): InboxState {
  return { ...state, restUnread: unread, restWatermark: watermark, frameSeqs: state.frameSeqs.filter((s) => s > watermark) };
}

export function unreadBadge(state: InboxState): number {
  return state.restUnread + state.frameSeqs.filter((s) => s > state.restWatermark).length;
}
