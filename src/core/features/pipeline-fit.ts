/**
 * Fitting the preprocessing pipeline one column at a time, over columnar training rows: a
 * number column's values, or a category column's codes and dictionary. Records are read the
 * same way, turned into columns first (`recordColumns`), so both go through this one code
 * path and give the same pipeline.
 */
import type { DataColumn, TableRows } from '../datasets/data-table.js';
import type { DataRecord } from '../datasets/dataset-spec.js';
import { normalizeFlag, previewList, readNumber } from './compiled-pipeline.js';
import type { ColumnTransformSpec, FeatureStep, FittedColumn, FittedStep, ImputeStrategy, InputBounds } from './pipeline-spec.js';
import { expectedOutputs } from './pipeline-validation.js';
import { DATE_FORMATS_TEXT, DEFAULT_DATE_PARTS, datePart, parseDate } from './dates.js';

/** At most this many offending rows are listed per column problem. */
const MAX_ROWS_LISTED = 5;

/**
 * One input column over the training rows, as fitting reads it: numbers (NaN for missing) or
 * category codes (0 for missing, k for `dictionary[k − 1]`).
 */
export type FitInput =
  | { readonly kind: 'number'; readonly values: Float64Array; readonly bad: readonly number[]; readonly badCount: number }
  | { readonly kind: 'text'; readonly codes: Uint32Array; readonly dictionary: readonly string[] };

/** Where training rows are, for messages: `label(i)` names row `i` ("records[3]", "adult.data line 5"). */
export interface FitRows {
  readonly count: number;
  /** The column's training values, or undefined when the data has no such column. */
  input(column: string, type: ColumnTransformSpec['type']): FitInput | undefined;
  label(row: number): string;
}

/** Training rows held as a selection of a columnar table. */
export function tableFitRows(rows: TableRows): FitRows {
  const { table, index } = rows;
  return {
    count: index.length,
    input: (name, type) => {
      const column = table.column(name);
      return column === undefined ? undefined : gatherInput(column, index, type === 'numeric');
    },
    label: (row) => `${table.source} line ${table.lineOf(index[row]!)}`,
  };
}

/** Training rows held as records (values typed or not: numeric strings are read as numbers). */
export function recordFitRows(records: readonly DataRecord[]): FitRows {
  return {
    count: records.length,
    input: (name, type) => {
      if (!records.some((record) => record[name] !== undefined)) return undefined;
      return type === 'numeric' ? recordNumbers(records, name) : recordTexts(records, name);
    },
    label: (row) => `records[${row}]`,
  };
}

function recordNumbers(records: readonly DataRecord[], name: string): FitInput {
  const values = new Float64Array(records.length);
  const bad: number[] = [];
  let badCount = 0;
  for (let i = 0; i < records.length; i++) {
    const raw = records[i]![name];
    if (typeof raw === 'number' && Number.isFinite(raw)) values[i] = raw;
    else if (raw === null || raw === undefined || (typeof raw === 'number' && Number.isNaN(raw))) values[i] = Number.NaN;
    else {
      try {
        values[i] = readNumber(raw, name, i);
      } catch {
        if (bad.length < MAX_ROWS_LISTED) bad.push(i);
        badCount++;
        values[i] = 0;
      }
    }
  }
  return { kind: 'number', values, bad, badCount };
}

function categoryOf(raw: string | number | null | undefined): string | undefined {
  if (typeof raw === 'string') return raw;
  return raw === null || raw === undefined || Number.isNaN(raw) ? undefined : String(raw);
}

function recordTexts(records: readonly DataRecord[], name: string): FitInput {
  return dictionaryCoded(records.length, (i) => categoryOf(records[i]![name]));
}

/** `n` values dictionary-coded in order of first appearance; undefined (missing) is code 0. */
function dictionaryCoded(n: number, textOf: (i: number) => string | undefined): FitInput {
  const codes = new Uint32Array(n);
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const value = textOf(i);
    if (value === undefined) continue;
    let code = index.get(value);
    if (code === undefined) {
      code = index.size + 1;
      index.set(value, code);
    }
    codes[i] = code;
  }
  return { kind: 'text', codes, dictionary: [...index.keys()] };
}

