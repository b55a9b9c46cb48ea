/**
 * The feature matrix as models read it, without holding it: `FeatureRows` writes any rows of
 * it, row-major, into a caller's buffer (a training batch, a block to score, the whole matrix
 * for a model that wants it). Over a columnar table (`createFeatureRows`) each pipeline column
 * is encoded from its input column: numbers through the column's impute and numeric steps,
 * categories through a table computed once per distinct value. The values are those
 * `writeRecord` writes for the same rows as records, bit for bit
 * (test/unit/features/feature-rows.test.ts).
 */
import type { DataColumn, TableRows } from '../datasets/data-table.js';
import { rowLocation } from '../datasets/data-table.js';
import { UsageError } from '../errors.js';
import { applyNumericOps, compiledPipeline, normalizeFlag, previewList, readNumber, type CompiledColumn, type UnseenCategory } from './compiled-pipeline.js';
import { DATE_FORMATS_TEXT, datePart, parseDate } from './dates.js';
import type { FittedPipeline } from './pipeline-spec.js';

/** A dense feature matrix, row-major: feature `j` of row `i` is `data[i * cols + j]`. */
export interface FeatureMatrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** Rows of a feature matrix, written on demand. */
export interface FeatureRows {
  readonly rows: number;
  readonly cols: number;
  /** Writes rows [from, to) into `out` from its start, `cols` values per row. */
  fill(from: number, to: number, out: Float32Array): void;
  /** Writes rows `positions[from]`, … `positions[to − 1]` into `out` from its start, in that order. */
  gather(positions: ArrayLike<number>, from: number, to: number, out: Float32Array): void;
}

/** A dense matrix as FeatureRows. */
export function matrixRows(matrix: FeatureMatrix): FeatureRows {
  const { data, rows, cols } = matrix;
  return {
    rows,
    cols,
    fill: (from, to, out) => out.set(data.subarray(from * cols, to * cols)),
    gather(positions, from, to, out) {
      for (let i = from; i < to; i++) {
        const row = positions[i]!;
        out.set(data.subarray(row * cols, (row + 1) * cols), (i - from) * cols);
      }
    },
  };
}

/** Every row, as one dense matrix (for a model that wants it whole). */
export function materialize(x: FeatureRows): FeatureMatrix {
  const data = new Float32Array(x.rows * x.cols);
  x.fill(0, x.rows, data);
  return { data, rows: x.rows, cols: x.cols };
}

/** Rows per block when a caller walks every row. */
export const BLOCK_ROWS = 4_096;

/**
 * Calls `visit` with consecutive blocks of rows, each written into one reused buffer: the block
 * holds rows [from, to), `(to − from) × cols` values from the buffer's start.
 */
export async function forEachBlock(x: FeatureRows, visit: (block: Float32Array, from: number, to: number) => void | Promise<void>, blockRows = BLOCK_ROWS): Promise<void> {
  const buffer = new Float32Array(Math.min(blockRows, Math.max(x.rows, 1)) * x.cols);
  for (let from = 0; from < x.rows; from += blockRows) {
    const to = Math.min(x.rows, from + blockRows);
    x.fill(from, to, buffer);
    await visit(buffer.subarray(0, (to - from) * x.cols), from, to);
  }
}

/** One pipeline column written from its input column. */
interface ColumnEncoder {
  /** Writes the column's features for table row `row` at `out[at…]`. */
  write(row: number, out: Float32Array, at: number): void;
}

/** At most this many problems are listed in one error. */
const MAX_PROBLEMS = 50;

export interface FeatureRowsOptions {
  /** Told of each row whose category the pipeline has not seen (once per row, when created). */
  readonly onUnseen?: (event: UnseenCategory) => void;
}

/**
 * The features of `rows` (a selection of a table holding the pipeline's input columns). Every
 * row is checked first, so writing never fails: a value the pipeline cannot encode (missing
 * without an impute step, an unknown category under the "error" policy, a negative value under
 * log1p, text where a date or yes/no belongs) throws UsageError 'RECORDS_INVALID' listing every
 * bad field by file line. Unseen categories are reported through `onUnseen` here, once per row.
 */
