import type { RequestHandler } from 'express';
import { AppError } from '@devicesaga/platform';
import { setPrincipal, type Authenticator } from '../auth/authenticator';
import { cookieOf } from './auth-routes';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Authenticates every request it guards (401 otherwise). A state-changing request authenticated by the cookie alone
 * must not come from a foreign `Origin` (CSRF defence on top of SameSite=Lax).
 */
export function requireAuth(authenticator: Authenticator, allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    authenticator
      .require({ headers: req.headers, cookie: cookieOf(req) })
      .then((principal) => {
        if (principal.kind === 'session' && principal.via === 'cookie' && !SAFE_METHODS.has(req.method)) {
          const origin = req.header('origin');
          if (origin && !allowed.has(origin)) throw AppError.forbidden('origin not allowed');
        }
        setPrincipal(res, principal);
        next();
      })
      .catch(next);
  };
}
