/**
 * Columnar storage for a parsed CSV: one typed array per column, no object per row.
 *
 * - A number column is a Float64Array; a missing value is NaN. The reader never stores NaN for
 *   a value it read (a field that does not parse as a finite number is an error, or missing),
 *   so NaN is the column's missing mask at no extra cost.
 * - A text column is dictionary-encoded: one code per row (Uint16Array while the column has
 *   fewer than 65,535 distinct values, then Uint32Array), 0 for a missing value and k for
 *   `dictionary[k - 1]`.
 *
 * A table knows the file line of each row (for messages) in a few numbers: the rows where
 * blank lines, skipped lines or multi-line records shift the line from the row number.
 */
import type { DataRecord } from './dataset-spec.js';

export interface NumberColumn {
  readonly kind: 'number';
  readonly name: string;
  /** One value per row; NaN where the value is missing. */
  readonly values: Float64Array;
}

export interface TextColumn {
  readonly kind: 'text';
  readonly name: string;
  /** One code per row: 0 for missing, k for `dictionary[k - 1]`. */
  readonly codes: Uint16Array | Uint32Array;
  /** The distinct values, in order of first appearance. */
  readonly dictionary: readonly string[];
}

export type DataColumn = NumberColumn | TextColumn;

export interface DataTable {
  /** The file the rows came from, as messages name it. */
  readonly source: string;
  readonly rows: number;
  readonly columns: readonly DataColumn[];
  column(name: string): DataColumn | undefined;
  /** The 1-based line of the file that row `row` ends on. */
  lineOf(row: number): number;
}

/**
 * Some rows of a table, in a given order (a split's training rows): row `i` of the selection
 * is row `index[i]` of the table. Nothing is copied.
 */
export interface TableRows {
  readonly table: DataTable;
  readonly index: Uint32Array;
}

/** Every row of `table`, in file order. */
export function allRows(table: DataTable): TableRows {
  const index = new Uint32Array(table.rows);
  for (let i = 0; i < index.length; i++) index[i] = i;
  return { table, index };
}

/** `rows` narrowed to positions `positions` of it (indices into `rows.index`), in that order. */
export function selectRows(rows: TableRows, positions: ArrayLike<number>): TableRows {
  const index = new Uint32Array(positions.length);
  for (let i = 0; i < positions.length; i++) index[i] = rows.index[positions[i]!]!;
  return { table: rows.table, index };
}

/** Where row `i` of a selection is in its file, for messages: "adult.test line 17". */
export function rowLocation(rows: TableRows, i: number): string {
  return `${rows.table.source} line ${rows.table.lineOf(rows.index[i]!)}`;
}

/** The text of a text column's row, or null when missing. */
export function textAt(column: TextColumn, row: number): string | null {
  const code = column.codes[row]!;
  return code === 0 ? null : column.dictionary[code - 1]!;
}

/** A value as a record holds it: a number, a text or null. */
export function valueAt(column: DataColumn, row: number): string | number | null {
  if (column.kind === 'text') return textAt(column, row);
  const value = column.values[row]!;
  return value === value ? value : null;
}

/** Rows per chunk while a column grows: chunks are joined once, at the end. */
const CHUNK_ROWS = 65_536;

/** Grows a number column a chunk at a time; `finish` joins the chunks into one array. */
export class NumberColumnBuilder {
  private readonly chunks: Float64Array[] = [];
  private current = new Float64Array(CHUNK_ROWS);
  private used = 0;

  constructor(readonly name: string) {}

  push(value: number): void {
    if (this.used === CHUNK_ROWS) {
      this.chunks.push(this.current);
      this.current = new Float64Array(CHUNK_ROWS);
      this.used = 0;
    }
    this.current[this.used++] = value;
  }

  /** The column, with as many rows as values were pushed. */
  finish(): NumberColumn {
    const values = new Float64Array(this.chunks.length * CHUNK_ROWS + this.used);
    this.chunks.forEach((chunk, k) => values.set(chunk, k * CHUNK_ROWS));
    values.set(this.current.subarray(0, this.used), this.chunks.length * CHUNK_ROWS);
    this.chunks.length = 0;
    this.current = new Float64Array(0);
    return { kind: 'number', name: this.name, values };
  }
}

/** Grows a text column's codes (the dictionary is the caller's); Uint16 until a code needs more. */
export class CodeColumnBuilder {
  private chunks: (Uint16Array | Uint32Array)[] = [];
  private current: Uint16Array | Uint32Array = new Uint16Array(CHUNK_ROWS);
  private used = 0;
  private wide = false;

  /** Appends a code: 0 for missing, k for the dictionary's entry k − 1. */
  push(code: number): void {
    if (code > 0xffff && !this.wide) this.widen();
    if (this.used === CHUNK_ROWS) {
      this.chunks.push(this.current);
      this.current = this.wide ? new Uint32Array(CHUNK_ROWS) : new Uint16Array(CHUNK_ROWS);
      this.used = 0;
    }
    this.current[this.used++] = code;
  }

  /** The codes, one per push. */
  finish(): Uint16Array | Uint32Array {
    const length = this.chunks.length * CHUNK_ROWS + this.used;
    const codes = this.wide ? new Uint32Array(length) : new Uint16Array(length);
    this.chunks.forEach((chunk, k) => codes.set(chunk, k * CHUNK_ROWS));
    codes.set(this.current.subarray(0, this.used), this.chunks.length * CHUNK_ROWS);
    this.chunks = [];
    this.current = new Uint16Array(0);
    return codes;
  }

  private widen(): void {
    this.wide = true;
    this.chunks = this.chunks.map((chunk) => Uint32Array.from(chunk));
    this.current = Uint32Array.from(this.current);
  }
}

/**
 * The lines rows end on, kept as the rows where the distance between line and row changes
 * (a file with no blank line and single-line records keeps one entry).
 */
export class LineIndex {
  private rows: number[] = [];
  private offsets: number[] = [];

  /** Row `row` (added in order) ends on line `line`. */
  add(row: number, line: number): void {
    const offset = line - row;
    if (this.offsets.length === 0 || this.offsets[this.offsets.length - 1] !== offset) {
      this.rows.push(row);
      this.offsets.push(offset);
    }
  }

  lineOf(row: number): number {
    const rows = this.rows;
    let lo = 0;
    let hi = rows.length - 1;
    if (hi < 0) return row + 1;
    // The last change at or before `row`.
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (rows[mid]! <= row) lo = mid;
      else hi = mid - 1;
    }
    return row + this.offsets[lo]!;
  }
}

/** A table over finished columns. */
export function createDataTable(source: string, rows: number, columns: readonly DataColumn[], lines: LineIndex): DataTable {
  const byName = new Map(columns.map((column) => [column.name, column]));
  return {
    source,
    rows,
    columns,
    column: (name) => byName.get(name),
    lineOf: (row) => lines.lineOf(row),
  };
}

/** Rows as records (the given columns, missing values as null): for the few consumers that want objects. */
export function rowsAsRecords(rows: TableRows, columns: readonly string[]): DataRecord[] {
  const present = columns.flatMap((name) => {
    const column = rows.table.column(name);
    return column === undefined ? [] : [column];
  });
  return Array.from(rows.index, (row) => {
    const record: DataRecord = {};
    for (const column of present) record[column.name] = valueAt(column, row);
    return record;
  });
}