export function createFeatureRows(pipeline: FittedPipeline, rows: TableRows, options: FeatureRowsOptions = {}): FeatureRows {
  const compiled = compiledPipeline(pipeline);
  const problems: string[] = [];
  let failed = 0;
  const problem = (position: number, column: string, message: string): void => {
    failed++;
    if (problems.length < MAX_PROBLEMS) problems.push(`${rowLocation(rows, position)}, column "${column}": ${message}`);
  };
  const encoders = compiled.columns.map((column) => encoderFor(column, rows, problem, options.onUnseen));
  if (failed > 0) {
    const more = failed > 1 ? ` (${failed} values failed${failed > problems.length ? `; the first ${problems.length} are listed` : ''})` : '';
    throw new UsageError('RECORDS_INVALID', `Cannot transform the rows: ${problems[0]}${more}`, {
      problems,
      hint: 'Fix the listed values; each names the file line and column.',
    });
  }
  const cols = compiled.width;
  const index = rows.index;
  const offsets = compiled.columns.map((column) => column.offset);
  const writeRow = (row: number, out: Float32Array, base: number): void => {
    for (let c = 0; c < encoders.length; c++) encoders[c]!.write(row, out, base + offsets[c]!);
  };
  return {
    rows: index.length,
    cols,
    fill(from, to, out) {
      for (let i = from; i < to; i++) writeRow(index[i]!, out, (i - from) * cols);
    },
    gather(positions, from, to, out) {
      for (let i = from; i < to; i++) writeRow(index[positions[i]!]!, out, (i - from) * cols);
    },
  };
}

type Problem = (position: number, column: string, message: string) => void;

function encoderFor(column: CompiledColumn, rows: TableRows, problem: Problem, onUnseen: FeatureRowsOptions['onUnseen']): ColumnEncoder {
  const input = rows.table.column(column.column);
  if (input === undefined) throw new UsageError('RECORDS_INVALID', `Cannot transform the rows: ${rows.table.source} has no column "${column.column}"`);
  if (column.kind === 'numeric') return numericEncoder(column, input, rows, problem);
  return categoryEncoder(column, textView(input), rows, problem, onUnseen);
}

/** A column's values as numbers: a number column as is, a text column parsed once per distinct value. */
function numbersOf(input: DataColumn): { values: (row: number) => number; bad: (row: number) => string | undefined } {
  if (input.kind === 'number') {
    const values = input.values;
    return { values: (row) => values[row]!, bad: () => undefined };
  }
  const parsed = input.dictionary.map((text) => {
    try {
      return readNumber(text, input.name, 0);
    } catch {
      return undefined;
    }
  });
  const codes = input.codes;
  return {
    values: (row) => {
      const code = codes[row]!;
      return code === 0 ? Number.NaN : (parsed[code - 1] ?? Number.NaN);
    },
    bad: (row) => {
      const code = codes[row]!;
      return code !== 0 && parsed[code - 1] === undefined ? input.dictionary[code - 1] : undefined;
    },
  };
}

function numericEncoder(column: Extract<CompiledColumn, { kind: 'numeric' }>, input: DataColumn, rows: TableRows, problem: Problem): ColumnEncoder {
  const { ops, keepMissing } = column;
  const impute = column.impute;
  const source = numbersOf(input);
  const hasLog = ops.some((op) => op.op === 'log1p');
  const index = rows.index;
  for (let i = 0; i < index.length; i++) {
    const row = index[i]!;
    const text = source.bad(row);
    if (text !== undefined) {
      problem(i, column.column, `expected a finite number, got ${JSON.stringify(text)}.`);
      continue;
    }
    const x = source.values(row);
    if (Number.isNaN(x)) {
      if (impute === undefined && !keepMissing) problem(i, column.column, 'value is missing and the pipeline has no impute step for it.');
    } else if (hasLog) {
      try {
        applyNumericOps(ops, x, column.column, i);
      } catch {
        problem(i, column.column, `${x} is negative; log1p needs values ≥ 0.`);
      }
    }
  }
  /** The feature of value x (NaN: imputed, or NaN where there is no impute step). */
  const feature = (x: number, row: number): number => {
    if (x !== x) {
      if (impute === undefined) return Number.NaN;
      x = impute;
    }
    return ops.length === 0 ? x : applyNumericOps(ops, x, column.column, row);
  };
  // A number column is read straight from its array; other inputs through their reader.
  if (input.kind === 'number') {
    const values = input.values;
    return { write: (row, out, at) => void (out[at] = feature(values[row]!, row)) };
  }
  return { write: (row, out, at) => void (out[at] = feature(source.values(row), row)) };
}

/** A column as category codes: a text column as is, a number column spelled as a record would hold it. */
function textView(input: DataColumn): { codes: ArrayLike<number>; dictionary: readonly string[] } {
  if (input.kind === 'text') return input;
  const dictionary = new Map<string, number>();
  const codes = new Uint32Array(input.values.length);
  input.values.forEach((x, row) => {
    if (x !== x) return;
    const text = String(x);
    let code = dictionary.get(text);
    if (code === undefined) {
      code = dictionary.size + 1;
      dictionary.set(text, code);
    }
    codes[row] = code;
  });
  return { codes, dictionary: [...dictionary.keys()] };
}

