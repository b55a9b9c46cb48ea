import type { ColumnType } from './dataset-spec.js';
import type { CsvTable } from './csv-reader.js';

/** Summary statistics of one column, as `mlctl data describe` shows them. */
export interface ColumnSummary {
  name: string;
  type: ColumnType;
  /** Null values (missing markers in the file). */
  missing: number;
  /** Distinct non-missing values. */
  distinct: number;
  /** Number columns only. */
  min?: number;
  mean?: number;
  max?: number;
  std?: number;
  /** String columns only: the most frequent values, most frequent first (ties by value). */
  top?: { value: string; count: number }[];
}

export interface TableDescription {
  rows: number;
  columns: ColumnSummary[];
}

export interface DescribeOptions {
  /** How many top values to list for a string column (default 5). */
  top?: number;
}

/** Per-column statistics of a parsed table. Pure; one pass per column. */
export function describeTable(table: CsvTable, options: DescribeOptions = {}): TableDescription {
  const topCount = options.top ?? 5;
  const columns = table.columns.map((name, index): ColumnSummary => {
    const type = table.columnTypes[index] ?? 'string';
    return type === 'number' ? describeNumbers(table, name) : describeStrings(table, name, topCount);
  });
  return { rows: table.records.length, columns };
}

function describeNumbers(table: CsvTable, name: string): ColumnSummary {
  let missing = 0;
  let count = 0;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const distinct = new Set<number>();
  for (const record of table.records) {
    const value = record[name];
    if (typeof value !== 'number') {
      missing++;
      continue;
    }
    count++;
    sum += value;
    if (value < min) min = value;
    if (value > max) max = value;
    distinct.add(value);
  }
  const summary: ColumnSummary = { name, type: 'number', missing, distinct: distinct.size };
  if (count === 0) return summary;
  const mean = sum / count;
  let squares = 0;
  for (const record of table.records) {
    const value = record[name];
    if (typeof value === 'number') squares += (value - mean) ** 2;
  }
  return { ...summary, min, mean, max, std: count > 1 ? Math.sqrt(squares / (count - 1)) : 0 };
}

function describeStrings(table: CsvTable, name: string, topCount: number): ColumnSummary {
  let missing = 0;
  const counts = new Map<string, number>();
  for (const record of table.records) {
    const value = record[name];
    if (value === null || value === undefined) {
      missing++;
      continue;
    }
    const key = String(value);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const top = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, topCount)
    .map(([value, count]) => ({ value, count }));
  return { name, type: 'string', missing, distinct: counts.size, top };
}
