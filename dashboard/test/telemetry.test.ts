import { appendPoint, columnsOf, rangeById } from '../src/lib/telemetry';

describe('the telemetry chart data', () => {
  it('history buckets become an average line with min and max; raw points a line alone', () => {
    const cols = columnsOf({
      deviceId: 'd',
      sensorId: 's',
      parameter: 'temperature',
      from: '2026-12-02T10:00:00Z',
      to: '2026-12-02T10:02:00Z',
      bucket: '1m',
      points: [
        { ts: '2026-12-02T10:00:00Z', min: 19, max: 21, avg: 20, last: 20.5, count: 60 },
        { ts: '2026-12-02T10:01:00Z', value: 22 },
      ],
    });
    const t0 = Date.parse('2026-12-02T10:00:00Z') / 1000;
    expect(cols).toEqual([[t0, t0 + 60], [20, 22], [19, null], [21, null]]);
  });

  it('live points are appended in time order, a late one inserted in place, a repeat ignored, old ones dropped', () => {
    let cols = appendPoint([[100, 200], [1, 2], [null, null], [null, null]], 300, 3, 0);
    cols = appendPoint(cols, 250, 2.5, 0);
    cols = appendPoint(cols, 300, 9, 0);
    expect(cols[0]).toEqual([100, 200, 250, 300]);
    expect(cols[1]).toEqual([1, 2, 2.5, 3]);
    cols = appendPoint(cols, 400, 4, 220);
    expect(cols[0]).toEqual([250, 300, 400]);
  });

  it('every range asks for buckets; an unknown range falls back to an hour', () => {
    expect(rangeById('24h')).toMatchObject({ seconds: 86400, bucket: '15m' });
    expect(rangeById('nonsense').id).toBe('1h');
  });
});
