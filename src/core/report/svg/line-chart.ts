import { coord, createFrame, escapeXml, extentOf, seriesColor, type Extent } from './chart-frame.js';

export interface LineSeries {
  readonly name: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  readonly color?: string;
  readonly dashed?: boolean;
  /** Draw a dot at each point (few points: epochs, calibration bins). */
  readonly markers?: boolean;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  /** Fixed axes (ROC, PR and calibration live on [0, 1]); default: the data's extent. */
  readonly xDomain?: Extent;
  readonly yDomain?: Extent;
  /** Whole-number x ticks only (epochs). */
  readonly xIntegers?: boolean;
  /** A grey dashed y = x line: chance for ROC, perfect calibration. */
  readonly diagonal?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** Most curves need far fewer points than a test set has rows: keep at most `max`, ends included. */
export function thinPoints(x: readonly number[], y: readonly number[], max = 400): { x: number[]; y: number[] } {
  if (x.length <= max) return { x: [...x], y: [...y] };
  const step = (x.length - 1) / (max - 1);
  const xs: number[] = [];
  const ys: number[] = [];
  for (let k = 0; k < max; k++) {
    const i = Math.round(k * step);
    xs.push(x[i]!);
    ys.push(y[i]!);
  }
  return { x: xs, y: ys };
}

/** One or more series as polylines on shared axes, with a legend when there are several. */
export function lineChart(options: LineChartOptions): string {
  const xs = options.series.flatMap((s) => s.x);
  const ys = options.series.flatMap((s) => s.y);
  const frame = createFrame({
    title: options.title,
    xLabel: options.xLabel,
    yLabel: options.yLabel,
    x: options.xDomain ?? extentOf(xs),
    y: options.yDomain ?? extentOf(ys, 0.08),
    ...(options.xIntegers === true ? { xIntegers: true } : {}),
    ...(options.width === undefined ? {} : { width: options.width }),
    ...(options.height === undefined ? {} : { height: options.height }),
    legend: options.series.map((s, i) => ({ name: s.name, color: s.color ?? seriesColor(i), ...(s.dashed === true ? { dashed: true } : {}) })),
  });
  const parts: string[] = [];
  if (options.diagonal === true) {
    const d = frame.x.domain;
    parts.push(
      `<path class="reference" d="M${coord(frame.x(d.min))},${coord(frame.y(d.min))}L${coord(frame.x(d.max))},${coord(frame.y(d.max))}" stroke="#a1a1aa" stroke-dasharray="4 4" fill="none"/>`,
    );
  }
  options.series.forEach((series, i) => {
    const color = series.color ?? seriesColor(i);
    const points: string[] = [];
    const n = Math.min(series.x.length, series.y.length);
    for (let k = 0; k < n; k++) {
      const vx = series.x[k]!;
      const vy = series.y[k]!;
      if (!Number.isFinite(vx) || !Number.isFinite(vy)) continue;
      points.push(`${coord(frame.x(vx))},${coord(frame.y(vy))}`);
    }
    if (points.length === 0) return;
    const dash = series.dashed === true ? ' stroke-dasharray="6 4"' : '';
    // A single point still needs a visible mark, so the path gets a zero-length segment and round caps.
    const d = points.length === 1 ? `M${points[0]}l0.01,0` : `M${points.join('L')}`;
    parts.push(
      `<path class="series" d="${d}" stroke="${color}" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" fill="none"${dash}><title>${escapeXml(series.name)}</title></path>`,
    );
    if (series.markers === true) {
      for (let k = 0; k < n; k++) {
        const vx = series.x[k]!;
        const vy = series.y[k]!;
        if (!Number.isFinite(vx) || !Number.isFinite(vy)) continue;
        parts.push(
          `<circle cx="${coord(frame.x(vx))}" cy="${coord(frame.y(vy))}" r="3.2" fill="${color}"><title>${escapeXml(`${series.name}: ${fmt(vx)}, ${fmt(vy)}`)}</title></circle>`,
        );
      }
    }
  });
  return frame.finish(parts.join(''));
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}