/** A table column over the selected rows, converted to the type the pipeline column reads. */
function gatherInput(column: DataColumn, index: Uint32Array, numeric: boolean): FitInput {
  const n = index.length;
  if (column.kind === 'number') {
    const values = new Float64Array(n);
    const source = column.values;
    for (let i = 0; i < n; i++) values[i] = source[index[i]!]!;
    if (numeric) return { kind: 'number', values, bad: [], badCount: 0 };
    // A number column read as categories: each value spelled as a record would hold it.
    return dictionaryCoded(n, (i) => {
      const x = values[i]!;
      return x !== x ? undefined : String(x);
    });
  }
  const codes = new Uint32Array(n);
  const source = column.codes;
  for (let i = 0; i < n; i++) codes[i] = source[index[i]!]!;
  if (!numeric) return { kind: 'text', codes, dictionary: column.dictionary };
  // A text column read as numbers: each distinct text parsed once.
  const parsed = column.dictionary.map((text) => {
    try {
      return readNumber(text, column.name, 0);
    } catch {
      return undefined;
    }
  });
  const values = new Float64Array(n);
  const bad: number[] = [];
  let badCount = 0;
  for (let i = 0; i < n; i++) {
    const code = codes[i]!;
    if (code === 0) values[i] = Number.NaN;
    else {
      const x = parsed[code - 1];
      if (x === undefined) {
        if (bad.length < MAX_ROWS_LISTED) bad.push(i);
        badCount++;
        values[i] = 0;
      } else values[i] = x;
    }
  }
  return { kind: 'number', values, bad, badCount };
}

/** JSON turns -0 into 0; normalise before storing so a round trip cannot change a bit. */
export function withoutNegativeZero(value: number): number {
  return value === 0 ? 0 : value;
}

function rowList(rows: FitRows, listed: readonly number[], total: number): string {
  const text = listed.map((row) => rows.label(row)).join(', ');
  return total > listed.length ? `${text}, … (${total} rows)` : text;
}

type ImputeSpec = Extract<FeatureStep, { kind: 'impute' }>;

/** Fits one column's steps on the training rows; problems are appended to `problems`. */
export function fitColumn(spec: ColumnTransformSpec, rows: FitRows, problems: string[], bounds: InputBounds | undefined): FittedColumn {
  const name = spec.column;
  const input = rows.input(name, spec.type);
  if (input === undefined) {
    problems.push(`column "${name}" is not in the training data.`);
    return { column: name, type: spec.type, steps: [], outputs: [] };
  }
  const [first, ...rest] = spec.steps;
  const impute = first?.kind === 'impute' ? first : undefined;
  const later = impute === undefined ? spec.steps : rest;
  if (input.kind === 'number') return fitNumericColumn(spec, impute, later, input, rows, problems, bounds);
  if (spec.type === 'date') return fitDateColumn(spec, impute, later, input, rows, problems);
  return fitStringColumn(spec, impute, later, input, rows, problems);
}

/**
 * A date column: parsed to an instant, imputed (median, mean, most frequent or a constant
 * date), split into its parts, and each part standardized on the training rows.
 */
