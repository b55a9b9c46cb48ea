/** Renders rows as a terminal table with cli-table3, loaded only when a table is drawn. */
export interface TableOptions {
  readonly head: readonly string[];
  readonly rows: readonly (readonly (string | number | boolean | null | undefined)[])[];
  /** Columns to right-align (numbers). */
  readonly alignRight?: readonly number[];
  readonly color?: boolean;
}

export async function renderTable(options: TableOptions): Promise<string> {
  // Imported on first use to keep start-up light (the bundle inlines it; see scripts/bundle.mjs).
  // cli-table3 is CommonJS (`export =`): Node hands it over as the namespace's default export.
  const { default: Table } = (await import('cli-table3')) as unknown as { default: typeof import('cli-table3') };
  const align = options.head.map((_, i) => (options.alignRight?.includes(i) ? 'right' : 'left'));
  const table = new Table({
    head: [...options.head],
    colAligns: align as ('left' | 'right')[],
    style: { head: options.color === true ? ['cyan'] : [], border: options.color === true ? ['grey'] : [], compact: true },
  });
  for (const row of options.rows) table.push(row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))));
  return table.toString();
}

/** Formats a number for a table: fixed decimals, thousands separators for large integers. */
export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '';
  if (Number.isInteger(value) && Math.abs(value) >= 1000) return value.toLocaleString('en-US');
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(digits);
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value >= 10 ? 0 : 1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}m ${Math.round(s - m * 60)}s`;
}

/** "reading big.csv: 412 MiB of 1.0 GiB (40 %), 3,100,000 rows, ETA 12s". */
export function readingLine(file: string, read: number, total: number, rows: number, elapsedMs: number): string {
  const share = total > 0 ? read / total : 1;
  const eta = share > 0 && share < 1 ? `, ETA ${Math.ceil((elapsedMs * (1 - share)) / share / 1000)}s` : '';
  return `reading ${file}: ${formatBytes(read)} of ${formatBytes(total)} (${Math.floor(share * 100)} %), ${formatNumber(rows)} rows${eta}`;
}
