/**
 * Input records from JSON, CSV or HTTP checked against what a fitted pipeline reads, before
 * any of them is transformed, so a caller can report every bad field at once (exit 2).
 */
import type { DataRecord } from '../datasets/dataset-spec.js';
import { compiledPipeline, previewList } from './compiled-pipeline.js';
import { DATE_FORMATS_TEXT, parseDate } from './dates.js';
import type { CompiledColumn } from './compiled-pipeline.js';
import type { FittedPipeline } from './pipeline-spec.js';

/**
 * One bad field: `record` is the 0-based index in the input, `field` the column name, and
 * `message` what is wrong with the value (without the location, which callers format).
 */
export interface RecordProblem {
  record: number;
  field: string;
  message: string;
}

/** The `field` of a problem with the record as a whole (not an object). */
export const WHOLE_RECORD = '(record)';

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export interface ValidateRecordsOptions {
  /**
   * A field left out of a record: 'missing' (default) treats it like null, imputed where the
   * pipeline can; 'error' reports it, so only an explicit null asks for imputation. `mlctl
   * predict` uses 'error': a forgotten field is more often a mistake than a wish.
   */
  readonly absent?: 'missing' | 'error';
}

/**
 * Checks raw input records against the pipeline's input columns: every column the pipeline
 * reads must be present (null or absent is fine where an impute step exists), numeric
 * columns finite numbers (numeric strings like "39" are converted), categorical and boolean
 * columns strings (trimmed; numbers are taken as their decimal spelling, as fitting does;
 * JSON true/false are accepted for yes/no columns). Unknown
 * categories are problems only where the column's policy is 'error'. Returns ALL problems,
 * plus the coerced records aligned with the input (only the pipeline's columns; extra
 * fields such as `id` are left out) — meaningful when `problems` is empty.
 */
export function validateRecords(
  pipeline: FittedPipeline,
  records: readonly unknown[],
  options: ValidateRecordsOptions = {},
): { records: DataRecord[]; problems: RecordProblem[] } {
  const strictAbsent = options.absent === 'error';
  const columns = compiledPipeline(pipeline).columns;
  const problems: RecordProblem[] = [];
  const coerced: DataRecord[] = [];
  records.forEach((input, index) => {
    const record: DataRecord = {};
    coerced.push(record);
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      problems.push({ record: index, field: WHOLE_RECORD, message: `expected a JSON object, got ${describe(input)}.` });
      return;
    }
    const fields = input as Record<string, unknown>;
    for (const column of columns) {
      const name = column.column;
      if (strictAbsent && !(name in fields)) {
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
      const result = coerceField(column, fields[name]);
      if (typeof result === 'object' && result !== null) {
        problems.push({ record: index, field: name, message: result.problem });
        record[name] = null;
      } else {
        record[name] = result;
      }
    }
  });
  return { records: coerced, problems };
}

function coerceField(column: CompiledColumn, value: unknown): string | number | null | { problem: string } {
  if (value === undefined || value === null) {
    if (column.impute !== undefined || column.keepMissing) return null;
    return { problem: `value is ${value === undefined ? 'missing' : 'null'}; the field is required (the pipeline has no impute step for it).` };
  }
  if (column.kind === 'numeric') {
    if (typeof value === 'number') return Number.isFinite(value) ? value : { problem: `expected a finite number, got ${describe(value)}.` };
    if (typeof value === 'string' && value.trim() !== '') {
      const parsed = Number(value);
      if (Number.isFinite(parsed)) return parsed;
    }
    return { problem: `expected a number, got ${typeof value} ${describe(value)}.` };
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
  // A number is its decimal spelling: a CSV loader may read a code column (zip, year) as numbers.
  if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
  if (typeof value !== 'string') return { problem: `expected a string, got ${typeof value} ${describe(value)}.` };
  const category = value.trim();
  if (column.kind === 'one-hot' && column.unseen === 'error' && !column.index.has(category)) {
    return { problem: `unknown category ${describe(category)}; known: ${previewList(column.categories)}.` };
  }
  return category;
}

/**
 * JSON Schema (draft 2020-12) of one input record, for the bundle manifest and OpenAPI:
 * a property per input column (number or string; null allowed where an impute step fills
 * it), the known categories as `enum` for one-hot and yes/no columns (informational where
 * the unseen policy accepts others; yes/no matching is case-insensitive), and `required`
 * listing the columns without an impute step. Other properties (such as `id`) are allowed.
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
    if (column.kind === 'one-hot' || column.kind === 'ordinal') {
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
