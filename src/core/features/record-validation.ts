/**
 * Input records from JSON, CSV or HTTP checked against what a fitted pipeline reads, before
 * any of them is transformed, so a caller can report every bad field at once (exit 2).
 */
import type { DataRecord } from '../datasets/dataset-spec.js';
import { applyNumericOps, compiledPipeline, previewList } from './compiled-pipeline.js';
import { DATE_FORMATS_TEXT, parseDate } from './dates.js';
import type { CompiledColumn } from './compiled-pipeline.js';
import type { FittedPipeline } from './pipeline-spec.js';

/**
 * One bad field: `record` is the 0-based index in the input, `field` the column name, and
 * `message` what is wrong with the value (without the location, which callers format;
 * every caller shows records numbered from 1, see `recordNumber`).
 */
export interface RecordProblem {
  record: number;
  field: string;
  message: string;
}

/**
 * A value that is answered but lies outside what the model saw in training: a number
 * outside the training range, or a category not seen in training. Located as a problem.
 */
export interface RecordWarning {
  record: number;
  field: string;
  message: string;
  kind: 'out-of-range' | 'unseen-category';
}

/** The `field` of a problem with the record as a whole (not an object). */
export const WHOLE_RECORD = '(record)';

/**
 * How records are numbered in every message mlctl shows, on the CLI and over HTTP: from 1,
 * as lines of a file are ("record 3, field "age"").
 */
export function recordNumber(index: number): number {
  return index + 1;
}

/** A value for a message: JSON where it has a short form, truncated, never throwing. */
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? '[…]' : '{…}';
  }
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** A number as messages show it: 1e+308, 39, -3. */
function show(value: number): string {
  return String(value);
}

export interface ValidateRecordsOptions {
  /**
   * A field left out of a record: 'missing' (default) treats it like null, imputed where the
   * pipeline can; 'error' reports it, so only an explicit null asks for imputation. `mlctl
   * predict` uses 'error': a forgotten field is more often a mistake than a wish.
   */
  readonly absent?: 'missing' | 'error';
  /** With absent 'error': fields that may still be left out, read as missing (the seed's /predict_income body leaves out race and sex). */
  readonly mayBeAbsent?: ReadonlySet<string>;
  /**
   * A number sent for a categorical or yes/no column: 'refuse' for prediction input (the
   * input schema says string, and 42 would only ever be an unseen category), 'spell'
   * (default) for rows a CSV reader typed, which reads a code column (zip, year) as numbers,
   * as fitting does.
   */
  readonly numbersForStrings?: 'refuse' | 'spell';
}

export interface ValidatedRecords {
  /** The coerced records aligned with the input (meaningful when `problems` is empty). */
  readonly records: DataRecord[];
  readonly problems: RecordProblem[];
  /** Values answered but outside the training range or the known categories. */
  readonly warnings: RecordWarning[];
}

/**
 * Checks raw input records against the pipeline's input columns: every column the pipeline
 * reads must be present (null, absent or NaN is a missing value, fine where an impute step
 * exists), numeric columns finite numbers (numeric strings like "39" are converted) inside
 * the task's hard bounds and small enough that the transformed feature fits a 32-bit float,
 * categorical and boolean columns strings (trimmed; JSON true/false are accepted for yes/no
 * columns). Unknown categories are problems only where the column's policy is 'error'.
 * Returns ALL problems, the warnings (values outside the training range, unseen
 * categories), and the coerced records aligned with the input (only the pipeline's
 * columns; extra fields such as `id` are left out).
 */
