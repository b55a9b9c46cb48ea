/**
 * Fitting and replaying the preprocessing pipeline. `fitPipeline` learns imputation values,
 * categories and z-score parameters from training rows only and returns plain JSON
 * (kind 'mlctl.pipeline', version 1); `transformRecords` / `transformRecordInto` replay it.
 * A pipeline that went through JSON.stringify/parse produces byte-identical Float32 output.
 */
import type { DataRecord } from '../datasets/dataset-spec.js';
import { isMlctlError, UsageError } from '../errors.js';
import { compiledPipeline, normalizeFlag, previewList, readNumber, writeRecord } from './compiled-pipeline.js';
import type { UnseenCategory } from './compiled-pipeline.js';
import type {
  ColumnTransformSpec,
  FeatureInfo,
  FeatureStep,
  FittedColumn,
  FittedPipeline,
  FittedStep,
  ImputeStrategy,
  InputBounds,
  PipelineColumnSummary,
  PipelineSpec,
  PipelineSummary,
} from './pipeline-spec.js';
import { checkFittedPipeline, checkPipelineSpec, expectedOutputs } from './pipeline-validation.js';
import { DATE_FORMATS_TEXT, DEFAULT_DATE_PARTS, datePart, parseDate } from './dates.js';

export type { UnseenCategory } from './compiled-pipeline.js';
export type { PipelineSummary } from './pipeline-spec.js';

/** A dense feature matrix, row-major: feature `j` of row `i` is `data[i * cols + j]`. */
export interface FeatureMatrix {
  data: Float32Array;
  rows: number;
  cols: number;
}

/** At most this many offending rows are listed per column problem. */
const MAX_ROWS_LISTED = 5;
/** At most this many problems are listed in one error. */
const MAX_PROBLEMS = 50;

export interface FitPipelineOptions {
  /** The task's hard bounds per numeric input column, kept in the fitted pipeline. */
  readonly bounds?: Readonly<Record<string, InputBounds>>;
}

/**
 * Fits `spec` on `records` (the training rows only). Throws UsageError
 * 'PIPELINE_SPEC_INVALID' for a malformed spec and 'PIPELINE_FIT_FAILED' when the data
 * cannot be fitted (missing values without an impute step, non-numeric values, negative
 * values under log1p, values that are neither yes nor no), listing every problem. Each
 * numeric column keeps the range of its training values, and the task's bounds for it.
 */
export function fitPipeline(spec: PipelineSpec, records: readonly DataRecord[], options: FitPipelineOptions = {}): FittedPipeline {
  const specProblems = [...checkPipelineSpec(spec), ...checkBounds(spec, options.bounds)];
  if (specProblems.length > 0) {
    throw new UsageError('PIPELINE_SPEC_INVALID', `The feature pipeline spec is invalid: ${specProblems[0]}${moreThan(specProblems)}`, {
      problems: specProblems,
      hint: 'Fix the "features" section of the task definition.',
    });
  }
  if (records.length === 0) {
    throw new UsageError('PIPELINE_NO_ROWS', 'Cannot fit the feature pipeline on zero training rows.', {
      hint: 'Check the dataset and the split fractions.',
    });
  }
  const problems: string[] = [];
  const columns = spec.columns.map((column) => fitColumn(column, records, problems, options.bounds?.[column.column]));
  if (problems.length > 0) {
    throw new UsageError('PIPELINE_FIT_FAILED', `Cannot fit the feature pipeline: ${problems[0]}${moreThan(problems)}`, {
      problems,
      hint: 'Clean the data, or add impute steps for columns with missing values.',
    });
  }
  return {
    kind: 'mlctl.pipeline',
    version: 1,
    columns,
    featureNames: columns.flatMap((column) => column.outputs),
    fittedRows: records.length,
  };
}

