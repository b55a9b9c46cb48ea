/**
 * A FittedPipeline turned into lookup tables (category → index maps, yes/no sets, numeric
 * ops) once, cached per pipeline object in a WeakMap so the JSON itself stays untouched.
 * Fitting and replaying both go through `writeRecord`, so the arithmetic is one code path.
 */
import type { DataRecord } from '../datasets/dataset-spec.js';
import { UsageError } from '../errors.js';
import type { FittedPipeline, InputBounds, TrainingRange, UnseenCategoryPolicy } from './pipeline-spec.js';
import { DATE_FORMATS_TEXT, datePart, parseDate, type DatePart } from './dates.js';

/** One unseen category met while transforming; `row` is the record's 0-based index. */
export interface UnseenCategory {
  column: string;
  value: string;
  row: number;
}

export type NumericOp = { readonly op: 'log1p' } | { readonly op: 'standardize'; readonly mean: number; readonly std: number };

export type CompiledColumn =
  | {
      readonly kind: 'numeric';
      readonly column: string;
      readonly offset: number;
      readonly impute: number | undefined;
      readonly keepMissing: boolean;
      readonly ops: readonly NumericOp[];
      /** The training rows' range (absent in pipelines fitted before it was recorded). */
      readonly range: TrainingRange | undefined;
      /** The task's hard bounds. */
      readonly bounds: InputBounds | undefined;
    }
  | {
      readonly kind: 'ordinal';
      readonly column: string;
      readonly offset: number;
      readonly impute: string | undefined;
      readonly keepMissing: boolean;
      readonly index: ReadonlyMap<string, number>;
      readonly categories: readonly string[];
    }
  | {
      readonly kind: 'one-hot';
      readonly column: string;
      readonly offset: number;
      readonly impute: string | undefined;
      readonly index: ReadonlyMap<string, number>;
      readonly width: number;
      readonly unseen: UnseenCategoryPolicy;
      readonly mostFrequentIndex: number;
      readonly categories: readonly string[];
      readonly keepMissing: false;
    }
  | {
      readonly kind: 'yes-no';
      readonly column: string;
      readonly offset: number;
      readonly impute: string | undefined;
      readonly yes: ReadonlySet<string>;
      readonly no: ReadonlySet<string>;
      readonly yesList: readonly string[];
      readonly noList: readonly string[];
      readonly keepMissing: boolean;
    }
  | {
      readonly kind: 'date';
      readonly column: string;
      readonly offset: number;
      /** The imputed date as text (parsed like any input). */
      readonly impute: string | undefined;
      readonly parts: readonly DatePart[];
      readonly mean: readonly number[];
      readonly std: readonly number[];
      readonly keepMissing: false;
    };

export interface CompiledPipeline {
  readonly columns: readonly CompiledColumn[];
  readonly width: number;
}

const cache = new WeakMap<FittedPipeline, CompiledPipeline>();

/** The lookup tables for `pipeline`, built on first use. Assumes a valid pipeline (parsePipeline checks). */
export function compiledPipeline(pipeline: FittedPipeline): CompiledPipeline {
  let compiled = cache.get(pipeline);
  if (compiled === undefined) {
    compiled = compile(pipeline);
    cache.set(pipeline, compiled);
  }
  return compiled;
}

