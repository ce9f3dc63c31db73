import { appendFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { context as otelContext, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Span as OtelSpan, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { z } from 'zod';

/**
 * Tracing: one trace follows a command from the REST call through every Kafka hop, the MQTT round trip and the
 * WebSocket frame, carried as a W3C `traceparent` (HTTP headers, Kafka headers, outbox rows).
 *
 * The code asks this module for spans (`startSpan`), never OpenTelemetry directly. With tracing off (the default
 * locally) a span is a traceparent string and nothing else — a new span id under the same trace — so propagation
 * still works and the cost is one random id. With `OTEL_TRACES_EXPORTER=otlp` (a collector at
 * OTEL_EXPORTER_OTLP_ENDPOINT) or `file` (JSON lines in OTEL_TRACES_FILE, for tests), spans are real OpenTelemetry
 * spans, batched to the exporter.
 */
export const tracingEnv = {
  OTEL_TRACES_EXPORTER: z.enum(['none', 'otlp', 'file']).default('none'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().default('http://127.0.0.1:4318'),
  OTEL_TRACES_FILE: z.string().optional(),
};

export interface TracingConfig {
  OTEL_TRACES_EXPORTER: 'none' | 'otlp' | 'file';
  OTEL_EXPORTER_OTLP_ENDPOINT: string;
  OTEL_TRACES_FILE?: string | undefined;
}

export interface Span {
  /** The traceparent of this span: what its children (an HTTP call, an event) carry. */
  readonly traceparent: string;
  setAttribute(key: string, value: string | number | boolean): void;
  end(error?: unknown): void;
}

export type SpanKindName = 'server' | 'client' | 'producer' | 'consumer' | 'internal';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE = '0'.repeat(32);

/** Random hex from a pooled buffer: one `randomFillSync` per 512 span ids instead of one syscall each. */
const randomPool = Buffer.allocUnsafe(4096);
let randomOffset = randomPool.length;
function randomHex(bytes: number): string {
  if (randomOffset + bytes > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const hex = randomPool.toString('hex', randomOffset, randomOffset + bytes);
  randomOffset += bytes;
  return hex;
}

/** A W3C traceparent: a child of `parent` (same trace, new span) when one is given, else a new trace. */
export function childTraceparent(parent?: string | null): string {
  const m = parent ? TRACEPARENT.exec(parent) : null;
  const traceId = m?.[1] && m[1] !== ZERO_TRACE ? m[1] : randomHex(16);
  return `00-${traceId}-${randomHex(8)}-${m?.[3] ?? '01'}`;
}

/** The trace id of a traceparent (undefined when it is not one). */
export function traceIdOf(traceparent: string | undefined | null): string | undefined {
  return traceparent ? TRACEPARENT.exec(traceparent)?.[1] : undefined;
}

let tracer: Tracer | undefined;
let provider: TracerProvider | undefined;

const kinds: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
  internal: SpanKind.INTERNAL,
};

/** Starts the exporter chosen by the config (once per process); the answer stops it, flushing what is buffered. */
export function initTracing(serviceName: string, cfg: TracingConfig): { shutdown(): Promise<void> } {
  if (cfg.OTEL_TRACES_EXPORTER === 'none' || provider) return { shutdown: () => Promise.resolve() };
  const exporter: SpanExporter =
    cfg.OTEL_TRACES_EXPORTER === 'file'
      ? new JsonLinesExporter(cfg.OTEL_TRACES_FILE ?? `traces-${serviceName}.jsonl`, serviceName)
      : new OTLPTraceExporter({ url: `${cfg.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` });
  provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [cfg.OTEL_TRACES_EXPORTER === 'file' ? new SimpleSpanProcessor({ exporter }) : new BatchSpanProcessor({ exporter })],
  });
  otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  tracer = provider.getTracer('devicesaga');
  const p = provider;
  return {
    shutdown: async () => {
      await p.shutdown();
      if (provider === p) {
        provider = undefined;
        tracer = undefined;
        trace.disable();
      }
    },
  };
}

/** A span named `name`, child of `parent` (a traceparent) or the root of a new trace. */
export function startSpan(name: string, parent?: string | null, kind: SpanKindName = 'internal', attributes?: Record<string, string | number | boolean>): Span {
  if (!tracer) return cheapSpan(childTraceparent(parent));
  const m = parent ? TRACEPARENT.exec(parent) : null;
  const parentContext =
    m?.[1] && m[2] && m[1] !== ZERO_TRACE
      ? trace.setSpanContext(ROOT_CONTEXT, { traceId: m[1], spanId: m[2], traceFlags: parseInt(m[3] ?? '01', 16), isRemote: true })
      : ROOT_CONTEXT;
  const span = tracer.startSpan(name, { kind: kinds[kind], ...(attributes ? { attributes } : {}) }, parentContext);
  return otelSpan(span);
}

function cheapSpan(traceparent: string): Span {
  return { traceparent, setAttribute: () => undefined, end: () => undefined };
}

function otelSpan(span: OtelSpan): Span {
  const sc = span.spanContext();
  const traceparent = `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & TraceFlags.SAMPLED).toString(16)}`;
  return {
    traceparent,
    setAttribute: (k, v) => {
      span.setAttribute(k, v);
    },
    end: (error) => {
      if (error !== undefined) {
        const message = error instanceof Error ? error.message : typeof error === 'string' ? error : 'failed';
        span.recordException(error instanceof Error ? error : message);
        span.setStatus({ code: SpanStatusCode.ERROR, message });
      }
      span.end();
    },
  };
}

/** Spans as JSON lines in a file (tests read them across processes). */
class JsonLinesExporter implements SpanExporter {
  constructor(
    private readonly file: string,
    private readonly service: string,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    try {
      const lines = spans.map((s) =>
        JSON.stringify({
          service: this.service,
          name: s.name,
          traceId: s.spanContext().traceId,
          spanId: s.spanContext().spanId,
          parentSpanId: s.parentSpanContext?.spanId ?? null,
          start: s.startTime,
          end: s.endTime,
          attributes: s.attributes,
          status: s.status.code,
        }),
      );
      appendFileSync(this.file, lines.map((l) => `${l}\n`).join(''));
      done({ code: ExportResultCode.SUCCESS });
    } catch (err) {
      done({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
