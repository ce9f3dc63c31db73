import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * Operators' tooling for dead-letter topics (`<topic>.dlq`, DESIGN.md §3): list what is there with its error, redrive
 * a message (or all of a topic) to its original topic, purge. A cold path, so it uses kafkajs directly, whatever the
 * services' KAFKA_CLIENT.
 *
 * A redriven message keeps its id, key, value and headers (minus the `x-dlq-*` ones): the consumer group that
 * dead-lettered it handles it again (its inbox entry says `dead-lettered`, which the runner treats as not yet handled),
 * while every other group of that topic already handled it and skips it as a duplicate.
 */
export interface DlqMessage {
  dlqTopic: string;
  partition: number;
  offset: string;
  originalTopic: string;
  /** The consumer group that gave up on it. */
  group: string;
  error: string;
  at: string;
  key: string | null;
  /** The envelope's id, type and correlation id (a command's id on saga topics) when the value is a registry-framed JSON event, else null. */
  messageId: string | null;
  type: string | null;
  correlationId: string | null;
}

export interface DlqRef {
  dlqTopic: string;
  partition: number;
  offset: string;
}

export interface DlqAdminOptions {
  brokers: string[];
  /** Only topics with this prefix (a stack instance's namespace). */
  topicPrefix?: string;
  logger?: Logger;
}

const DLQ_HEADER = /^x-dlq-/;

function strings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

function envelopeOf(value: Buffer | null): { id: string | null; type: string | null; correlationId: string | null } {
  const none = { id: null, type: null, correlationId: null };
  if (!value || value.length < 6 || value[0] !== 0) return none;
  try {
    const parsed = JSON.parse(value.subarray(5).toString('utf8')) as Record<string, unknown>;
    const text = (k: string) => (typeof parsed[k] === 'string' ? parsed[k] : null);
    return { id: text('id'), type: text('type'), correlationId: text('correlationId') };
  } catch {
    return none;
  }
}

interface Raw {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export class DlqAdmin {
  private readonly kafka: Kafka;

  constructor(private readonly options: DlqAdminOptions) {
    this.kafka = new Kafka({ clientId: 'devicesaga-dlq-admin', brokers: options.brokers, logLevel: logLevel.ERROR });
  }

  /** The DLQ topics of this namespace. */
  async topics(): Promise<string[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const prefix = this.options.topicPrefix ?? '';
      return (await admin.listTopics()).filter((t) => t.endsWith('.dlq') && t.startsWith(prefix) && !t.slice(prefix.length).includes('.dlq.')).sort();
    } finally {
      await admin.disconnect();
    }
  }

  /** Every message in the DLQ topics (or one), oldest first per partition. */
  async list(dlqTopic?: string): Promise<DlqMessage[]> {
    const out: DlqMessage[] = [];
    for (const topic of dlqTopic ? [dlqTopic] : await this.topics()) {
      for (const m of await this.read(topic)) out.push(this.describe(topic, m));
    }
    return out;
  }

  /** Sends DLQ messages back to their original topics; answers how many. `all` of a topic removes them from it. */
  async redrive(target: DlqRef | { dlqTopic: string; all: true }): Promise<number> {
    const messages = await this.read(target.dlqTopic);
    const chosen = 'all' in target ? messages : messages.filter((m) => m.partition === target.partition && m.offset === target.offset);
    if (chosen.length === 0) return 0;
    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const byTopic = new Map<string, Raw[]>();
      for (const m of chosen) {
        const original = m.headers['x-dlq-original-topic'];
        if (!original) throw new Error(`${target.dlqTopic}/${m.partition}@${m.offset} has no x-dlq-original-topic header`);
        let list = byTopic.get(original);
        if (!list) byTopic.set(original, (list = []));
        list.push(m);
      }
      for (const [topic, list] of byTopic) {
        await producer.send({
          topic,
          acks: -1,
          messages: list.map((m) => ({
            key: m.key,
            value: m.value,
            headers: {
              ...Object.fromEntries(Object.entries(m.headers).filter(([k]) => !DLQ_HEADER.test(k))),
              'x-redriven-from': `${target.dlqTopic}/${m.partition}@${m.offset}`,
            },
          })),
        });
      }
    } finally {
      await producer.disconnect();
    }
    this.options.logger?.info({ dlqTopic: target.dlqTopic, count: chosen.length }, 'DLQ messages redriven');
    if ('all' in target) await this.purge(target.dlqTopic, chosen);
    return chosen.length;
  }

  /** Deletes the messages of a DLQ topic (all of them, or up to and including the given ones per partition). */
  async purge(dlqTopic: string, upTo?: { partition: number; offset: string }[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const partitions = upTo
        ? [...upTo.reduce((max, m) => max.set(m.partition, BigInt(m.offset) + 1n > (max.get(m.partition) ?? 0n) ? BigInt(m.offset) + 1n : max.get(m.partition)!), new Map<number, bigint>())].map(
            ([partition, offset]) => ({ partition, offset: offset.toString() }),
          )
        : (await admin.fetchTopicOffsets(dlqTopic)).map((p) => ({ partition: p.partition, offset: p.high }));
      await admin.deleteTopicRecords({ topic: dlqTopic, partitions });
    } finally {
      await admin.disconnect();
    }
  }

  private describe(topic: string, m: Raw): DlqMessage {
    const env = envelopeOf(m.value);
    return {
      dlqTopic: topic,
      partition: m.partition,
      offset: m.offset,
      originalTopic: m.headers['x-dlq-original-topic'] ?? topic.replace(/\.dlq$/, ''),
      group: m.headers['x-dlq-group'] ?? '',
      error: m.headers['x-dlq-error'] ?? '',
      at: m.headers['x-dlq-at'] ?? '',
      key: m.key ? m.key.toString('utf8') : null,
      messageId: env.id,
      type: env.type,
      correlationId: env.correlationId,
    };
  }

  /** Reads a topic from its low to its high watermark (as they are now) with a throwaway group. */
  private async read(topic: string): Promise<Raw[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    let ends: Map<number, { low: bigint; high: bigint }>;
    try {
      ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
    } finally {
      await admin.disconnect();
    }
    const pending = new Set([...ends].filter(([, e]) => e.high > e.low).map(([p]) => p));
    if (pending.size === 0) return [];
    const groupId = `devicesaga-dlq-admin-${randomUUID()}`;
    const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false });
    const out: Raw[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`reading ${topic} took longer than 30 s`)), 30_000);
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const end = ends.get(batch.partition)!.high;
              for (const m of batch.messages) {
                if (BigInt(m.offset) >= end) break;
                out.push({ partition: batch.partition, offset: m.offset, key: m.key, value: m.value, headers: strings(m.headers) });
              }
              if (BigInt(batch.lastOffset()) + 1n >= end) pending.delete(batch.partition);
              if (pending.size === 0) {
                clearTimeout(timer);
                resolve();
              }
              return Promise.resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
      const admin2 = this.kafka.admin();
      await admin2.connect();
      await admin2.deleteGroups([groupId]).catch(() => undefined);
      await admin2.disconnect();
    }
    return out.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  }
}