function compile(pipeline: FittedPipeline): CompiledPipeline {
  let offset = 0;
  const columns = pipeline.columns.map((fitted): CompiledColumn => {
    const start = offset;
    const keepMissing = fitted.missing === 'keep';
    offset += fitted.outputs.length;
    let impute: string | number | undefined;
    const ops: NumericOp[] = [];
    let compiled: CompiledColumn | undefined;
    for (const step of fitted.steps) {
      switch (step.kind) {
        case 'impute':
          impute = step.value;
          break;
        case 'log1p':
          ops.push({ op: 'log1p' });
          break;
        case 'standardize':
          ops.push({ op: 'standardize', mean: step.mean, std: step.std });
          break;
        case 'one-hot': {
          // With drop 'first' the first category keeps no indicator: it maps to -1 (all zeros).
          const shift = step.drop === 'first' ? 1 : 0;
          compiled = {
            kind: 'one-hot',
            column: fitted.column,
            offset: start,
            impute: impute === undefined ? undefined : String(impute),
            index: new Map(step.categories.map((category, i) => [category, i - shift])),
            width: step.categories.length - shift,
            unseen: step.unseen,
            mostFrequentIndex: step.categories.indexOf(step.mostFrequent) - shift,
            categories: step.categories,
            keepMissing: false,
          };
          break;
        }
        case 'ordinal':
          compiled = {
            kind: 'ordinal',
            column: fitted.column,
            offset: start,
            impute: impute === undefined ? undefined : String(impute),
            keepMissing,
            index: new Map(step.categories.map((category, i) => [category, i])),
            categories: step.categories,
          };
          break;
        case 'date':
          compiled = {
            kind: 'date',
            column: fitted.column,
            offset: start,
            impute: impute === undefined ? undefined : String(impute),
            parts: step.parts,
            mean: step.mean,
            std: step.std,
            keepMissing: false,
          };
          break;
        case 'yes-no':
          compiled = {
            kind: 'yes-no',
            column: fitted.column,
            offset: start,
            impute: impute === undefined ? undefined : String(impute),
            yes: new Set(step.yes.map(normalizeFlag)),
            no: new Set(step.no.map(normalizeFlag)),
            yesList: step.yes,
            noList: step.no,
            keepMissing,
          };
          break;
      }
    }
    return (
      compiled ?? {
        kind: 'numeric',
        column: fitted.column,
        offset: start,
        impute: impute === undefined ? undefined : Number(impute),
        keepMissing,
        ops,
        range: fitted.range,
        bounds: fitted.bounds,
      }
    );
  });
  return { columns, width: offset };
}

export function normalizeFlag(value: string): string {
  return value.trim().toLowerCase();
}

/** Applies a numeric column's ops in order; throws on log1p of a negative value. */
export function applyNumericOps(ops: readonly NumericOp[], value: number, column: string, row: number): number {
  let x = value;
  for (const op of ops) {
    if (op.op === 'log1p') {
      if (x < 0) {
        throw new UsageError('VALUE_NEGATIVE_FOR_LOG1P', `records[${row}].${column}: ${x} is negative; log1p needs values ≥ 0.`, {
          hint: `Send a non-negative ${column}, or drop the log1p step for this column.`,
        });
      }
      x = Math.log1p(x);
    } else {
      x = (x - op.mean) / op.std;
    }
  }
  return x;
}

/** A raw numeric field as a number, NaN when missing; numeric strings are accepted. */
export function readNumber(value: unknown, column: string, row: number): number {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return Number.NaN;
    if (!Number.isFinite(value)) throw notNumeric(value, column, row);
    return value;
  }
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  throw notNumeric(value, column, row);
}

function notNumeric(value: unknown, column: string, row: number): UsageError {
  return new UsageError('VALUE_NOT_NUMERIC', `records[${row}].${column}: expected a finite number, got ${JSON.stringify(value) ?? String(value)}.`, {
    hint: `Send ${column} as a number, e.g. 39 or "39".`,
  });
}

function missingValue(column: string, row: number): UsageError {
  return new UsageError('VALUE_MISSING', `records[${row}].${column}: value is missing and the pipeline has no impute step for it.`, {
    hint: `Provide ${column} in every record, or add an impute step for it to the task's features.`,
  });
}

/** A raw categorical field as a string, undefined when missing. */
function readCategory(value: unknown, column: string, row: number): string | undefined {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new UsageError('VALUE_NOT_STRING', `records[${row}].${column}: expected a string, got ${JSON.stringify(value) ?? String(value)}.`, {
    hint: `Send ${column} as a string.`,
  });
}

/**
 * Writes one record's features into `out` at `offset`. Allocates nothing on the common
 * path; throws UsageError naming `records[row].column` for a value it cannot encode.
 */
