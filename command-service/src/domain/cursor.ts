import { z } from 'zod';

/** The keyset position of a command in the newest-first listing: (created_at, id), both descending. */
export interface CursorPosition {
  createdAt: string;
  id: string;
}

const cursorSchema = z.strictObject({ t: z.iso.datetime(), i: z.uuid() });

/** An opaque base64url cursor. `createdAt` is an ISO timestamp with millisecond precision (how it is stored). */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ t: position.createdAt, i: position.id }), 'utf8').toString('base64url');
}

/** The position a cursor names, or `null` when it is not one of ours. */
export function decodeCursor(cursor: string): CursorPosition | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.success ? { createdAt: parsed.data.t, id: parsed.data.i } : null;
  } catch {
    return null;
  }
}