/** Bounds name numeric feature columns and hold finite numbers, min ≤ max. */
function checkBounds(spec: PipelineSpec, bounds: Readonly<Record<string, InputBounds>> | undefined): string[] {
  if (bounds === undefined) return [];
  const problems: string[] = [];
  const types = new Map((Array.isArray(spec.columns) ? spec.columns : []).map((column) => [column.column, column.type]));
  for (const [name, bound] of Object.entries(bounds)) {
    const type = types.get(name);
    if (type === undefined) problems.push(`bounds.${name}: "${name}" is not a feature column.`);
    else if (type !== 'numeric') problems.push(`bounds.${name}: "${name}" is ${type}; bounds apply to numeric columns.`);
    const { min, max } = bound ?? {};
    if (min !== undefined && (typeof min !== 'number' || !Number.isFinite(min))) problems.push(`bounds.${name}.min: expected a finite number.`);
    if (max !== undefined && (typeof max !== 'number' || !Number.isFinite(max))) problems.push(`bounds.${name}.max: expected a finite number.`);
    if (typeof min === 'number' && typeof max === 'number' && min > max) problems.push(`bounds.${name}: min ${min} is above max ${max}.`);
  }
  return problems;
}

function moreThan(problems: readonly string[]): string {
  return problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : '';
}

/** JSON turns -0 into 0; normalise before storing so a round trip cannot change a bit. */
function withoutNegativeZero(value: number): number {
  return value === 0 ? 0 : value;
}

function rowList(rows: readonly number[], total: number): string {
  const listed = rows.map((row) => `records[${row}]`).join(', ');
  return total > rows.length ? `${listed}, … (${total} rows)` : listed;
}

function fitColumn(spec: ColumnTransformSpec, records: readonly DataRecord[], problems: string[], bounds: InputBounds | undefined): FittedColumn {
  const name = spec.column;
  const present = records.some((record) => record[name] !== undefined);
  if (!present) {
    problems.push(`column "${name}" is not in the training data.`);
    return { column: name, type: spec.type, steps: [], outputs: [] };
  }
  const [first, ...rest] = spec.steps;
  const impute = first?.kind === 'impute' ? first : undefined;
  const later = impute === undefined ? spec.steps : rest;
  if (spec.type === 'date') return fitDateColumn(spec, impute, later, records, problems);
  return spec.type === 'numeric'
    ? fitNumericColumn(spec, impute, later, records, problems, bounds)
    : fitStringColumn(spec, impute, later, records, problems);
}

/**
 * A date column: parsed to an instant, imputed (median, mean, most frequent or a constant
 * date), split into its parts, and each part standardized on the training rows.
 */