function fitDateColumn(
  spec: ColumnTransformSpec,
  impute: ImputeSpec | undefined,
  later: readonly FeatureStep[],
  input: Extract<FitInput, { kind: 'text' }>,
  rows: FitRows,
  problems: string[],
): FittedColumn {
  const name = spec.column;
  const step = later.find((s): s is Extract<FeatureStep, { kind: 'date' }> => s.kind === 'date');
  const parts = step?.parts ?? DEFAULT_DATE_PARTS;
  // Each distinct text is parsed once.
  const parsedCodes = input.dictionary.map((text) => parseDate(text)?.ms);
  const { codes } = input;
  const instants = new Float64Array(rows.count);
  const present: number[] = [];
  const missingRows: number[] = [];
  let missing = 0;
  const badRows: number[] = [];
  let bad = 0;
  let firstBad = '';
  for (let i = 0; i < rows.count; i++) {
    const code = codes[i]!;
    if (code === 0) {
      if (missingRows.length < MAX_ROWS_LISTED) missingRows.push(i);
      missing++;
      instants[i] = Number.NaN;
      continue;
    }
    const ms = parsedCodes[code - 1];
    if (ms === undefined) {
      if (badRows.length < MAX_ROWS_LISTED) badRows.push(i);
      if (bad === 0) firstBad = input.dictionary[code - 1]!;
      bad++;
      instants[i] = Number.NaN;
      continue;
    }
    instants[i] = ms;
    present.push(ms);
  }
  if (bad > 0) problems.push(`column "${name}" is a date but holds ${JSON.stringify(firstBad)} and other values that are not dates (${rowList(rows, badRows, bad)}); write dates as ${DATE_FORMATS_TEXT}.`);
  const steps: FittedStep[] = [];
  if (impute !== undefined) {
    if (present.length === 0 && impute.strategy !== 'constant') {
      problems.push(`column "${name}" has no dates to compute the ${impute.strategy} from.`);
      return { column: name, type: spec.type, steps, outputs: expectedOutputs(name, 'date', undefined, undefined, parts) };
    }
    const fillMs =
      impute.strategy === 'constant' ? (parseDate(String(impute.value))?.ms ?? Number.NaN) : Math.round(numericImputeValue(impute.strategy, Float64Array.from(present), impute.value));
    for (let i = 0; i < instants.length; i++) if (Number.isNaN(instants[i]!)) instants[i] = fillMs;
    steps.push({ kind: 'impute', strategy: impute.strategy, value: new Date(fillMs).toISOString(), imputedInFit: missing });
  } else if (missing > 0) {
    problems.push(`column "${name}" has ${missing} missing values (${rowList(rows, missingRows, missing)}) and no impute step.`);
  }
  const standardize = step?.standardize !== false;
  const mean: number[] = [];
  const std: number[] = [];
  for (const part of parts) {
    let sum = 0;
    let count = 0;
    for (const ms of instants) {
      if (Number.isNaN(ms)) continue;
      sum += datePart(ms, part);
      count++;
    }
    const m = standardize && count > 0 ? sum / count : 0;
    let squares = 0;
    if (standardize) for (const ms of instants) if (!Number.isNaN(ms)) squares += (datePart(ms, part) - m) ** 2;
    const deviation = Math.sqrt(squares / Math.max(count, 1));
    mean.push(withoutNegativeZero(m));
    std.push(standardize && deviation > 0 && Number.isFinite(deviation) ? deviation : 1);
  }
  steps.push({ kind: 'date', parts: [...parts], mean, std });
  return { column: name, type: spec.type, steps, outputs: expectedOutputs(name, 'date', undefined, undefined, parts) };
}

