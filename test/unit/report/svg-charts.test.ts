import { describe, expect, it } from 'vitest';
import { barChart } from '../../../src/core/report/svg/bar-chart.js';
import { escapeXml, extentOf, formatTick, legendColumnCount, linearScale, niceTicks } from '../../../src/core/report/svg/chart-frame.js';
import { heatmap } from '../../../src/core/report/svg/heatmap.js';
import { lineChart, thinPoints } from '../../../src/core/report/svg/line-chart.js';
import { scatterChart } from '../../../src/core/report/svg/scatter-chart.js';

const count = (svg: string, tag: string): number => (svg.match(new RegExp(`<${tag}[\\s>]`, 'g')) ?? []).length;

describe('chart frame', () => {
  it('picks round ticks covering the extent', () => {
    expect(niceTicks({ min: 0, max: 1 }, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks({ min: 0.31, max: 0.37 }, 5)).toEqual([0.32, 0.34, 0.36]);
    expect(niceTicks({ min: -3, max: 12 }, 5)).toEqual([0, 5, 10]);
    expect(niceTicks({ min: -3, max: 12 }, 8)).toEqual([-2, 0, 2, 4, 6, 8, 10, 12]);
  });

  it('widens an empty or flat extent so a scale can divide by it', () => {
    expect(extentOf([])).toEqual({ min: 0, max: 1 });
    expect(extentOf([5, 5])).toEqual({ min: 4.5, max: 5.5 });
    expect(extentOf([Number.NaN, 1, Number.POSITIVE_INFINITY, 3])).toEqual({ min: 1, max: 3 });
  });

  it('maps a domain linearly onto pixels, inverted for y', () => {
    const y = linearScale({ min: 0, max: 10 }, 300, 100);
    expect(y(0)).toBe(300);
    expect(y(10)).toBe(100);
    expect(y(2.5)).toBe(250);
  });

  it('lays a legend out in as many columns as its longest label allows, 1 to 3', () => {
    expect(legendColumnCount(['train_loss', 'val_loss'], 480)).toBe(3);
    expect(legendColumnCount(['tidy-dolphin-86 train_loss', 'x'], 480)).toBe(2);
    expect(legendColumnCount(['a very long series name that needs its own row, really'], 480)).toBe(1);
  });

  it('writes short tick labels and escapes text', () => {
    expect([0.25, 12_000, 1_500_000, 3].map(formatTick)).toEqual(['0.25', '12k', '1.5M', '3']);
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });
});

describe('lineChart', () => {
  it('draws one path per series, markers on request, a legend for several series and a diagonal', () => {
    const svg = lineChart({
      title: 'Loss <per> epoch',
      xLabel: 'epoch',
      yLabel: 'loss',
      series: [
        { name: 'train', x: [1, 2, 3], y: [0.5, 0.4, 0.35], markers: true, dashed: true },
        { name: 'val', x: [1, 2, 3], y: [0.45, 0.42, 0.41] },
      ],
      diagonal: true,
      xIntegers: true,
    });
    expect(svg.startsWith('<svg class="chart"')).toBe(true);
    expect(count(svg, 'path')).toBe(3);
    expect(count(svg, 'circle')).toBe(3);
    expect(svg).toContain('Loss &lt;per&gt; epoch');
    expect(svg).toContain('stroke-dasharray="6 4"');
    // Whole-number epoch ticks only.
    expect(svg).not.toMatch(/>1\.5</);
  });

  it('skips non-finite points and still marks a single point', () => {
    const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', x: [1, 2], y: [Number.NaN, 0.5] }] });
    expect(svg).toMatch(/d="M[\d.]+,[\d.]+l0\.01,0"/);
  });

  it('thins long curves to at most max points, keeping both ends', () => {
    const x = Array.from({ length: 1000 }, (_, i) => i);
    const thin = thinPoints(x, x, 50);
    expect(thin.x).toHaveLength(50);
    expect(thin.x[0]).toBe(0);
    expect(thin.x[49]).toBe(999);
    expect(thinPoints([1, 2], [3, 4], 50)).toEqual({ x: [1, 2], y: [3, 4] });
  });
});

describe('barChart', () => {
  it('draws one rect per finite value, negative ones left of zero, and outlines highlighted bars', () => {
    const svg = barChart({
      title: 'importance',
      valueLabel: 'drop',
      series: ['auc'],
      groups: [
        { label: 'age', values: [0.03] },
        { label: 'race', values: [-0.01] },
        { label: 'bad', values: [Number.NaN] },
      ],
      highlight: new Set(['age|auc']),
    });
    const bars = [...svg.matchAll(/<rect class="bar( highlight)?" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)];
    expect(bars).toHaveLength(2);
    const [age, race] = bars;
    expect(age![1]).toBe(' highlight');
    // race's bar ends where age's starts: at zero.
    expect(Number(race![2]) + Number(race![3])).toBeCloseTo(Number(age![2]), 1);
  });
});

describe('heatmap and scatterChart', () => {
  it('labels each confusion cell with its count and share of the row', () => {
    const svg = heatmap({ title: 'confusion', rowLabels: ['a−', 'a+'], columnLabels: ['p−', 'p+'], cells: [[90, 10], [25, 75]] });
    expect(count(svg, 'rect')).toBe(4);
    expect(svg).toContain('>90.0% of row<');
    expect(svg).toContain('>25.0% of row<');
  });

  it('draws every point of a small scatter, samples a large one, and adds the reference line', () => {
    const small = scatterChart({ title: 's', xLabel: 'x', yLabel: 'y', x: [1, 2, 3], y: [1, 2, 4], reference: 'identity' });
    expect(count(small, 'circle')).toBe(3);
    expect(small).toContain('class="reference"');
    const n = 10_000;
    const big = scatterChart({ title: 's', xLabel: 'x', yLabel: 'y', x: Array.from({ length: n }, (_, i) => i), y: Array.from({ length: n }, (_, i) => i % 7), reference: 'zero', maxPoints: 500 });
    expect(count(big, 'circle')).toBe(500);
  });
});
