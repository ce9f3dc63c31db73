import type { TelemetrySeries } from '@devicesaga/contracts';

/** The chart's time ranges and the bucket each asks the history endpoint for (about 60–360 points per range). */
export const ranges = [
  { id: '15m', label: '15 min', seconds: 15 * 60, bucket: '10s' },
  { id: '1h', label: '1 hour', seconds: 3600, bucket: '1m' },
  { id: '6h', label: '6 hours', seconds: 6 * 3600, bucket: '5m' },
  { id: '24h', label: '24 hours', seconds: 24 * 3600, bucket: '15m' },
  { id: '7d', label: '7 days', seconds: 7 * 24 * 3600, bucket: '1h' },
] as const;
export type RangeId = (typeof ranges)[number]['id'];

export function rangeById(id: string): (typeof ranges)[number] {
  return ranges.find((r) => r.id === id) ?? ranges[1];
}

/** uPlot's columnar data: x in Unix seconds, then the line (average or raw value), the bucket minimum and maximum. */
export type ChartColumns = [number[], (number | null)[], (number | null)[], (number | null)[]];

export function columnsOf(series: TelemetrySeries): ChartColumns {
  const xs: number[] = [];
  const line: (number | null)[] = [];
  const lo: (number | null)[] = [];
  const hi: (number | null)[] = [];
  for (const p of series.points) {
    xs.push(Date.parse(p.ts) / 1000);
    if ('avg' in p) {
      line.push(p.avg);
      lo.push(p.min);
      hi.push(p.max);
    } else {
      line.push(p.value);
      lo.push(null);
      hi.push(null);
    }
  }
  return [xs, line, lo, hi];
}

/**
 * Appends a live measurement (seconds, value) in time order; drops what slid out of the window. A reading older than
 * the last point (a late, store-and-forward one) is inserted where it belongs.
 */
export function appendPoint(columns: ChartColumns, tsSeconds: number, value: number, windowStart: number): ChartColumns {
  const [xs, line, lo, hi] = columns;
  let at = xs.length;
  while (at > 0 && (xs[at - 1] ?? 0) > tsSeconds) at--;
  if (xs[at - 1] === tsSeconds) return columns;
  const insert = <T>(arr: T[], v: T) => [...arr.slice(0, at), v, ...arr.slice(at)];
  let next: ChartColumns = [insert(xs, tsSeconds), insert(line, value), insert(lo, null), insert(hi, null)];
  let drop = 0;
  while (drop < next[0].length && (next[0][drop] ?? 0) < windowStart) drop++;
  if (drop > 0) next = [next[0].slice(drop), next[1].slice(drop), next[2].slice(drop), next[3].slice(drop)];
  return next;
}
