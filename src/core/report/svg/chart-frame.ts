/**
 * The pieces every inline SVG chart shares: escaping, linear scales with readable ticks,
 * a plot frame with axes, gridlines and a legend. Charts are plain strings (no DOM, no
 * script) so a report is one self-contained HTML file that renders offline.
 */

export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'] as const;

/** The colour of the i-th series, cycling through the palette. */
export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A number rounded for SVG coordinates: short files, no exponent notation. */
export function coord(value: number): string {
  return (Math.round(value * 100) / 100).toString();
}

export interface Extent {
  readonly min: number;
  readonly max: number;
}

/** The finite extent of some values, widened when empty or flat so a scale can divide by it. */
export function extentOf(values: Iterable<number>, pad = 0): Extent {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min === Number.POSITIVE_INFINITY) return { min: 0, max: 1 };
  if (min === max) {
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    return { min: min - d, max: max + d };
  }
  const p = (max - min) * pad;
  return { min: min - p, max: max + p };
}

/** About `count` round tick values covering the extent (1, 2 or 5 times a power of ten apart). */
export function niceTicks(extent: Extent, count = 5): number[] {
  const span = extent.max - extent.min;
  if (!(span > 0) || !Number.isFinite(span)) return [extent.min];
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.ceil(extent.min / step - 1e-9);
  // Multiply, never accumulate, and round to the step's decimals: 0.6, not 0.6000000000000001.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  const ticks: number[] = [];
  for (let k = first; k * step <= extent.max + step * 1e-9; k++) ticks.push(Number((k * step).toFixed(decimals)) || 0);
  return ticks;
}

/** Tick labels short enough for an axis: 0.25, 12k, 1.2M. */
export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3)}k`;
  if (abs >= 100 || Number.isInteger(value)) return String(Math.round(value));
  return trim(value);
}

function trim(value: number): string {
  return Number(value.toPrecision(3)).toString();
}

export interface LinearScale {
  (value: number): number;
  readonly domain: Extent;
}

export function linearScale(domain: Extent, from: number, to: number): LinearScale {
  const span = domain.max - domain.min || 1;
  const scale = ((value: number) => from + ((value - domain.min) / span) * (to - from)) as LinearScale & { domain: Extent };
  scale.domain = domain;
  return scale;
}

export interface FrameOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly x: Extent;
  readonly y: Extent;
  readonly width?: number;
  readonly height?: number;
  /** Whole-number x ticks only (epochs). */
  readonly xIntegers?: boolean;
  /** Tick labels for a categorical x axis, placed at 0, 1, 2… */
  readonly xCategories?: readonly string[];
  /** Series names shown in the legend, with their colours. */
  readonly legend?: readonly { readonly name: string; readonly color: string; readonly dashed?: boolean }[];
}

export interface Frame {
  readonly x: LinearScale;
  readonly y: LinearScale;
  readonly width: number;
  readonly height: number;
  readonly plot: { readonly left: number; readonly top: number; readonly right: number; readonly bottom: number };
  /** Wraps the chart body into the finished <svg>, axes and legend included. */
  finish(body: string): string;
}

/** A plot area with axes, gridlines and labels; the chart draws its marks inside `plot`. */
export function createFrame(options: FrameOptions): Frame {
  const width = options.width ?? 560;
  const items = options.legend ?? [];
  const legendColumns = legendColumnCount(items.map((i) => i.name), width - 78);
  const legendRows = items.length <= 1 ? 0 : Math.ceil(items.length / legendColumns);
  const height = (options.height ?? 340) + legendRows * 18;
  const plot = { left: 62, top: 34 + legendRows * 18, right: width - 16, bottom: height - 46 };
  const x = linearScale(options.x, plot.left, plot.right);
  const y = linearScale(options.y, plot.bottom, plot.top);
  const finish = (body: string): string => {
    const parts: string[] = [];
    parts.push(`<rect class="plot-bg" x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="#fafafa" stroke="#d4d4d8"/>`);
    for (const t of niceTicks(options.y, 5)) {
      const ty = coord(y(t));
      parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${ty}" y2="${ty}" stroke="#e4e4e7"/>`);
      parts.push(`<text x="${plot.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle" class="tick">${escapeXml(formatTick(t))}</text>`);
    }
    if (options.xCategories === undefined) {
      const xTicks = niceTicks(options.x, 6);
      for (const t of options.xIntegers === true ? xTicks.filter((v) => Number.isInteger(v)) : xTicks) {
        const tx = coord(x(t));
        parts.push(`<line x1="${tx}" x2="${tx}" y1="${plot.top}" y2="${plot.bottom}" stroke="#f0f0f2"/>`);
        parts.push(`<text x="${tx}" y="${plot.bottom + 16}" text-anchor="middle" class="tick">${escapeXml(formatTick(t))}</text>`);
      }
    } else {
      options.xCategories.forEach((label, i) => {
        parts.push(`<text x="${coord(x(i))}" y="${plot.bottom + 16}" text-anchor="middle" class="tick">${escapeXml(label)}</text>`);
      });
    }
    parts.push(body);
    parts.push(`<text x="${(plot.left + plot.right) / 2}" y="${height - 8}" text-anchor="middle" class="axis-label">${escapeXml(options.xLabel)}</text>`);
    parts.push(
      `<text transform="translate(14 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeXml(options.yLabel)}</text>`,
    );
    parts.push(`<text x="${plot.left}" y="18" class="chart-title">${escapeXml(options.title)}</text>`);
    if (legendRows > 0) parts.push(legend(items, plot.left, 34, (plot.right - plot.left) / legendColumns, legendColumns));
    return svgDocument(width, height, options.title, parts.join(''));
  };
  return { x, y, width, height, plot, finish };
}

/** As many legend columns (up to 3) as the longest label allows, so labels never overlap. */
export function legendColumnCount(labels: readonly string[], available: number): number {
  // About 6.6 px per character at 12 px, plus the swatch and a gap.
  const widest = Math.max(1, ...labels.map((l) => l.length)) * 6.6 + 40;
  return Math.max(1, Math.min(3, Math.floor(available / widest)));
}

function legend(items: NonNullable<FrameOptions['legend']>, left: number, top: number, columnWidth: number, columns: number): string {
  return items
    .map((item, i) => {
      const lx = left + (i % columns) * columnWidth;
      const ly = top + Math.floor(i / columns) * 18 - 6;
      const dash = item.dashed === true ? ' stroke-dasharray="5 3"' : '';
      return (
        `<line x1="${coord(lx)}" x2="${coord(lx + 18)}" y1="${ly}" y2="${ly}" stroke="${item.color}" stroke-width="2.5"${dash}/>` +
        `<text x="${coord(lx + 24)}" y="${ly}" dominant-baseline="middle" class="legend">${escapeXml(item.name)}</text>`
      );
    })
    .join('');
}

/** The outer <svg> element: scales to its container, titled for screen readers. */
export function svgDocument(width: number, height: number, title: string, body: string): string {
  return (
    // No xmlns: inline in HTML the parser puts <svg> in the SVG namespace by itself.
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(title)}">` +
    `<title>${escapeXml(title)}</title>${body}</svg>`
  );
}
