/** History buckets: `<n><unit>` with s, m, h or d (`30s`, `1m`, `15m`, `1h`, `1d`), at least one second. */
const BUCKET = /^([1-9][0-9]{0,5})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function bucketMs(bucket: string): number | undefined {
  const m = BUCKET.exec(bucket);
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return ms <= 366 * UNIT_MS.d ? ms : undefined;
}

/** Bucket starts are aligned on the Unix epoch (so `1h` buckets start on the hour, `1d` at midnight UTC). */
export function bucketStart(ts: number, size: number): number {
  return Math.floor(ts / size) * size;
}
