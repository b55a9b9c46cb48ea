import { coord, escapeXml, extentOf, formatTick, legendColumnCount, linearScale, niceTicks, seriesColor, svgDocument } from './chart-frame.js';

export interface BarGroup {
  /** The row label (a feature, a group). */
  readonly label: string;
  /** One value per series, in the order of `series`. */
  readonly values: readonly number[];
}

export interface BarChartOptions {
  readonly title: string;
  /** What the bar lengths measure. */
  readonly valueLabel: string;
  readonly series: readonly string[];
  readonly groups: readonly BarGroup[];
  /** Highlight these bars ("group|series") with a dark outline: the largest gap, a failing metric. */
  readonly highlight?: ReadonlySet<string>;
  readonly width?: number;
  /** Value axis domain; default: the data's extent including 0. */
  readonly domain?: { readonly min: number; readonly max: number };
}

/**
 * Horizontal bars, one row per group and one bar per series within it: permutation
 * importance (one series), metrics per slice (several). Negative values extend left of zero.
 */
export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 560;
  const labelWidth = Math.min(200, 12 + Math.max(4, ...options.groups.map((g) => g.label.length)) * 6.6);
  const barHeight = options.series.length > 1 ? 11 : 16;
  const groupHeight = barHeight * options.series.length + 10;
  const legendColumns = legendColumnCount(options.series, width - 40);
  const legendHeight = options.series.length > 1 ? 20 * Math.ceil(options.series.length / legendColumns) : 0;
  const top = 40 + legendHeight;
  const height = top + groupHeight * options.groups.length + 40;
  const plot = { left: labelWidth, right: width - 24, top, bottom: top + groupHeight * options.groups.length };
  const values = options.groups.flatMap((g) => g.values);
  const domain = options.domain ?? extentOf([0, ...values], 0.05);
  const x = linearScale(domain, plot.left, plot.right);
  const parts: string[] = [];
  parts.push(`<text x="8" y="18" class="chart-title">${escapeXml(options.title)}</text>`);
  if (legendHeight > 0) {
    const columnWidth = (width - 40) / legendColumns;
    options.series.forEach((name, i) => {
      const lx = 20 + (i % legendColumns) * columnWidth;
      const ly = 30 + Math.floor(i / legendColumns) * 20;
      parts.push(`<rect x="${coord(lx)}" y="${ly - 6}" width="12" height="12" fill="${seriesColor(i)}"/>`);
      parts.push(`<text x="${coord(lx + 16)}" y="${ly}" dominant-baseline="middle" class="legend">${escapeXml(name)}</text>`);
    });
  }
  for (const t of niceTicks(domain, 5)) {
    const tx = coord(x(t));
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${plot.top}" y2="${plot.bottom}" stroke="#e4e4e7"/>`);
    parts.push(`<text x="${tx}" y="${plot.bottom + 16}" text-anchor="middle" class="tick">${escapeXml(formatTick(t))}</text>`);
  }
  const zero = x(Math.min(Math.max(0, domain.min), domain.max));
  options.groups.forEach((group, g) => {
    const gy = plot.top + g * groupHeight + 5;
    parts.push(
      `<text x="${plot.left - 8}" y="${coord(gy + (groupHeight - 10) / 2)}" text-anchor="end" dominant-baseline="middle" class="tick">${escapeXml(group.label)}</text>`,
    );
    group.values.forEach((value, s) => {
      if (!Number.isFinite(value)) return;
      const end = x(value);
      const bx = Math.min(zero, end);
      // A zero-length bar would vanish; one pixel says "measured, and it is zero".
      const bw = Math.max(1, Math.abs(end - zero));
      const by = gy + s * barHeight;
      const marked = options.highlight?.has(`${group.label}|${options.series[s] ?? ''}`) === true;
      const stroke = marked ? ' stroke="#111827" stroke-width="2"' : '';
      parts.push(
        `<rect class="bar${marked ? ' highlight' : ''}" x="${coord(bx)}" y="${coord(by)}" width="${coord(bw)}" height="${barHeight - 2}" fill="${seriesColor(s)}"${stroke}><title>${escapeXml(
          `${group.label} · ${options.series[s] ?? ''}: ${value.toFixed(4)}`,
        )}</title></rect>`,
      );
    });
  });
  parts.push(`<line x1="${coord(zero)}" x2="${coord(zero)}" y1="${plot.top}" y2="${plot.bottom}" stroke="#52525b"/>`);
  parts.push(`<text x="${(plot.left + plot.right) / 2}" y="${height - 8}" text-anchor="middle" class="axis-label">${escapeXml(options.valueLabel)}</text>`);
  return svgDocument(width, height, options.title, parts.join(''));
}