export function validateRecords(pipeline: FittedPipeline, records: readonly unknown[], options: ValidateRecordsOptions = {}): ValidatedRecords {
  const strictAbsent = options.absent === 'error';
  const spell = options.numbersForStrings !== 'refuse';
  const columns = compiledPipeline(pipeline).columns;
  const problems: RecordProblem[] = [];
  const warnings: RecordWarning[] = [];
  const coerced: DataRecord[] = [];
  for (let index = 0; index < records.length; index++) {
    const input = records[index];
    const record: DataRecord = {};
    coerced.push(record);
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      problems.push({ record: index, field: WHOLE_RECORD, message: `expected a JSON object, got ${describe(input)}.` });
      continue;
    }
    const fields = input as Record<string, unknown>;
    for (const column of columns) {
      const name = column.column;
      const value = fields[name];
      if (value === undefined && strictAbsent && options.mayBeAbsent?.has(name) !== true && !(name in fields)) {
        problems.push({
          record: index,
          field: name,
          message:
            column.impute !== undefined
              ? 'is missing; send null to have it imputed from the training data.'
              : column.keepMissing
                ? 'is missing; send null for a missing value (the model handles it).'
                : 'is missing; it is required.',
        });
        record[name] = null;
        continue;
      }
      const result = coerceField(column, value, spell);
      if (typeof result === 'object' && result !== null) {
        if ('problem' in result) {
          problems.push({ record: index, field: name, message: result.problem });
          record[name] = null;
          continue;
        }
        warnings.push({ record: index, field: name, message: result.warning, kind: result.kind });
        record[name] = result.value;
      } else {
        record[name] = result;
      }
    }
  }
  return { records: coerced, problems, warnings };
}

type Coerced = string | number | null | { problem: string } | { value: string | number; warning: string; kind: RecordWarning['kind'] };

function coerceField(column: CompiledColumn, value: unknown, spell: boolean): Coerced {
  // NaN is how pandas (and MLflow's client) write a missing value.
  if (value === undefined || value === null || (typeof value === 'number' && Number.isNaN(value))) {
    if (column.impute !== undefined || column.keepMissing) return null;
    const what = value === undefined ? 'missing' : value === null ? 'null' : 'NaN (missing)';
    return { problem: `value is ${what}; the field is required (the pipeline has no impute step for it).` };
  }
  if (column.kind === 'numeric') {
    let x: number;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { problem: `is ${show(value)}; send a finite number (a JSON number beyond ±1.8e308 reads as infinite).` };
      x = value;
    } else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
      x = Number(value);
    } else {
      return { problem: `expected a number, got ${typeof value} ${describe(value)}.` };
    }
    return checkNumber(column, x);
  }
  if (column.kind === 'yes-no') {
    if (typeof value === 'boolean') return value ? column.yesList[0]! : column.noList[0]!;
    if (typeof value !== 'string') return { problem: `expected a string (${[...column.yesList, ...column.noList].join(' / ')}), got ${typeof value} ${describe(value)}.` };
    const flag = value.trim().toLowerCase();
    if (column.yes.has(flag) || column.no.has(flag)) return value.trim();
    return { problem: `${describe(value)} is neither yes (${column.yesList.join(', ')}) nor no (${column.noList.join(', ')}).` };
  }
  if (column.kind === 'date') {
    if (typeof value !== 'string') return { problem: `expected a date as text (${DATE_FORMATS_TEXT}), got ${typeof value} ${describe(value)}.` };
    if (parseDate(value) === undefined) return { problem: `${describe(value)} is not a date; send ${DATE_FORMATS_TEXT}.` };
    return value.trim();
  }
  if (typeof value === 'number' && Number.isFinite(value) && spell) value = String(value);
  if (typeof value !== 'string') return { problem: `expected a string, got ${typeof value} ${describe(value)}.` };
  const category = value.trim();
  if (column.index.has(category)) return category;
  if (column.kind === 'one-hot') {
    if (column.unseen === 'error') return { problem: `unknown category ${describe(category)}; known: ${previewList(column.categories)}.` };
    const effect = column.unseen === 'most-frequent' ? 'encoded as the most frequent training category' : 'encoded as all zeros';
    return { value: category, kind: 'unseen-category', warning: `${describe(category)} was not seen in training; ${effect} (unseen-category policy "${column.unseen}").` };
  }
  return { value: category, kind: 'unseen-category', warning: `${describe(category)} was not seen in training; treated as a missing value.` };
}

/**
 * A finite number against the column: the task's hard bounds (a problem), the transform
 * (log1p needs ≥ 0; the feature must fit a 32-bit float, or the model answers NaN), and
 * the training range (a warning).
 */
