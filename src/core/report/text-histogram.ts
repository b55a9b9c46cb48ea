/**
 * A small two-column histogram for a terminal: reference and current share per bin, as bars
 * of Unicode eighth blocks on one scale, so a shift reads at a glance in a cron mail or a CI
 * log without opening the HTML page.
 */
import type { BinComparison } from '../monitoring/compare-drift.js';

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar `share / scale` of `width` characters long, in eighths of a character. */
export function bar(share: number, scale: number, width: number): string {
  const eighths = scale > 0 ? Math.round((share / scale) * width * 8) : 0;
  const full = Math.floor(eighths / 8);
  // A non-zero share never vanishes: one eighth says "some, but little".
  const rest = eighths === 0 && share > 0 ? 1 : eighths % 8;
  return '█'.repeat(full) + EIGHTHS[rest]!;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

export interface TextHistogramOptions {
  /** Bar width in characters at the largest share (default 16). */
  readonly width?: number;
  /** At most this many bins; those that moved most are kept, in their own order (default 12). */
  readonly maxBins?: number;
}

/**
 * Lines of a reference-versus-current histogram. Bins empty on both sides are left out;
 * past `maxBins`, the bins whose shares moved least are left out and counted.
 */
export function textHistogram(bins: readonly BinComparison[], options: TextHistogramOptions = {}): string[] {
  const width = options.width ?? 16;
  const maxBins = options.maxBins ?? 12;
  const shown = bins.filter((b) => b.referenceCount > 0 || b.currentCount > 0);
  let kept = shown;
  if (shown.length > maxBins) {
    const moved = [...shown].sort((a, b) => Math.abs(b.current - b.reference) - Math.abs(a.current - a.reference)).slice(0, maxBins);
    const keep = new Set(moved);
    kept = shown.filter((b) => keep.has(b));
  }
  const scale = Math.max(0, ...kept.flatMap((b) => [b.reference, b.current]));
  const labelWidth = Math.max(3, ...kept.map((b) => [...b.label].length));
  const column = width + 7;
  const lines = [`  ${'bin'.padEnd(labelWidth)}  ${'reference'.padEnd(column)}  current`];
  for (const b of kept) {
    const reference = `${bar(b.reference, scale, width).padEnd(width)} ${percent(b.reference).padStart(6)}`;
    const current = `${bar(b.current, scale, width).padEnd(width)} ${percent(b.current).padStart(6)}`;
    lines.push(`  ${b.label.padEnd(labelWidth)}  ${reference.padEnd(column)}  ${current}`);
  }
  const hidden = shown.length - kept.length;
  if (hidden > 0) lines.push(`  … ${hidden} more bin${hidden === 1 ? '' : 's'} that moved less`);
  return lines;
}
