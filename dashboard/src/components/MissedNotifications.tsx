import { dismissMissed, missed } from '../live/live';
import { formatTime } from '../lib/format';
import { Link } from '../lib/router';
import { useStore } from '../lib/store';

/** What the push-service replayed after the browser was offline (resume after `lastSeq`): each shown once. */
export function MissedNotifications() {
  const items = useStore(missed);
  if (items.length === 0) return null;
  return (
    <section className="missed" aria-labelledby="missed-title" data-testid="missed-notifications">
      <div className="missed-head">
        <h2 id="missed-title">
          While you were away: {items.length} notification{items.length === 1 ? '' : 's'}
        </h2>
        <button type="button" className="secondary" onClick={dismissMissed}>
          Dismiss
        </button>
      </div>
      <ul>
        {items.slice(0, 5).map((n) => (
          <li key={n.seq}>
            <strong>{n.title}</strong> <span className="muted">{formatTime(n.createdAt)}</span>
            <div>{n.description}</div>
          </li>
        ))}
      </ul>
      {items.length > 5 ? (
        <p>
          …and {items.length - 5} more in <Link to="/inbox">Notifications</Link>.
        </p>
      ) : null}
    </section>
  );
}