function checkNumber(column: Extract<CompiledColumn, { kind: 'numeric' }>, x: number): Coerced {
  const bounds = column.bounds;
  if (bounds !== undefined) {
    if (bounds.min !== undefined && x < bounds.min) return { problem: `${show(x)} is below the minimum ${show(bounds.min)} the task allows.` };
    if (bounds.max !== undefined && x > bounds.max) return { problem: `${show(x)} is above the maximum ${show(bounds.max)} the task allows.` };
  }
  const range = column.range;
  // Inside the training range the transform is known to be fine: training values went through it.
  if (range !== undefined && x >= range.min && x <= range.max) return x;
  if (column.ops.length > 0) {
    let feature: number;
    try {
      feature = applyNumericOps(column.ops, x, column.column, 0);
    } catch {
      return { problem: `${show(x)} is negative; the pipeline takes log1p of this field, which needs values ≥ 0.` };
    }
    if (!Number.isFinite(Math.fround(feature))) return { problem: `${show(x)} is too large for the model: its transformed value does not fit a 32-bit float.` };
  } else if (!Number.isFinite(Math.fround(x))) {
    return { problem: `${show(x)} is too large for the model: it does not fit a 32-bit float.` };
  }
  if (range !== undefined) {
    return { value: x, kind: 'out-of-range', warning: `${show(x)} is outside the training range [${show(range.min)}, ${show(range.max)}]; the answer is an extrapolation.` };
  }
  return x;
}

/**
 * JSON Schema (draft 2020-12) of one input record, for the bundle manifest and OpenAPI:
 * a property per input column (number or string; null allowed where an impute step fills
 * it), the known categories as `enum` for one-hot and yes/no columns (informational where
 * the unseen policy accepts others; yes/no matching is case-insensitive), numeric
 * columns' training range as `"x-training-range": {"min", "max"}` and the task's hard
 * bounds as `minimum` / `maximum`, and `required` listing the columns without an impute
 * step. Other properties (such as `id`) are allowed.
 */
export function pipelineInputSchema(pipeline: FittedPipeline): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  const fitted = new Map(pipeline.columns.map((column) => [column.column, column]));
  for (const column of compiledPipeline(pipeline).columns) {
    const nullable = column.impute !== undefined || column.keepMissing;
    if (!nullable) required.push(column.column);
    const baseType = column.kind === 'numeric' ? 'number' : 'string';
    const property: Record<string, unknown> = { type: nullable ? [baseType, 'null'] : baseType };
    const steps = fitted.get(column.column)?.steps.map((step) => step.kind) ?? [];
    let description = `${fitted.get(column.column)?.type ?? baseType} feature; steps: ${steps.join(', ') || 'none'}`;
    if (column.kind === 'numeric') {
      if (column.bounds?.min !== undefined) property.minimum = column.bounds.min;
      if (column.bounds?.max !== undefined) property.maximum = column.bounds.max;
      if (column.range !== undefined) {
        property['x-training-range'] = { min: column.range.min, max: column.range.max };
        description += `; training range ${column.range.min} to ${column.range.max} (values outside are answered with a warning)`;
      }
    } else if (column.kind === 'one-hot' || column.kind === 'ordinal') {
      property.enum = nullable ? [...column.categories, null] : [...column.categories];
      description += `; unseen categories: ${column.kind === 'one-hot' ? column.unseen : 'treated as missing'}`;
    } else if (column.kind === 'yes-no') {
      const values = [...column.yesList, ...column.noList];
      property.enum = nullable ? [...values, null] : values;
      description += '; matched case-insensitively';
    } else if (column.kind === 'date') {
      property.examples = ['2024-03-09', '2024-03-09T14:30:00'];
      description += `; ${DATE_FORMATS_TEXT}`;
    }
    if (column.impute !== undefined) description += `; missing → ${JSON.stringify(column.impute)}`;
    else if (column.keepMissing) description += '; missing values go to the model as missing';
    property.description = description;
    properties[column.column] = property;
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'mlctl input record',
    type: 'object',
    properties,
    required,
    additionalProperties: true,
  };
}
