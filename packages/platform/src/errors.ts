import type { z } from 'zod';

export interface ErrorDetail {
  path: string;
  message: string;
}

/** The one error class: an HTTP status, a stable machine code, a human message, optional details. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  static badRequest(message: string, details?: ErrorDetail[]) {
    return new AppError(400, 'BAD_REQUEST', message, details);
  }
  static unauthorized(message = 'authentication required') {
    return new AppError(401, 'UNAUTHORIZED', message);
  }
  static forbidden(message = 'not allowed') {
    return new AppError(403, 'FORBIDDEN', message);
  }
  static notFound(what: string) {
    return new AppError(404, 'NOT_FOUND', `${what} not found`);
  }
  static conflict(message: string, code = 'CONFLICT') {
    return new AppError(409, code, message);
  }
  static unprocessable(message: string, code = 'UNPROCESSABLE') {
    return new AppError(422, code, message);
  }
  static tooManyRequests(retryAfterSeconds: number) {
    return new AppError(429, 'RATE_LIMITED', 'too many requests', undefined, { 'Retry-After': String(retryAfterSeconds) });
  }
  static unavailable(message: string) {
    return new AppError(503, 'UNAVAILABLE', message);
  }
}

/** Parses input with its schema, or throws a 400 that names each field at fault. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'query' | 'params' | 'headers'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  throw AppError.badRequest(`invalid ${where}: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details);
}
