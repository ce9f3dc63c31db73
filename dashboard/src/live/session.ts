import { api } from '../api/endpoints';
import { ApiError, onUnauthorized } from '../api/client';
import type { Me } from '../api/schemas';
import { createStore } from '../lib/store';
import { startLive, stopLive } from './live';

/**
 * Who is logged in. The session itself is the gateway's httpOnly cookie; the dashboard only remembers (in
 * localStorage) that it had one, so a fresh browser shows the login form without a failing `/me` call, and a
 * remembered session that the gateway no longer accepts is reported as expired.
 */
export type Session =
  | { status: 'checking' }
  | { status: 'anonymous'; notice?: 'expired' | 'logged-out' }
  | { status: 'authenticated'; me: Me };

export const session = createStore<Session>({ status: 'checking' });
const HAD_SESSION = 'devicesaga.session';

export const isOperator = (me: Me): boolean => me.role === 'operator' || me.role === 'admin';

onUnauthorized(() => {
  if (session.get().status !== 'authenticated') return;
  expire();
});

function expire(): void {
  localStorage.removeItem(HAD_SESSION);
  stopLive();
  session.set({ status: 'anonymous', notice: 'expired' });
}

export async function restoreSession(): Promise<void> {
  if (!localStorage.getItem(HAD_SESSION)) {
    session.set({ status: 'anonymous' });
    return;
  }
  try {
    const me = await api.me();
    session.set({ status: 'authenticated', me });
    startLive(me.id);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      localStorage.removeItem(HAD_SESSION);
      session.set({ status: 'anonymous', notice: 'expired' });
    } else {
      // The gateway is unreachable: keep trying quietly, the login form would not help.
      setTimeout(() => void restoreSession(), 3000);
    }
  }
}

export async function logIn(login: string, password: string): Promise<void> {
  const answer = await api.login(login, password);
  localStorage.setItem(HAD_SESSION, '1');
  // /me has the role and username; the login answer has what the gateway knew at the time.
  const me = await api.me().catch(() => answer.user);
  session.set({ status: 'authenticated', me });
  startLive(me.id);
}

export async function logOut(): Promise<void> {
  try {
    await api.logout();
  } finally {
    localStorage.removeItem(HAD_SESSION);
    stopLive();
    session.set({ status: 'anonymous', notice: 'logged-out' });
  }
}
