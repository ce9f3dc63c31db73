import { z } from 'zod';

/** Every Kafka message carries this envelope; `payload` is the event-specific part (DESIGN.md §3). */
export const envelopeFields = {
  id: z.uuid(),
  type: z.string().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
  correlationId: z.string().min(1),
  causationId: z.string().min(1).nullable(),
  producer: z.string().min(1),
};

export function envelopeOf<P extends z.ZodType>(type: string, payload: P) {
  return z.object({ ...envelopeFields, type: z.literal(type), payload });
}

export interface Envelope<T extends string = string, P = unknown> {
  id: string;
  type: T;
  occurredAt: string;
  correlationId: string;
  causationId: string | null;
  producer: string;
  payload: P;
}
