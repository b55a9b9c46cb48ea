import { coord, createFrame, escapeXml, extentOf, seriesColor } from './chart-frame.js';

export interface ScatterChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  /** A reference line: y = x (predicted vs actual) or y = 0 (residuals). */
  readonly reference?: 'identity' | 'zero';
  readonly color?: string;
  /** Plot at most this many points, chosen evenly: the shape stays, the file stays small. */
  readonly maxPoints?: number;
}

/** Points on two numeric axes, with an optional reference line. */
export function scatterChart(options: ScatterChartOptions): string {
  const n = Math.min(options.x.length, options.y.length);
  const max = options.maxPoints ?? 2000;
  const step = n > max ? n / max : 1;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < n; k += step) {
    const i = Math.floor(k);
    xs.push(options.x[i]!);
    ys.push(options.y[i]!);
  }
  const identity = options.reference === 'identity';
  const both = extentOf([...xs, ...ys], 0.04);
  const frame = createFrame({
    title: options.title,
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    x: identity ? both : extentOf(xs, 0.04),
    y: identity ? both : extentOf(options.reference === 'zero' ? [...ys, 0] : ys, 0.06),
  });
  const color = options.color ?? seriesColor(0);
  const parts: string[] = [];
  if (identity) {
    const d = frame.x.domain;
    parts.push(`<path class="reference" d="M${coord(frame.x(d.min))},${coord(frame.y(d.min))}L${coord(frame.x(d.max))},${coord(frame.y(d.max))}" stroke="#a1a1aa" stroke-dasharray="4 4" fill="none"/>`);
  } else if (options.reference === 'zero') {
    const y0 = coord(frame.y(0));
    parts.push(`<path class="reference" d="M${frame.plot.left},${y0}H${frame.plot.right}" stroke="#a1a1aa" stroke-dasharray="4 4" fill="none"/>`);
  }
  const dots: string[] = [];
  for (let k = 0; k < xs.length; k++) {
    if (!Number.isFinite(xs[k]!) || !Number.isFinite(ys[k]!)) continue;
    dots.push(`<circle cx="${coord(frame.x(xs[k]!))}" cy="${coord(frame.y(ys[k]!))}" r="2.6"/>`);
  }
  parts.push(`<g class="points" fill="${color}" fill-opacity="0.55"><title>${escapeXml(`${dots.length} points`)}</title>${dots.join('')}</g>`);
  return frame.finish(parts.join(''));
}
