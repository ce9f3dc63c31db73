import type { ReactNode } from 'react';
import type { Me } from '../api/schemas';
import { badFrames, socketStatus, unread } from '../live/live';
import { isOperator, logOut } from '../live/session';
import { Link, useLocation } from '../lib/router';
import { useStore } from '../lib/store';
import { MissedNotifications } from './MissedNotifications';

const nav = [
  { to: '/', label: 'Devices', active: (p: string) => p === '/' || p.startsWith('/devices') },
  { to: '/alarms', label: 'Alarms', active: (p: string) => p.startsWith('/alarm') },
  { to: '/inbox', label: 'Notifications', active: (p: string) => p.startsWith('/inbox') },
];

const liveText = { open: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline', closed: 'Not connected' } as const;

export function Layout({ me, children }: { me: Me; children: ReactNode }) {
  const { path } = useLocation();
  const status = useStore(socketStatus);
  const count = useStore(unread);
  const rejected = useStore(badFrames);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="devicesaga home">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>devicesaga</span>
        </Link>
        <nav aria-label="Main">
          <ul>
            {nav.map((item) => (
              <li key={item.to}>
                <Link to={item.to} aria-current={item.active(path) ? 'page' : undefined}>
                  {item.label}
                  {item.to === '/inbox' && count > 0 ? (
                    <span className="badge" data-testid="unread-badge" aria-label={`${count} unread`}>
                      {count > 99 ? '99+' : count}
                    </span>
                  ) : null}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="session">
          <span className={`live live-${status}`} role="status" aria-live="polite" data-testid="live-status" data-bad-frames={rejected}>
            <span className="dot" aria-hidden="true" />
            {liveText[status]}
          </span>
          <span className="who" title={me.email}>
            {me.username ?? me.email}
            {isOperator(me) ? <span className="role">operator</span> : null}
          </span>
          <button type="button" className="secondary" onClick={() => void logOut()}>
            Log out
          </button>
        </div>
      </header>
      <MissedNotifications />
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