/** What one distinct value (or a missing one) encodes as. */
interface CodeEncoding {
  /** The features it writes (one-hot: the index of its 1, or −1 for none). */
  readonly values: readonly number[];
  /** Why it cannot be encoded. */
  readonly problem?: string;
  /** The category, when the pipeline has not seen it. */
  readonly unseen?: string;
}

function categoryEncoder(
  column: Exclude<CompiledColumn, { kind: 'numeric' }>,
  input: { codes: ArrayLike<number>; dictionary: readonly string[] },
  rows: TableRows,
  problem: Problem,
  onUnseen: FeatureRowsOptions['onUnseen'],
): ColumnEncoder {
  const encodings: CodeEncoding[] = [encodeValue(column, column.impute)];
  for (const text of input.dictionary) encodings.push(encodeValue(column, text));
  const codes = input.codes;
  const index = rows.index;
  for (let i = 0; i < index.length; i++) {
    const encoding = encodings[codes[index[i]!]!]!;
    if (encoding.problem !== undefined) problem(i, column.column, encoding.problem);
    else if (encoding.unseen !== undefined) onUnseen?.({ column: column.column, value: encoding.unseen, row: i });
  }
  if (column.kind === 'one-hot') {
    const width = column.width;
    const hot = Int32Array.from(encodings, (encoding) => encoding.values[0] ?? -1);
    return {
      write(row, out, at) {
        for (let k = 0; k < width; k++) out[at + k] = 0;
        const k = hot[codes[row]!]!;
        if (k >= 0) out[at + k] = 1;
      },
    };
  }
  const width = column.kind === 'date' ? column.parts.length : 1;
  const table = new Float64Array(encodings.length * width);
  encodings.forEach((encoding, code) => encoding.values.forEach((value, k) => (table[code * width + k] = value)));
  if (width === 1) {
    return {
      write(row, out, at) {
        out[at] = table[codes[row]!]!;
      },
    };
  }
  return {
    write(row, out, at) {
      const base = codes[row]! * width;
      for (let k = 0; k < width; k++) out[at + k] = table[base + k]!;
    },
  };
}

/** What `writeRecord` writes for one value of a category column (undefined: missing). */
function encodeValue(column: Exclude<CompiledColumn, { kind: 'numeric' }>, raw: string | undefined): CodeEncoding {
  const value = raw ?? column.impute;
  if (value === undefined) {
    if (column.kind !== 'one-hot' && column.kind !== 'date' && column.keepMissing) return { values: [Number.NaN] };
    return { values: [Number.NaN], problem: 'value is missing and the pipeline has no impute step for it.' };
  }
  switch (column.kind) {
    case 'ordinal': {
      const index = column.index.get(value);
      return index === undefined ? { values: [Number.NaN], unseen: value } : { values: [index] };
    }
    case 'one-hot': {
      const index = column.index.get(value);
      if (index !== undefined) return { values: [index] };
      if (column.unseen === 'error') return { values: [-1], problem: `unknown category ${JSON.stringify(value)}; known: ${previewList(column.categories)}.` };
      return { values: [column.unseen === 'ignore' ? -1 : column.mostFrequentIndex], unseen: value };
    }
    case 'date': {
      const parsed = parseDate(value);
      if (parsed === undefined) return { values: column.parts.map(() => Number.NaN), problem: `${JSON.stringify(value)} is not a date; write ${DATE_FORMATS_TEXT}.` };
      return { values: column.parts.map((part, k) => (datePart(parsed.ms, part) - column.mean[k]!) / column.std[k]!) };
    }
    case 'yes-no': {
      if (column.yes.has(value)) return { values: [1] };
      if (column.no.has(value)) return { values: [0] };
      const flag = normalizeFlag(value);
      if (column.yes.has(flag)) return { values: [1] };
      if (column.no.has(flag)) return { values: [0] };
      return { values: [Number.NaN], problem: `${JSON.stringify(value)} is neither yes (${column.yesList.join(', ')}) nor no (${column.noList.join(', ')}).` };
    }
  }
}

/** Rows `positions` of `x` (indices into it), in that order, as FeatureRows. Nothing is copied. */
export function subsetRows(x: FeatureRows, positions: Uint32Array): FeatureRows {
  return {
    rows: positions.length,
    cols: x.cols,
    fill: (from, to, out) => x.gather(positions, from, to, out),
    gather(inner, from, to, out) {
      const mapped = new Uint32Array(to - from);
      for (let i = from; i < to; i++) mapped[i - from] = positions[inner[i]!]!;
      x.gather(mapped, 0, mapped.length, out);
    },
  };
}
