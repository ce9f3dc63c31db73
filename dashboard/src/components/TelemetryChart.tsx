import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from '../api/endpoints';
import { errorMessage } from '../api/client';
import { onFrame } from '../live/live';
import { formatValue } from '../lib/format';
import { appendPoint, columnsOf, rangeById, ranges, type ChartColumns } from '../lib/telemetry';

interface Props {
  deviceId: string;
  sensorId: string;
  parameter: string;
  unit?: string | undefined;
}

const empty = (): ChartColumns => [[], [], [], []];

/**
 * A sensor's history (time buckets from `GET /devices/{id}/telemetry`, min/avg/max per bucket) drawn by uPlot, with
 * the live measurements of the WebSocket appended as they arrive. Loaded as its own chunk: the list pages never
 * download the chart library.
 */
export default function TelemetryChart({ deviceId, sensorId, parameter, unit }: Props) {
  const [rangeId, setRangeId] = useState<string>('1h');
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [summary, setSummary] = useState({ points: 0, last: null as number | null, live: 0 });
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const columns = useRef<ChartColumns>(empty());
  const range = rangeById(rangeId);

  // The plot itself: created once per sensor, resized with its box.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const stroke = getComputedStyle(el).getPropertyValue('--accent').trim() || '#0f5fa8';
    const options: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 260,
      series: [
        {},
        { label: parameter, stroke, width: 2, points: { show: false }, spanGaps: true, value: (_u, v) => formatValue(v, unit) },
        { label: 'min', stroke: '#8aa4bf', width: 1, dash: [4, 4], points: { show: false }, value: (_u, v) => formatValue(v, unit) },
        { label: 'max', stroke: '#8aa4bf', width: 1, dash: [4, 4], points: { show: false }, value: (_u, v) => formatValue(v, unit) },
      ],
      axes: [{}, { label: unit || parameter, size: 56 }],
      scales: { x: { time: true } },
      legend: { live: true },
    };
    const u = new uPlot(options, columns.current, el);
    plot.current = u;
    // Resize with the box, at most once a frame and only when its width really changed.
    let width = u.width;
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        const next = Math.max(280, el.clientWidth);
        if (Math.abs(next - width) < 2) return;
        width = next;
        u.setSize({ width, height: 260 });
      });
    });
    observer.observe(el);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [parameter, unit]);

  // History for the chosen range; live points that arrive meanwhile are kept.
  useEffect(() => {
    const controller = new AbortController();
    const to = new Date();
    const from = new Date(to.getTime() - range.seconds * 1000);
    setLoading(true);
    setError(undefined);
    api.telemetry(deviceId, { sensorId, from: from.toISOString(), to: to.toISOString(), bucket: range.bucket }, controller.signal).then(
      (series) => {
        let next = columnsOf(series);
        // Live points newer than the history's end stay.
        const [xs, line] = columns.current;
        const end = Date.parse(series.to) / 1000;
        xs.forEach((x, i) => {
          const v = line[i];
          if (x > end && typeof v === 'number') next = appendPoint(next, x, v, from.getTime() / 1000);
        });
        columns.current = next;
        plot.current?.setData(next);
        setSummary((s) => ({ ...s, points: next[0].length, last: lastOf(next) }));
        setLoading(false);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        setError(errorMessage(err));
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [deviceId, sensorId, range.seconds, range.bucket]);

  // Live points.
  useEffect(
    () =>
      onFrame((frame) => {
        if (frame.type !== 'measurement' || frame.sensorId !== sensorId) return;
        const ts = Date.parse(frame.ts) / 1000;
        const next = appendPoint(columns.current, ts, frame.value, Date.now() / 1000 - range.seconds);
        columns.current = next;
        plot.current?.setData(next);
        setSummary((s) => ({ points: next[0].length, last: frame.value, live: s.live + 1 }));
      }),
    [sensorId, range.seconds],
  );

  return (
    <figure className="chart" aria-labelledby={`chart-title-${sensorId}`}>
      <div className="chart-head">
        <figcaption id={`chart-title-${sensorId}`}>
          <strong>{parameter}</strong> over the last {range.label}
          <span className="muted"> — {range.bucket} buckets (min / average / max), live points appended</span>
        </figcaption>
        <div className="segmented" role="group" aria-label="Time range">
          {ranges.map((r) => (
            <button key={r.id} type="button" aria-pressed={r.id === rangeId} onClick={() => setRangeId(r.id)}>
              {r.label}
            </button>
          ))}
        </div>
      </div>
      <div ref={box} className="chart-box" data-testid="telemetry-chart" aria-hidden="true" />
      <p className="muted chart-summary" data-testid="chart-summary" aria-live="polite">
        {loading ? 'Loading history… ' : ''}
        {error ? <span className="error-text">History unavailable: {error}. </span> : null}
        {summary.points} points
        {summary.last !== null ? `, latest ${formatValue(summary.last, unit)}` : ''}
        {summary.live > 0 ? `, ${summary.live} live` : ''}
      </p>
    </figure>
  );
}

function lastOf(columns: ChartColumns): number | null {
  const line = columns[1];
  for (let i = line.length - 1; i >= 0; i--) {
    const v = line[i];
    if (typeof v === 'number') return v;
  }
  return null;
}
