import type { AlarmView, CommandViewDto, NotificationView, WsServerFrame } from '@devicesaga/contracts';
import { api } from '../api/endpoints';
import { mergeCommand } from '../lib/commands';
import { classify, connecting, hello, initialInbox, received, replayEnds, restCount, unreadBadge, type InboxState } from '../lib/inbox';
import { createStore } from '../lib/store';
import { LiveSocket, type SocketStatus } from './socket';

/**
 * Everything that arrives live, for the logged-in user: the socket's status, device presence, the latest reading of
 * each subscribed sensor, every command's latest known state, the notification inbox's bookkeeping and the
 * notifications missed while offline. Pages read these stores; the chart and the alarm list also listen to frames.
 */
export const socketStatus = createStore<SocketStatus>('closed');
/** Frames the contracts' schema rejected (shown on the live indicator; the browser tests expect none). */
export const badFrames = createStore(0);
export const presence = createStore<Readonly<Record<string, { online: boolean; at: string }>>>({});
export const readings = createStore<Readonly<Record<string, { value: number; ts: string }>>>({});
export const commands = createStore<Readonly<Record<string, CommandViewDto>>>({});
export const inbox = createStore<InboxState>(initialInbox(null));
export const unread = createStore(0);
/** Notifications replayed after the browser was offline, shown once (then dismissed). */
export const missed = createStore<readonly NotificationView[]>([]);
/** The newest notifications received live in this page session (newest first). */
export const recent = createStore<readonly NotificationView[]>([]);

type FrameListener = (frame: WsServerFrame) => void;
const listeners = new Set<FrameListener>();

/** Every parsed frame, for views that keep their own data (the chart appends points, the alarm list updates rows). */
export function onFrame(listener: FrameListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

let socket: LiveSocket | undefined;
let userId: string | undefined;
/** Notification frames held from `hello` until the REST API told which of them are replays. */
let held: Extract<WsServerFrame, { type: 'notification' }>[] | null = null;
const seqKey = (id: string) => `devicesaga.lastSeq.${id}`;

inbox.subscribe(() => unread.set(unreadBadge(inbox.get())));

export function startLive(forUser: string): void {
  if (socket && userId === forUser) return;
  stopLive();
  userId = forUser;
  const stored = Number(localStorage.getItem(seqKey(forUser)) ?? 'NaN');
  inbox.set(initialInbox(Number.isInteger(stored) && stored >= 0 ? stored : null));
  socket = new LiveSocket({
    resumeAfter: () => inbox.get().seenSeq,
    onConnecting: () => inbox.set(connecting),
    onFrame: handle,
    onStatus: (s) => socketStatus.set(s),
    onBadFrame: () => badFrames.set((n) => n + 1),
  });
  socket.start();
  void refreshUnread();
}

export function stopLive(): void {
  socket?.stop();
  socket = undefined;
  userId = undefined;
  held = null;
  presence.set({});
  readings.set({});
  commands.set({});
  missed.set([]);
  recent.set([]);
  inbox.set(initialInbox(null));
}

/** Live data for these devices while the returned function is not called. */
export function subscribeDevices(deviceIds: string[]): () => void {
  if (!socket || deviceIds.length === 0) return () => undefined;
  return socket.subscribe(deviceIds);
}

/** Records a command the dashboard learned of by other means (its POST answer, a poll, a listing). */
export function noteCommand(command: CommandViewDto): void {
  commands.set((all) => ({ ...all, [command.id]: mergeCommand(all[command.id], command) }));
}

/**
 * The unread count from the REST API (at start, on every connection, after marking read or clearing), with the
 * newest seq it knew of; undefined when the API could not be asked.
 */
export async function refreshUnread(): Promise<number | undefined> {
  try {
    const page = await api.notifications({ limit: 1 });
    const unreadCount = page.unread ?? (await api.notifications({ unread: true, limit: 200 })).items.length;
    const watermark = page.items[0]?.seq ?? 0;
    inbox.set((s) => restCount(s, unreadCount, watermark));
    return watermark;
  } catch {
    // The badge keeps its last value; the next connection or action refreshes it.
    return undefined;
  }
}

/** After `hello`: learn the newest seq at this moment, then let the held notification frames through. */
async function markReplayEnd(forUser: string): Promise<void> {
  const latest = await refreshUnread();
  if (userId !== forUser) return;
  inbox.set((s) => replayEnds(s, latest ?? s.helloSeq ?? 0));
  const frames = held ?? [];
  held = null;
  for (const f of frames) notification(f);
}

function notification(frame: Extract<WsServerFrame, { type: 'notification' }>): void {
  if (held) {
    held.push(frame);
    return;
  }
  const kind = classify(inbox.get(), frame.seq);
  if (kind === 'duplicate') return;
  const item: NotificationView = { ...frame.notification, seq: frame.seq, readAt: null };
  inbox.set((s) => received(s, frame.seq));
  if (userId) localStorage.setItem(seqKey(userId), String(inbox.get().seenSeq ?? frame.seq));
  if (kind === 'missed') missed.set((m) => [...m, item]);
  recent.set((r) => [item, ...r].slice(0, 50));
  socket?.ack(frame.seq);
}

export function dismissMissed(): void {
  missed.set([]);
}

function handle(frame: WsServerFrame): void {
  switch (frame.type) {
    case 'hello':
      inbox.set((s) => hello(s, frame.lastSeq));
      held = [];
      if (userId) void markReplayEnd(userId);
      break;
    case 'notification':
      notification(frame);
      break;
    case 'command':
      noteCommand(frame.command);
      break;
    case 'measurement':
      readings.set((r) => ({ ...r, [frame.sensorId]: { value: frame.value, ts: frame.ts } }));
      break;
    case 'device':
      presence.set((p) => ({ ...p, [frame.deviceId]: { online: frame.online, at: frame.at } }));
      break;
    case 'alarm':
    case 'error':
      break;
    default: {
      const never: never = frame;
      void never;
    }
  }
  for (const listener of [...listeners]) listener(frame);
}

export type { AlarmView };
