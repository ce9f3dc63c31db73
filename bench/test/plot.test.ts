import { lineChartSvg } from '../plot';

describe('lineChartSvg', () => {
  it('draws every series with its points and a legend, on a log axis when asked', () => {
    const svg = lineChartSvg({
      title: 'latency <test>',
      xLabel: 'offered/s',
      yLabel: 'ms',
      logY: true,
      series: [
        { name: 'p50', points: [[20, 57], [40, 761], [100, 16_992]] },
        { name: 'p99', points: [[20, 612], [40, 3_022], [100, 23_567]] },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('latency &lt;test&gt;');
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(6);
    expect(svg).toContain('<title>p99: 24k at 100</title>');
    // log axis: decade ticks from 10 to 100k
    for (const tick of ['>10<', '>100<', '>1.0k<', '>10k<', '>100k<']) expect(svg).toContain(tick);
  });

  it('refuses a chart with nothing to draw', () => {
    expect(() => lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', logY: true, series: [{ name: 'a', points: [[1, 0]] }] })).toThrow('no points');
  });
});
