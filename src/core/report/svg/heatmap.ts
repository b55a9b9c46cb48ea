import { escapeXml, svgDocument } from './chart-frame.js';

export interface HeatmapOptions {
  readonly title: string;
  readonly rowLabels: readonly string[];
  readonly columnLabels: readonly string[];
  /** cells[row][column] */
  readonly cells: readonly (readonly number[])[];
  readonly rowTitle?: string;
  readonly columnTitle?: string;
}

/** A matrix of counts shaded by size, each cell labelled with its count and share of the row. */
export function heatmap(options: HeatmapOptions): string {
  const cell = 120;
  // At least as wide as the other charts, so it is drawn at the same scale beside them.
  const width = Math.max(560, 150 + cell * options.columnLabels.length);
  const left = Math.round((width - cell * options.columnLabels.length) / 2 + 40);
  const top = 62;
  const height = top + cell * options.rowLabels.length + 20;
  const max = Math.max(1, ...options.cells.flat());
  const parts: string[] = [`<text x="8" y="18" class="chart-title">${escapeXml(options.title)}</text>`];
  if (options.columnTitle !== undefined) {
    parts.push(`<text x="${left + (cell * options.columnLabels.length) / 2}" y="38" text-anchor="middle" class="axis-label">${escapeXml(options.columnTitle)}</text>`);
  }
  options.columnLabels.forEach((label, c) => {
    parts.push(`<text x="${left + c * cell + cell / 2}" y="${top - 8}" text-anchor="middle" class="tick">${escapeXml(label)}</text>`);
  });
  options.rowLabels.forEach((label, r) => {
    const row = options.cells[r] ?? [];
    const rowTotal = row.reduce((a, b) => a + b, 0);
    parts.push(`<text x="${left - 10}" y="${top + r * cell + cell / 2}" text-anchor="end" dominant-baseline="middle" class="tick">${escapeXml(label)}</text>`);
    row.forEach((value, c) => {
      const share = value / max;
      // Light to dark blue; text flips to white where the fill is dark.
      const lightness = Math.round(96 - share * 58);
      const fill = `hsl(217 80% ${lightness}%)`;
      const ink = lightness < 62 ? '#ffffff' : '#111827';
      const x = left + c * cell;
      const y = top + r * cell;
      const pct = rowTotal === 0 ? 0 : (100 * value) / rowTotal;
      parts.push(
        `<rect class="cell" x="${x}" y="${y}" width="${cell - 2}" height="${cell - 2}" fill="${fill}"><title>${escapeXml(`${label} / ${options.columnLabels[c] ?? ''}: ${value}`)}</title></rect>`,
      );
      parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 - 8}" text-anchor="middle" class="cell-count" style="fill:${ink}">${value.toLocaleString('en-US')}</text>`);
      parts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 14}" text-anchor="middle" class="cell-share" style="fill:${ink}">${pct.toFixed(1)}% of row</text>`);
    });
  });
  if (options.rowTitle !== undefined) {
    parts.push(`<text transform="translate(16 ${top + (cell * options.rowLabels.length) / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeXml(options.rowTitle)}</text>`);
  }
  return svgDocument(width, height, options.title, parts.join(''));
}