function fitDateColumn(
  spec: ColumnTransformSpec,
  impute: ImputeSpec | undefined,
  later: readonly FeatureStep[],
  records: readonly DataRecord[],
  problems: string[],
): FittedColumn {
  const name = spec.column;
  const step = later.find((s): s is Extract<FeatureStep, { kind: 'date' }> => s.kind === 'date');
  const parts = step?.parts ?? DEFAULT_DATE_PARTS;
  const instants = new Float64Array(records.length);
  const present: number[] = [];
  const missingRows: number[] = [];
  let missing = 0;
  const badRows: number[] = [];
  let bad = 0;
  let firstBad = '';
  for (let i = 0; i < records.length; i++) {
    const raw = records[i]![name];
    if (raw === null || raw === undefined) {
      if (missingRows.length < MAX_ROWS_LISTED) missingRows.push(i);
      missing++;
      instants[i] = Number.NaN;
      continue;
    }
    const parsed = parseDate(String(raw));
    if (parsed === undefined) {
      if (badRows.length < MAX_ROWS_LISTED) badRows.push(i);
      if (bad === 0) firstBad = String(raw);
      bad++;
      instants[i] = Number.NaN;
      continue;
    }
    instants[i] = parsed.ms;
    present.push(parsed.ms);
  }
  if (bad > 0) problems.push(`column "${name}" is a date but holds ${JSON.stringify(firstBad)} and other values that are not dates (${rowList(badRows, bad)}); write dates as ${DATE_FORMATS_TEXT}.`);
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
    problems.push(`column "${name}" has ${missing} missing values (${rowList(missingRows, missing)}) and no impute step.`);
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

type ImputeSpec = Extract<FeatureStep, { kind: 'impute' }>;

function fitNumericColumn(
  spec: ColumnTransformSpec,
  impute: ImputeSpec | undefined,
  later: readonly FeatureStep[],
  records: readonly DataRecord[],
  problems: string[],
  bounds: InputBounds | undefined,
): FittedColumn {
  const name = spec.column;
  const values = new Float64Array(records.length);
  // Non-missing values, gathered in the same pass for the impute statistic (sorted in place for the median).
  const present = new Float64Array(records.length);
  let presentCount = 0;
  const missingRows: number[] = [];
  let missing = 0;
  const badRows: number[] = [];
  let bad = 0;
  for (let i = 0; i < records.length; i++) {
    const raw = records[i]![name];
    let x: number;
    if (typeof raw === 'number' && Number.isFinite(raw)) {
      x = raw;
    } else if (raw === null || raw === undefined || (typeof raw === 'number' && Number.isNaN(raw))) {
      x = Number.NaN;
    } else {
      try {
        x = readNumber(raw, name, i);
      } catch {
        if (badRows.length < MAX_ROWS_LISTED) badRows.push(i);
        bad++;
        x = 0;
      }
    }
    if (Number.isNaN(x)) {
      if (missingRows.length < MAX_ROWS_LISTED) missingRows.push(i);
      missing++;
    } else {
      present[presentCount++] = x;
    }
    values[i] = x;
  }
  if (bad > 0) problems.push(`column "${name}" is numeric but holds non-numeric values in ${rowList(badRows, bad)}.`);
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
    problems.push(`column "${name}" has ${missing} missing values (${rowList(missingRows, missing)}) and no impute step.`);
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
      if (negative > 0) problems.push(`column "${name}" has negative values (${rowList(negativeRows, negative)}); log1p needs values ≥ 0.`);
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

function categoryOf(raw: string | number | null | undefined): string | undefined {
  if (typeof raw === 'string') return raw;
  return raw === null || raw === undefined || Number.isNaN(raw) ? undefined : String(raw);
}

function fitStringColumn(
  spec: ColumnTransformSpec,
  impute: ImputeSpec | undefined,
  later: readonly FeatureStep[],
  records: readonly DataRecord[],
  problems: string[],
): FittedColumn {
  const name = spec.column;
  const counts = new Map<string, number>();
  const missingRows: number[] = [];
  let missing = 0;
  for (let i = 0; i < records.length; i++) {
    const value = categoryOf(records[i]![name]);
    if (value === undefined) {
      if (missingRows.length < MAX_ROWS_LISTED) missingRows.push(i);
      missing++;
    } else {
      counts.set(value, (counts.get(value) ?? 0) + 1);
    }
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
    problems.push(`column "${name}" has ${missing} missing values (${rowList(missingRows, missing)}) and no impute step.`);
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
        const firstRow = records.findIndex((record) => categoryOf(record[name]) === strangers[0]);
        problems.push(
          `column "${name}" holds ${previewList(strangers, MAX_ROWS_LISTED)}, neither yes (${yes.join(', ')}) nor no (${no.join(', ')})` +
            (firstRow >= 0 ? ` (first in records[${firstRow}]).` : ' (the impute value).'),
        );
      }
      steps.push({ kind: 'yes-no', yes, no });
    }
  }
  return { column: name, type: spec.type, steps, outputs: [name], ...keeps(spec) };
}

/**
 * Replays the fitted pipeline over `records`. Missing values are imputed as fitted; an
 * unseen category follows the column's policy ('ignore' → all zeros, 'most-frequent',
 * 'error' → UsageError naming row and column) and is reported through `onUnseen`.
 * Every bad record is collected before throwing UsageError 'RECORDS_INVALID'.
 */
