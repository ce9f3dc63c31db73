import { useEffect, useRef } from 'react';
import { Layout } from './components/Layout';
import { restoreSession, session } from './live/session';
import { match, useLocation } from './lib/router';
import { useStore } from './lib/store';
import { AlarmsPage } from './pages/AlarmsPage';
import { AlarmTypesPage } from './pages/AlarmTypesPage';
import { DevicePage } from './pages/DevicePage';
import { DevicesPage } from './pages/DevicesPage';
import { LoginPage } from './pages/LoginPage';
import { NotificationsPage } from './pages/NotificationsPage';
import type { Me } from './api/schemas';

const titles: [string, string][] = [
  ['/', 'Devices'],
  ['/devices/:id', 'Device'],
  ['/alarms', 'Alarms'],
  ['/alarm-types', 'Alarm types'],
  ['/inbox', 'Notifications'],
];

export function App() {
  const s = useStore(session);
  const { path } = useLocation();
  const previous = useRef({ path, status: s.status });
  useEffect(() => {
    void restoreSession();
  }, []);
  useEffect(() => {
    const title = titles.find(([p]) => match(p, path))?.[1];
    document.title = s.status === 'authenticated' ? `${title ?? 'Not found'} · devicesaga` : 'Log in · devicesaga';
    // After a navigation inside the app (not at load: the skip link stays the first stop), the new page gets the
    // focus, as a page load would, for keyboard and screen-reader users.
    const before = previous.current;
    previous.current = { path, status: s.status };
    const navigated = before.path !== path;
    const loggedIn = before.status === 'anonymous' && s.status === 'authenticated';
    if (navigated || loggedIn) document.getElementById('main')?.focus({ preventScroll: true });
  }, [path, s.status]);

  if (s.status === 'checking') return <p className="page muted">Loading…</p>;
  if (s.status === 'anonymous') return <LoginPage notice={s.notice} />;
  return <Layout me={s.me}>{page(path, s.me)}</Layout>;
}

function page(path: string, me: Me) {
  if (match('/', path)) return <DevicesPage />;
  const device = match('/devices/:id', path);
  if (device?.id) return <DevicePage key={device.id} id={device.id} />;
  if (match('/alarms', path)) return <AlarmsPage />;
  if (match('/alarm-types', path)) return <AlarmTypesPage me={me} />;
  if (match('/inbox', path)) return <NotificationsPage />;
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{path}</code>.
      </p>
    </div>
  );
}