function fitNumericColumn(
  spec: ColumnTransformSpec,
  impute: ImputeSpec | undefined,
  later: readonly FeatureStep[],
  input: Extract<FitInput, { kind: 'number' }>,
  rows: FitRows,
  problems: string[],
  bounds: InputBounds | undefined,
): FittedColumn {
  const name = spec.column;
  // The column's own copy: imputation and transforms work on it in place.
  const values = input.values;
  // Non-missing values, gathered in the same pass for the impute statistic (sorted in place for the median).
  const present = new Float64Array(values.length);
  let presentCount = 0;
  const missingRows: number[] = [];
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (Number.isNaN(x)) {
      if (missingRows.length < MAX_ROWS_LISTED) missingRows.push(i);
      missing++;
    } else {
      present[presentCount++] = x;
    }
  }
  if (input.badCount > 0) problems.push(`column "${name}" is numeric but holds non-numeric values in ${rowList(rows, input.bad, input.badCount)}.`);
  // Before the impute statistic sorts `present` in place.
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < presentCount; i++) {
    const x = present[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const limits = {
    ...(presentCount > 0 ? { range: { min: withoutNegativeZero(min), max: withoutNegativeZero(max) } } : {}),
    ...(bounds === undefined ? {} : { bounds: { ...(bounds.min === undefined ? {} : { min: bounds.min }), ...(bounds.max === undefined ? {} : { max: bounds.max }) } }),
  };

  const steps: FittedStep[] = [];
  if (impute !== undefined) {
    if (presentCount === 0 && impute.strategy !== 'constant') {
      problems.push(`column "${name}" has no values to compute the ${impute.strategy} from.`);
      return { column: name, type: spec.type, steps, outputs: [name], ...limits };
    }
    const fill = withoutNegativeZero(numericImputeValue(impute.strategy, present.subarray(0, presentCount), impute.value));
    for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i]!)) values[i] = fill;
    steps.push({ kind: 'impute', strategy: impute.strategy, value: fill, imputedInFit: missing });
  } else if (missing > 0 && spec.missing !== 'keep') {
    problems.push(`column "${name}" has ${missing} missing values (${rowList(rows, missingRows, missing)}) and no impute step.`);
  }

  for (const step of later) {
    if (step.kind === 'log1p') {
      const negativeRows: number[] = [];
      let negative = 0;
      for (let i = 0; i < values.length; i++) {
        const x = values[i]!;
        if (x < 0) {
          if (negativeRows.length < MAX_ROWS_LISTED) negativeRows.push(i);
          negative++;
        } else {
          values[i] = Math.log1p(x);
        }
      }
      if (negative > 0) problems.push(`column "${name}" has negative values (${rowList(rows, negativeRows, negative)}); log1p needs values ≥ 0.`);
      steps.push({ kind: 'log1p' });
    } else if (step.kind === 'standardize') {
      // Over the values present (NaN only remains where the column keeps missing values).
      let sum = 0;
      let count = 0;
      for (let i = 0; i < values.length; i++) {
        if (Number.isNaN(values[i]!)) continue;
        sum += values[i]!;
        count++;
      }
      const mean = count === 0 ? 0 : sum / count;
      let squares = 0;
      for (let i = 0; i < values.length; i++) if (!Number.isNaN(values[i]!)) squares += (values[i]! - mean) * (values[i]! - mean);
      // Population standard deviation, as scikit-learn's StandardScaler; a constant column keeps scale 1.
      const deviation = Math.sqrt(squares / Math.max(count, 1));
      const std = deviation > 0 && Number.isFinite(deviation) ? deviation : 1;
      for (let i = 0; i < values.length; i++) values[i] = (values[i]! - mean) / std;
      steps.push({ kind: 'standardize', mean: withoutNegativeZero(mean), std });
    }
  }
  return { column: name, type: spec.type, steps, outputs: [name], ...keeps(spec), ...limits };
}

function keeps(spec: ColumnTransformSpec): { missing?: 'keep' } {
  return spec.missing === 'keep' ? { missing: 'keep' } : {};
}

/** The fill value from the non-missing training values; sorts `present` in place for the median. */
function numericImputeValue(strategy: ImputeStrategy, present: Float64Array, constant: string | number | undefined): number {
  switch (strategy) {
    case 'constant':
      return Number(constant);
    case 'mean': {
      let sum = 0;
      for (let i = 0; i < present.length; i++) sum += present[i]!;
      return sum / present.length;
    }
    case 'median': {
      const sorted = present.sort();
      const mid = sorted.length >> 1;
      return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    }
    case 'most-frequent': {
      const counts = new Map<number, number>();
      for (const x of present) counts.set(x, (counts.get(x) ?? 0) + 1);
      return mostFrequentOf(counts, (a, b) => a - b);
    }
  }
}

