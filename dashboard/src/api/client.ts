import type { z } from 'zod';
import { errorBody } from './schemas';

/** An answer other than 2xx, or one that does not parse: `status` 0 when the network or the shape failed. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let unauthorized: (() => void) | undefined;

/** Called on a 401 from any call but the login itself: the session expired or was revoked. */
export function onUnauthorized(handler: () => void): void {
  unauthorized = handler;
}

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * One call to the gateway's public API, same origin, authenticated by the session cookie (httpOnly, set by the
 * login). The answer is parsed by its schema: the dashboard never trusts a shape it did not check.
 */
export async function call<S extends z.ZodType>(method: string, path: string, schema: S | null, options: CallOptions = {}): Promise<z.infer<S>> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      body: options.body === undefined ? null : JSON.stringify(options.body),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check your connection and try again.');
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!res.ok) {
    const parsed = errorBody.safeParse(json);
    const retryAfter = Number(res.headers.get('retry-after'));
    const error = new ApiError(
      res.status,
      parsed.success ? parsed.data.error.code : `HTTP_${res.status}`,
      parsed.success ? parsed.data.error.message : `${res.status} ${res.statusText}`,
      parsed.success ? parsed.data.error.requestId : (res.headers.get('x-request-id') ?? undefined),
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    );
    if (res.status === 401 && !path.startsWith('/api/v1/auth/')) unauthorized?.();
    throw error;
  }
  if (schema === null) return undefined as z.infer<S>;
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new ApiError(0, 'BAD_RESPONSE', `Unexpected answer from ${method} ${path.split('?')[0]}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
