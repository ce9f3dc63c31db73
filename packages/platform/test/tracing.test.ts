import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initTracing, startSpan, traceIdOf } from '../src/tracing';

describe('tracing', () => {
  it('with tracing off, a span is a new span id under its parent trace (propagation costs one random id)', () => {
    const root = startSpan('root');
    const child = startSpan('child', root.traceparent);
    expect(root.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(traceIdOf(child.traceparent)).toBe(traceIdOf(root.traceparent));
    expect(child.traceparent).not.toBe(root.traceparent);
    // a malformed parent starts a new trace instead of failing
    expect(startSpan('orphan', 'garbage').traceparent).toMatch(/^00-[0-9a-f]{32}-/);
  });

  it('with the file exporter, spans of one trace are written with their parents, across a propagated traceparent', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'traces-')), 'spans.jsonl');
    const tracing = initTracing('tracing-test', { OTEL_TRACES_EXPORTER: 'file', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_FILE: file });
    try {
      const request = startSpan('HTTP POST', undefined, 'server');
      const consume = startSpan('consume command.value_set', request.traceparent, 'consumer');
      consume.end();
      request.end(new Error('boom'));
    } finally {
      await tracing.shutdown();
    }
    const spans = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; traceId: string; spanId: string; parentSpanId: string | null; status: number; service: string });
    const request = spans.find((s) => s.name === 'HTTP POST')!;
    const consume = spans.find((s) => s.name === 'consume command.value_set')!;
    expect(consume.traceId).toBe(request.traceId);
    expect(consume.parentSpanId).toBe(request.spanId);
    expect(request.parentSpanId).toBeNull();
    expect(request.status).toBe(2); // ERROR
    expect(request.service).toBe('tracing-test');
    // after shutdown, spans are cheap again
    expect(startSpan('after').traceparent).toMatch(/^00-/);
  });
});
