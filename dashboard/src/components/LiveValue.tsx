import { useEffect } from 'react';
import type { Sensor } from '../api/schemas';
import { readings } from '../live/live';
import { formatValue } from '../lib/format';
import { useStore } from '../lib/store';

export const FIRST_LIVE_VALUE = 'devicesaga:first-live-value';

/** A sensor's current value: the stored one, replaced by each live measurement newer than it. */
export function LiveValue({ sensor }: { sensor: Sensor }) {
  const reading = useStore(readings, (r) => r[sensor.id]);
  const live = reading !== undefined && (!sensor.updatedAt || Date.parse(reading.ts) >= Date.parse(sensor.updatedAt));
  const value = live ? reading.value : sensor.value;
  useEffect(() => {
    // User Timing mark for the page-load benchmark (bench/dashboard): the first live value on screen.
    if (live && performance.getEntriesByName(FIRST_LIVE_VALUE).length === 0) performance.mark(FIRST_LIVE_VALUE);
  }, [live]);
  return (
    <span className={`value${live ? ' live-value' : ''}`} key={live ? reading.ts : 'stored'} data-testid={`value-${sensor.parameter}`} data-value={value ?? ''}>
      {formatValue(value, sensor.unit)}
    </span>
  );
}

/** The newest live measurement of these sensors that this page received (not a stored value: a command moves those too). */
export function lastReadingAt(sensors: readonly Sensor[], live: Readonly<Record<string, { ts: string }>>): string | undefined {
  let best: string | undefined;
  for (const s of sensors) {
    const ts = live[s.id]?.ts;
    if (ts && (!best || ts > best)) best = ts;
  }
  return best;
}

/** When a stored value of these sensors last changed (a measurement or a command). */
export function lastUpdatedAt(sensors: readonly Sensor[]): string | undefined {
  let best: string | undefined;
  for (const s of sensors) if (s.updatedAt && (!best || s.updatedAt > best)) best = s.updatedAt;
  return best;
}
