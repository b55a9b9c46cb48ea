/**
 * Fitting and replaying the preprocessing pipeline. `fitPipeline` learns imputation values,
 * categories and z-score parameters from training rows only and returns plain JSON
 * (kind 'mlctl.pipeline', version 1); `transformRecords` / `transformRecordInto` replay it.
 * A pipeline that went through JSON.stringify/parse produces byte-identical Float32 output.
 */
import type { TableRows } from '../datasets/data-table.js';
import type { DataRecord } from '../datasets/dataset-spec.js';
import { isMlctlError, UsageError } from '../errors.js';
import { compiledPipeline, writeRecord } from './compiled-pipeline.js';
import type { UnseenCategory } from './compiled-pipeline.js';
import type { FeatureInfo, FittedPipeline, InputBounds, PipelineColumnSummary, PipelineSpec, PipelineSummary } from './pipeline-spec.js';
import { fitColumn, recordFitRows, tableFitRows, type FitRows } from './pipeline-fit.js';
import { checkFittedPipeline, checkPipelineSpec } from './pipeline-validation.js';

export type { UnseenCategory } from './compiled-pipeline.js';
export type { PipelineSummary } from './pipeline-spec.js';

export type { FeatureMatrix } from './feature-rows.js';
import type { FeatureMatrix } from './feature-rows.js';

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
  return fitOnRows(spec, recordFitRows(records), options);
}

/**
 * Fits `spec` on training rows held in a columnar table (`rows`: the training selection), one
 * column at a time; the same pipeline `fitPipeline` fits on the same rows as records. Problems
 * name file lines ("adult.data line 17") instead of record indices.
 */
export function fitPipelineOnRows(spec: PipelineSpec, rows: TableRows, options: FitPipelineOptions = {}): FittedPipeline {
  return fitOnRows(spec, tableFitRows(rows), options);
}

function fitOnRows(spec: PipelineSpec, rows: FitRows, options: FitPipelineOptions): FittedPipeline {
  const specProblems = [...checkPipelineSpec(spec), ...checkBounds(spec, options.bounds)];
  if (specProblems.length > 0) {
    throw new UsageError('PIPELINE_SPEC_INVALID', `The feature pipeline spec is invalid: ${specProblems[0]}${moreThan(specProblems)}`, {
      problems: specProblems,
      hint: 'Fix the "features" section of the task definition.',
    });
  }
  if (rows.count === 0) {
    throw new UsageError('PIPELINE_NO_ROWS', 'Cannot fit the feature pipeline on zero training rows.', {
      hint: 'Check the dataset and the split fractions.',
    });
  }
  const problems: string[] = [];
  const columns = spec.columns.map((column) => fitColumn(column, rows, problems, options.bounds?.[column.column]));
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
    fittedRows: rows.count,
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
