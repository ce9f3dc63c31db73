import { z } from 'zod';
import { jsonSchemaOf, messageSchema, subjectOf, topics as allTopics, type EventOf, type Topic } from '@devicesaga/contracts';

/** The registry answered with an error (e.g. 409: the new schema is incompatible with the subject's history). */
export class SchemaRegistryError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
    this.name = 'SchemaRegistryError';
  }
}

/** A message that could not be encoded because its schema rejects it: it is never sent. */
export class SchemaValidationError extends Error {
  constructor(
    message: string,
    readonly topic: string,
  ) {
    super(message);
    this.name = 'SchemaValidationError';
  }
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Registers a JSON schema under a subject (Confluent API); answers its global id. Idempotent for an equal schema. */
export async function registerJsonSchema(registryUrl: string, subject: string, schema: object): Promise<number> {
  const res = await fetch(`${registryUrl.replace(/\/$/, '')}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE },
    body: JSON.stringify({ schemaType: 'JSON', schema: JSON.stringify(schema) }),
  });
  const body = await res.text();
  if (!res.ok) {
    throw new SchemaRegistryError(`registry refused schema for ${subject}: ${res.status} ${body.slice(0, 500)}`, res.status, body);
  }
  const parsed = z.object({ id: z.number().int() }).parse(JSON.parse(body));
  return parsed.id;
}

const schemas = new Map<Topic, z.ZodType>();
/** The message schema of a topic, built once (zod compiles its fast path per schema instance). */
export function schemaOf(topic: Topic): z.ZodType {
  let s = schemas.get(topic);
  if (!s) schemas.set(topic, (s = messageSchema(topic)));
  return s;
}

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ')
    .slice(0, 500);
}

export type Decoded<T extends Topic> =
  | { ok: true; event: EventOf<T>; schemaId: number }
  | { ok: false; error: string };

/** Registration is done once per process and registry (ids cached). */
const registrations = new Map<string, Promise<Map<Topic, number>>>();

/**
 * Confluent wire format: magic byte 0, 4-byte big-endian schema id, then the JSON document. Every envelope is
 * validated with its zod schema on the way out (throws) and on the way in (an invalid message is reported).
 */
export class SchemaCodec {
  private ids: Map<Topic, number> | undefined;
  /** The 5-byte wire header (magic byte + schema id) of each topic, built once. */
  private readonly headers = new Map<Topic, Buffer>();

  constructor(private readonly registryUrl: string) {}

  /** Registers every catalog topic's schema under `subjectOf(topic)`, once per process. */
  async init(): Promise<void> {
    if (this.ids) return;
    let pending = registrations.get(this.registryUrl);
    if (!pending) {
      pending = (async () => {
        const ids = new Map<Topic, number>();
        for (const topic of allTopics) ids.set(topic, await registerJsonSchema(this.registryUrl, subjectOf(topic), jsonSchemaOf(topic)));
        return ids;
      })();
      registrations.set(this.registryUrl, pending);
      pending.catch(() => registrations.delete(this.registryUrl));
    }
    this.ids = await pending;
  }

  schemaId(topic: Topic): number {
    const id = this.ids?.get(topic);
    if (id === undefined) throw new Error(`schema of ${topic} not registered (call init() first)`);
    return id;
  }

  /** Validates and encodes; throws SchemaValidationError rather than send what the schema rejects. */
  encode(topic: Topic, envelope: unknown): Buffer {
    const result = schemaOf(topic).safeParse(envelope);
    if (!result.success) throw new SchemaValidationError(`invalid ${topic} message: ${describe(result.error)}`, topic);
    return this.encodeJson(topic, JSON.stringify(result.data));
  }

  /**
   * Encodes a JSON document that was already validated against the topic's schema (an outbox row is validated once,
   * when it is enqueued): header + bytes, no second validation, no parse/stringify round trip.
   */
  encodeJson(topic: Topic, json: string): Buffer {
    let header = this.headers.get(topic);
    if (!header) {
      header = Buffer.alloc(5);
      header.writeInt32BE(this.schemaId(topic), 1);
      this.headers.set(topic, header);
    }
    const len = Buffer.byteLength(json, 'utf8');
    const out = Buffer.allocUnsafe(5 + len);
    header.copy(out, 0);
    out.write(json, 5, len, 'utf8');
    return out;
  }

  decode<T extends Topic>(topic: T, value: Buffer | null): Decoded<T> {
    if (!value || value.length < 6) return { ok: false, error: 'not in the registry wire format (too short)' };
    if (value.readUInt8(0) !== 0) return { ok: false, error: `not in the registry wire format (magic byte ${value.readUInt8(0)})` };
    const schemaId = value.readInt32BE(1);
    let json: unknown;
    try {
      json = JSON.parse(value.subarray(5).toString('utf8'));
    } catch (err) {
      return { ok: false, error: `undecodable JSON: ${(err as Error).message}`.slice(0, 500) };
    }
    const result = schemaOf(topic).safeParse(json);
    if (!result.success) return { ok: false, error: `invalid ${topic} message: ${describe(result.error)}` };
    return { ok: true, event: result.data as EventOf<T>, schemaId };
  }
}