export function transformRecords(
  pipeline: FittedPipeline,
  records: readonly DataRecord[],
  options: { onUnseen?: (event: UnseenCategory) => void } = {},
): FeatureMatrix {
  const compiled = compiledPipeline(pipeline);
  const cols = compiled.width;
  const data = new Float32Array(records.length * cols);
  const problems: string[] = [];
  let failed = 0;
  for (let i = 0; i < records.length; i++) {
    try {
      writeRecord(compiled, records[i]!, data, i * cols, i, options.onUnseen);
    } catch (error) {
      if (!isMlctlError(error)) throw error;
      failed++;
      if (problems.length < MAX_PROBLEMS) problems.push(error.message);
    }
  }
  if (failed > 0) {
    const more = failed > 1 ? ` (${failed} records failed${failed > problems.length ? `; the first ${problems.length} are listed` : ''})` : '';
    throw new UsageError('RECORDS_INVALID', `Cannot transform the records: ${problems[0]}${more}`, {
      problems,
      hint: 'Fix the listed fields; each names the record (0-based) and column.',
    });
  }
  return { data, rows: records.length, cols };
}

/**
 * Hot path for serving: transforms one record into `out` at `offset` with no allocation.
 * `row` only labels errors and unseen-category events (default 0).
 */
export function transformRecordInto(
  pipeline: FittedPipeline,
  record: DataRecord,
  out: Float32Array,
  offset: number,
  onUnseen?: (event: UnseenCategory) => void,
  row = 0,
): void {
  writeRecord(compiledPipeline(pipeline), record, out, offset, row, onUnseen);
}

/**
 * Validates a FittedPipeline read from a bundle and prepares its lookup tables.
 * Throws UsageError 'PIPELINE_INVALID' listing every problem.
 */
export function parsePipeline(json: unknown): FittedPipeline {
  const problems = checkFittedPipeline(json);
  if (problems.length > 0) {
    throw new UsageError('PIPELINE_INVALID', `The preprocessing pipeline is invalid: ${problems[0]}${moreThan(problems)}`, {
      problems,
      hint: 'The bundle may be damaged or written by another mlctl version; retrain or re-export the model.',
    });
  }
  const pipeline = json as FittedPipeline;
  compiledPipeline(pipeline);
  return pipeline;
}

/** What each column of the feature matrix holds: category codes for ordinal columns, numbers otherwise. */
export function featureInfo(pipeline: FittedPipeline): FeatureInfo[] {
  return pipeline.columns.flatMap((column): FeatureInfo[] => {
    const ordinal = column.steps.find((step) => step.kind === 'ordinal');
    if (ordinal !== undefined) return [{ name: column.column, kind: 'categorical', cardinality: ordinal.categories.length }];
    return column.outputs.map((name) => ({ name, kind: 'numeric' }));
  });
}

/** Features in and out, and per column what fitting learned, for `mlctl preprocess` and reports. */
export function summarizePipeline(pipeline: FittedPipeline): PipelineSummary {
  const columns = pipeline.columns.map((column): PipelineColumnSummary => {
    let summary: PipelineColumnSummary = {
      column: column.column,
      type: column.type,
      steps: column.steps.map((step) => step.kind),
      outputs: column.outputs.length,
      imputed: 0,
      ...(column.missing === 'keep' ? { keepsMissing: true } : {}),
    };
    for (const step of column.steps) {
      if (step.kind === 'impute') summary = { ...summary, imputed: step.imputedInFit, impute: { strategy: step.strategy, value: step.value } };
      else if (step.kind === 'one-hot') summary = { ...summary, categories: step.categories, unseen: step.unseen };
      else if (step.kind === 'ordinal') summary = { ...summary, categories: step.categories };
      else if (step.kind === 'standardize') summary = { ...summary, mean: step.mean, std: step.std };
      else if (step.kind === 'date') summary = { ...summary, dateParts: step.parts };
    }
    return summary;
  });
  return {
    fittedRows: pipeline.fittedRows,
    featuresIn: pipeline.columns.length,
    featuresOut: pipeline.featureNames.length,
    columns,
  };
}
