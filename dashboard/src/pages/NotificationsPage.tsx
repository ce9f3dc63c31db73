import { useEffect, useState } from 'react';
import type { NotificationView } from '@devicesaga/contracts';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import { recent, refreshUnread } from '../live/live';
import { formatTime } from '../lib/format';
import { Link, setQueryParams, useQueryParam } from '../lib/router';
import { useStore } from '../lib/store';
import { useAsync } from '../lib/use-async';

const PAGE = 30;

/** The inbox: every notification (newest first), live ones prepended; mark one read, or clear them all. */
export function NotificationsPage() {
  const onlyUnread = useQueryParam('unread') === '1';
  const first = useAsync(() => api.notifications({ limit: PAGE, ...(onlyUnread ? { unread: true } : {}) }), [onlyUnread]);
  const [items, setItems] = useState<NotificationView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const live = useStore(recent);

  useEffect(() => {
    if (!first.data) return;
    setItems(first.data.items);
    setCursor(first.data.nextCursor);
  }, [first.data]);

  // Live notifications go on top (once each: by id).
  useEffect(() => {
    setItems((current) => {
      const known = new Set(current.map((n) => n.id));
      const fresh = live.filter((n) => !known.has(n.id));
      return fresh.length ? [...fresh, ...current].sort((a, b) => b.seq - a.seq) : current;
    });
  }, [live]);

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
      void refreshUnread();
    }
  };
  const markRead = (n: NotificationView) =>
    act(async () => {
      await api.markRead(n.id);
      const now = new Date().toISOString();
      setItems((all) => (onlyUnread ? all.filter((x) => x.id !== n.id) : all.map((x) => (x.id === n.id ? { ...x, readAt: now } : x))));
    });
  const markAll = () =>
    act(async () => {
      await api.markAllRead();
      const now = new Date().toISOString();
      setItems((all) => (onlyUnread ? [] : all.map((x) => (x.readAt ? x : { ...x, readAt: now }))));
    });
  const clearAll = () =>
    act(async () => {
      await api.clearNotifications();
      setItems([]);
      setCursor(null);
      recent.set([]);
    });
  const more = () =>
    act(async () => {
      const page = await api.notifications({ limit: PAGE, after: cursor, ...(onlyUnread ? { unread: true } : {}) });
      setItems((all) => [...all, ...page.items.filter((n) => !all.some((x) => x.id === n.id))]);
      setCursor(page.nextCursor);
    });
  const visible = onlyUnread ? items.filter((n) => !n.readAt) : items;

  return (
    <div className="page">
      <div className="page-head">
        <h1>Notifications</h1>
        <div className="actions">
          <label className="check">
            <input type="checkbox" checked={onlyUnread} onChange={(e) => setQueryParams({ unread: e.target.checked ? '1' : null })} /> unread only
          </label>
          <button type="button" className="secondary" disabled={busy || !items.some((n) => !n.readAt)} onClick={() => void markAll()}>
            Mark all read
          </button>
          <button type="button" className="secondary" disabled={busy || items.length === 0} onClick={() => void clearAll()} data-testid="clear-notifications">
            Clear all
          </button>
        </div>
      </div>
      {first.error || error ? (
        <p className="notice error" role="alert">
          {first.error ?? error}
        </p>
      ) : null}
      {first.loading && items.length === 0 ? <p className="muted">Loading…</p> : null}
      {!first.loading && visible.length === 0 ? <p className="empty">{onlyUnread ? 'Nothing unread.' : 'No notifications.'}</p> : null}
      <ul className="inbox" data-testid="inbox">
        {visible.map((n) => (
          <li key={n.id} className={n.readAt ? 'read' : 'unread'} data-testid="notification" data-seq={n.seq}>
            <div className="inbox-main">
              <span className={`kind ${kindOf(n.eventType)}`}>{labelOf(n.eventType)}</span>
              <strong>{n.title}</strong>
              <p>{n.description}</p>
              <span className="muted small">
                <time dateTime={n.createdAt}>{formatTime(n.createdAt)}</time>
                {typeof n.payload.deviceId === 'string' ? (
                  <>
                    {' · '}
                    <Link to={`/devices/${n.payload.deviceId}`}>device</Link>
                  </>
                ) : null}
              </span>
            </div>
            {n.readAt ? (
              <span className="muted small">read</span>
            ) : (
              <button type="button" className="secondary" disabled={busy} onClick={() => void markRead(n)} aria-label={`Mark “${n.title}” read`}>
                Mark read
              </button>
            )}
          </li>
        ))}
      </ul>
      {cursor ? (
        <button type="button" className="secondary" disabled={busy} onClick={() => void more()}>
          Load older
        </button>
      ) : null}
    </div>
  );
}

function kindOf(eventType: string): string {
  if (eventType.startsWith('alarm.')) return 'alarm';
  if (eventType === 'adapter.value_set_sent') return 'ok';
  if (eventType.endsWith('error')) return 'bad';
  return 'info';
}

function labelOf(eventType: string): string {
  switch (eventType) {
    case 'adapter.value_set_sent':
      return 'command succeeded';
    case 'adapter.value_set_error':
      return 'device failed';
    case 'dm.value_set_error':
      return 'command rejected / compensated';
    case 'alarm.alarm_created':
      return 'alarm raised';
    case 'alarm.alarm_cleared':
      return 'alarm cleared';
    default:
      return eventType;
  }
}
