import { useId, useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../api/client';
import { api } from '../api/endpoints';
import { logIn } from '../live/session';

/** Log in with the username or email; register a new account. */
export function LoginPage({ notice }: { notice?: 'expired' | 'logged-out' | undefined }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [email, setEmail] = useState('');
  const [username, setUsername] = useState('');
  const [error, setError] = useState<string>();
  const [info, setInfo] = useState<string>();
  const [busy, setBusy] = useState(false);
  const ids = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setInfo(undefined);
    try {
      if (mode === 'register') {
        await api.register({ email, password, ...(username ? { username } : {}) });
        await logIn(email, password);
      } else {
        await logIn(login, password);
      }
    } catch (err) {
      setError(loginError(err, mode));
      setBusy(false);
    }
  };

  return (
    <main id="main" className="login">
      <form className="card login-card" onSubmit={(e) => void submit(e)} aria-labelledby={`${ids}-title`} noValidate>
        <h1 id={`${ids}-title`}>
          <img src="/favicon.svg" alt="" width="28" height="28" /> devicesaga
        </h1>
        {notice === 'expired' && !error ? (
          <p className="notice warn" role="status" data-testid="session-expired">
            Your session has expired. Please log in again.
          </p>
        ) : null}
        {notice === 'logged-out' && !error ? (
          <p className="notice" role="status">
            You have logged out.
          </p>
        ) : null}
        {error ? (
          <p className="notice error" role="alert" data-testid="login-error">
            {error}
          </p>
        ) : null}
        {info ? <p className="notice">{info}</p> : null}
        {mode === 'login' ? (
          <label>
            Username or email
            <input name="login" autoComplete="username" required value={login} onChange={(e) => setLogin(e.target.value)} autoFocus />
          </label>
        ) : (
          <>
            <label>
              Email
              <input name="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
            </label>
            <label>
              Username <span className="muted">(optional)</span>
              <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />
            </label>
          </>
        )}
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'register' ? 10 : undefined}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Please wait…' : mode === 'login' ? 'Log in' : 'Create account'}
        </button>
        <p className="muted switch">
          {mode === 'login' ? 'No account yet?' : 'Have an account?'}{' '}
          <button
            type="button"
            className="link"
            onClick={() => {
              setMode(mode === 'login' ? 'register' : 'login');
              setError(undefined);
            }}
          >
            {mode === 'login' ? 'Create one' : 'Log in'}
          </button>
        </p>
      </form>
    </main>
  );
}

function loginError(err: unknown, mode: 'login' | 'register'): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'Wrong username/email or password.';
    if (err.status === 429) return `Too many attempts. Try again in ${err.retryAfterSeconds ?? 60} seconds.`;
    if (err.status === 409) return err.code === 'USERNAME_TAKEN' ? 'That username is taken.' : 'An account with that email exists: log in instead.';
    if (err.status === 400 && mode === 'register') return `Check the form: ${err.message}. The password needs at least 10 characters.`;
  }
  return errorMessage(err);
}
