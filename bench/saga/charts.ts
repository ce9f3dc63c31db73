/**
 * The saga benchmark's charts: latency percentiles and completed commands/s against the offered rate, as SVG in
 * bench/results (saga-latency.svg, saga-throughput.svg; bench/README.md shows them). run.ts draws them after each run;
 * to redraw from a saved result: npx tsx bench/saga/charts.ts bench/results/saga-<time>.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { lineChartSvg } from '../plot';

export interface SagaRow {
  'offered/s': number;
  'completed/s': number;
  'p50 ms': number;
  'p90 ms': number;
  'p99 ms': number;
}

const resultsDir = path.resolve(__dirname, '../results');

export function writeSagaCharts(results: SagaRow[], label = new Date().toISOString().slice(0, 10)): string[] {
  const at = (key: keyof SagaRow) => results.map((r): [number, number] => [r['offered/s'], r[key]]);
  const charts: [string, string][] = [
    [
      'saga-latency.svg',
      lineChartSvg({
        title: `Saga: POST → terminal status latency (2 cores, ${label})`,
        xLabel: 'offered commands/s',
        yLabel: 'ms (log scale)',
        logY: true,
        logX: true,
        series: [
          { name: 'p50', points: at('p50 ms') },
          { name: 'p90', points: at('p90 ms') },
          { name: 'p99', points: at('p99 ms') },
        ],
      }),
    ],
    [
      'saga-throughput.svg',
      lineChartSvg({
        title: `Saga: completed vs offered commands/s (2 cores, ${label})`,
        xLabel: 'offered commands/s',
        yLabel: 'commands/s (log scale)',
        logY: true,
        logX: true,
        series: [
          { name: 'completed/s', points: at('completed/s') },
          { name: 'offered/s', points: at('offered/s') },
        ],
      }),
    ],
  ];
  return charts.map(([name, svg]) => {
    const file = path.join(resultsDir, name);
    writeFileSync(file, svg);
    return file;
  });
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npx tsx bench/saga/charts.ts bench/results/saga-<time>.json');
    process.exit(2);
  }
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { at: string; results: SagaRow[] };
  for (const out of writeSagaCharts(saved.results, saved.at.slice(0, 10))) console.log(`chart written to ${path.relative(process.cwd(), out)}`);
}
