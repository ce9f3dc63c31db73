import type { Sensor } from '../api/schemas';
import { readings } from '../live/live';
import { formatValue } from '../lib/format';
import { useStore } from '../lib/store';

/** A sensor's current value: the stored one, replaced by each live measurement newer than it. */
export function LiveValue({ sensor }: { sensor: Sensor }) {
  const reading = useStore(readings, (r) => r[sensor.id]);
  const live = reading !== undefined && (!sensor.updatedAt || Date.parse(reading.ts) >= Date.parse(sensor.updatedAt));
  const value = live ? reading.value : sensor.value;
  return (
    <span className={`value${live ? ' live-value' : ''}`} key={live ? reading.ts : 'stored'} data-testid={`value-${sensor.parameter}`} data-value={value ?? ''}>
      {formatValue(value, sensor.unit)}
    </span>
  );
}

export function lastReadingAt(sensors: readonly Sensor[], live: Readonly<Record<string, { ts: string }>>): string | undefined {
  let best: string | undefined;
  for (const s of sensors) {
    for (const ts of [live[s.id]?.ts, s.updatedAt]) if (ts && (!best || ts > best)) best = ts;
  }
  return best;
}