/** The key with the highest count; ties go to the smallest key, so the result is deterministic. */
function mostFrequentOf<K>(counts: ReadonlyMap<K, number>, compare: (a: K, b: K) => number): K {
  let best: K | undefined;
  let bestCount = -1;
  for (const [key, count] of counts) {
    if (count > bestCount || (count === bestCount && compare(key, best as K) < 0)) {
      best = key;
      bestCount = count;
    }
  }
  return best as K;
}

/** Code-unit order: the same on every machine and locale, unlike localeCompare. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function fitStringColumn(
  spec: ColumnTransformSpec,
  impute: ImputeSpec | undefined,
  later: readonly FeatureStep[],
  input: Extract<FitInput, { kind: 'text' }>,
  rows: FitRows,
  problems: string[],
): FittedColumn {
  const name = spec.column;
  const { codes, dictionary } = input;
  const perCode = new Float64Array(dictionary.length + 1);
  const missingRows: number[] = [];
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code === 0 && missingRows.length < MAX_ROWS_LISTED) missingRows.push(i);
    perCode[code]! += 1;
  }
  const missing = perCode[0]!;
  const counts = new Map<string, number>();
  for (let code = 1; code < perCode.length; code++) {
    if (perCode[code]! > 0) counts.set(dictionary[code - 1]!, perCode[code]!);
  }

  const steps: FittedStep[] = [];
  if (impute !== undefined) {
    if (counts.size === 0 && impute.strategy !== 'constant') {
      problems.push(`column "${name}" has no values to find the most frequent one.`);
      return { column: name, type: spec.type, steps, outputs: [] };
    }
    const fill = impute.strategy === 'constant' ? String(impute.value) : mostFrequentOf(counts, compareStrings);
    // The fill value is always a known category, even when no training value was missing,
    // so a missing value at prediction time encodes as fitted instead of as unseen.
    counts.set(fill, (counts.get(fill) ?? 0) + missing);
    steps.push({ kind: 'impute', strategy: impute.strategy, value: fill, imputedInFit: missing });
  } else if (missing > 0 && spec.missing !== 'keep') {
    problems.push(`column "${name}" has ${missing} missing values (${rowList(rows, missingRows, missing)}) and no impute step.`);
  }

  for (const step of later) {
    if (step.kind === 'ordinal') {
      steps.push({ kind: 'ordinal', categories: [...counts.keys()].sort(compareStrings) });
      return { column: name, type: spec.type, steps, outputs: [name], ...keeps(spec) };
    }
    if (step.kind === 'one-hot') {
      const categories = [...counts.keys()].sort(compareStrings);
      const mostFrequent = mostFrequentOf(counts, compareStrings);
      steps.push({ kind: 'one-hot', unseen: step.unseen, categories, mostFrequent, ...(step.drop === undefined ? {} : { drop: step.drop }) });
      return { column: name, type: spec.type, steps, outputs: expectedOutputs(name, spec.type, categories, step.drop) };
    }
    if (step.kind === 'yes-no') {
      const yes = (step.yes ?? ['yes']).map(normalizeFlag);
      const no = (step.no ?? ['no']).map(normalizeFlag);
      const known = new Set([...yes, ...no]);
      const strangers = [...counts.keys()].filter((value) => !known.has(normalizeFlag(value)));
      if (strangers.length > 0) {
        const strangerCode = dictionary.indexOf(strangers[0]!) + 1;
        const firstRow = strangerCode === 0 ? -1 : codes.indexOf(strangerCode);
        problems.push(
          `column "${name}" holds ${previewList(strangers, MAX_ROWS_LISTED)}, neither yes (${yes.join(', ')}) nor no (${no.join(', ')})` +
            (firstRow >= 0 ? ` (first in ${rows.label(firstRow)}).` : ' (the impute value).'),
        );
      }
      steps.push({ kind: 'yes-no', yes, no });
    }
  }
  return { column: name, type: spec.type, steps, outputs: [name], ...keeps(spec) };
}
