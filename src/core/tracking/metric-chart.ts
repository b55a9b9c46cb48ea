const BARS = '▁▂▃▄▅▆▇█';

/**
 * A one-line chart of a metric history: values bucketed into at most `width` cells (the
 * mean of each bucket), scaled between the history's min and max. Non-finite values are
 * drawn as spaces. Plain text, so it prints anywhere a terminal can show Unicode.
 */
export function sparkline(values: readonly number[], width = 40): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return '';
  const cells = Math.max(1, Math.min(width, values.length));
  const buckets: number[] = [];
  for (let c = 0; c < cells; c += 1) {
    const from = Math.floor((c * values.length) / cells);
    const to = Math.max(from + 1, Math.floor(((c + 1) * values.length) / cells));
    const slice = values.slice(from, to).filter(Number.isFinite);
    buckets.push(slice.length === 0 ? Number.NaN : slice.reduce((a, b) => a + b, 0) / slice.length);
  }
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  return buckets
    .map((v) => {
      if (!Number.isFinite(v)) return ' ';
      if (max === min) return BARS[3];
      return BARS[Math.min(BARS.length - 1, Math.floor(((v - min) / (max - min)) * BARS.length))];
    })
    .join('');
}