export function writeRecord(
  compiled: CompiledPipeline,
  record: DataRecord,
  out: Float32Array,
  offset: number,
  row: number,
  onUnseen: ((event: UnseenCategory) => void) | undefined,
): void {
  const columns = compiled.columns;
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c]!;
    const raw = record[column.column];
    const at = offset + column.offset;
    if (column.kind === 'numeric') {
      let x = readNumber(raw, column.column, row);
      if (Number.isNaN(x)) {
        if (column.impute !== undefined) x = column.impute;
        else if (column.keepMissing) {
          out[at] = Number.NaN;
          continue;
        } else throw missingValue(column.column, row);
      }
      out[at] = column.ops.length === 0 ? x : applyNumericOps(column.ops, x, column.column, row);
    } else if (column.kind === 'ordinal') {
      const value = readCategory(raw, column.column, row) ?? column.impute;
      if (value === undefined) {
        if (!column.keepMissing) throw missingValue(column.column, row);
        out[at] = Number.NaN;
        continue;
      }
      const index = column.index.get(value);
      if (index === undefined) onUnseen?.({ column: column.column, value, row });
      out[at] = index ?? Number.NaN;
    } else if (column.kind === 'date') {
      const value = readCategory(raw, column.column, row) ?? column.impute;
      if (value === undefined) throw missingValue(column.column, row);
      const parsed = parseDate(value);
      if (parsed === undefined) throw notADate(value, column.column, row);
      for (let k = 0; k < column.parts.length; k++) out[at + k] = (datePart(parsed.ms, column.parts[k]!) - column.mean[k]!) / column.std[k]!;
    } else if (column.kind === 'one-hot') {
      const value = readCategory(raw, column.column, row) ?? column.impute;
      if (value === undefined) throw missingValue(column.column, row);
      for (let k = 0; k < column.width; k++) out[at + k] = 0;
      let index = column.index.get(value);
      if (index === undefined) {
        if (column.unseen === 'error') {
          throw new UsageError('UNSEEN_CATEGORY', `records[${row}].${column.column}: unknown category ${JSON.stringify(value)}.`, {
            hint: `Known categories: ${previewList(column.categories)}. The pipeline refuses unseen ${column.column} values (policy "error").`,
          });
        }
        onUnseen?.({ column: column.column, value, row });
        if (column.unseen === 'ignore') continue;
        index = column.mostFrequentIndex;
      }
      if (index >= 0) out[at + index] = 1;
    } else {
      const value = readCategory(raw, column.column, row) ?? column.impute;
      if (value === undefined) {
        if (!column.keepMissing) throw missingValue(column.column, row);
        out[at] = Number.NaN;
        continue;
      }
      // Exact spellings first: normalising allocates, and most inputs are already lower case.
      if (column.yes.has(value)) out[at] = 1;
      else if (column.no.has(value)) out[at] = 0;
      else {
        const flag = normalizeFlag(value);
        if (column.yes.has(flag)) out[at] = 1;
        else if (column.no.has(flag)) out[at] = 0;
        else throw notYesNo(value, column.column, row, column.yesList, column.noList);
      }
    }
  }
}

export function notADate(value: string, column: string, row: number): UsageError {
  return new UsageError('VALUE_NOT_A_DATE', `records[${row}].${column}: ${JSON.stringify(value)} is not a date.`, {
    hint: `Send ${column} as ${DATE_FORMATS_TEXT}.`,
  });
}

export function notYesNo(value: string, column: string, row: number, yes: readonly string[], no: readonly string[]): UsageError {
  return new UsageError('VALUE_NOT_YES_NO', `records[${row}].${column}: ${JSON.stringify(value)} is neither yes (${yes.join(', ')}) nor no (${no.join(', ')}).`, {
    hint: `Send ${column} as one of ${[...yes, ...no].map((v) => JSON.stringify(v)).join(', ')} (case-insensitive).`,
  });
}

export function previewList(values: readonly string[], max = 12): string {
  const shown = values.slice(0, max).map((v) => JSON.stringify(v)).join(', ');
  return values.length > max ? `${shown}, … (${values.length} in all)` : shown;
}
