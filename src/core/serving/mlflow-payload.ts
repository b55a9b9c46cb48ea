/**
 * Records from request bodies in MLflow's scoring protocol (MLflow 2's `/invocations`):
 * a JSON object with exactly one of `dataframe_split`, `dataframe_records`, `instances` or
 * `inputs` (other keys, such as `params`, are ignored, as MLflow does), or with the
 * content-type parameter `format=pandas-split` / `format=pandas-records` (MLflow 1), a bare
 * pandas split object or records array.
 */
import { describeType, HttpError, isPlainObject, MAX_PROBLEMS, type FieldProblem } from './http-error.js';

export const MLFLOW_INPUT_KEYS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
export type MlflowInputKey = (typeof MLFLOW_INPUT_KEYS)[number];

/** The `format` parameter of an MLflow 1 JSON content type. */
export type PandasFormat = 'pandas-split' | 'pandas-records';

function notRecords(message: string, problems: readonly FieldProblem[] = []): HttpError {
  return new HttpError(422, 'BODY_NOT_RECORDS', message, problems);
}

/** The MLflow input keys a body object holds, in the protocol's order. */
export function mlflowInputKeys(body: Record<string, unknown>): MlflowInputKey[] {
  return MLFLOW_INPUT_KEYS.filter((key) => key in body);
}

function ambiguous(keys: readonly string[]): HttpError {
  const named = keys.map((k) => `"${k}"`);
  return new HttpError(400, 'BODY_AMBIGUOUS', `the body holds ${named.slice(0, -1).join(', ')} and ${named.at(-1)}; send exactly one of ${MLFLOW_INPUT_KEYS.join(', ')}`);
}

/**
 * /invocations: exactly one MLflow input key, or a bare pandas payload when the content
 * type says `format=pandas-split` or `format=pandas-records`.
 */
export function recordsFromMlflowBody(body: unknown, format: PandasFormat | undefined): unknown[] {
  if (isPlainObject(body)) {
    const keys = mlflowInputKeys(body);
    if (keys.length > 1) throw ambiguous(keys);
    if (keys.length === 1) return recordsOfKey(keys[0]!, body[keys[0]!]);
  }
  if (format === 'pandas-split') return splitToRecords(body, 'the body');
  if (format === 'pandas-records') {
    if (!Array.isArray(body)) throw notRecords(`with format=pandas-records the body must be an array of records, got ${describeType(body)}`);
    return body;
  }
  const found = isPlainObject(body) ? `an object with keys ${Object.keys(body).slice(0, 5).map((k) => `"${k}"`).join(', ') || '(none)'}` : describeType(body);
  throw new HttpError(400, 'BODY_NO_INPUT_KEY', `the body must be a JSON object with exactly one of ${MLFLOW_INPUT_KEYS.join(', ')} (MLflow's scoring protocol), got ${found}`);
}

/**
 * /predict: one record, an array of records, or an MLflow payload (exactly one input key).
 * A bare pandas payload follows the content type's `format` parameter as on /invocations.
 */
export function recordsFromPredictBody(body: unknown, format: PandasFormat | undefined): unknown[] {
  if (format !== undefined) return recordsFromMlflowBody(body, format);
  if (Array.isArray(body)) return body;
  if (!isPlainObject(body)) throw notRecords(`the body must be a JSON object, an array of objects, or an MLflow payload; got ${describeType(body)}`);
  const keys = mlflowInputKeys(body);
  if (keys.length > 1) throw ambiguous(keys);
  if (keys.length === 1) return recordsOfKey(keys[0]!, body[keys[0]!]);
  return [body];
}

function recordsOfKey(key: MlflowInputKey, value: unknown): unknown[] {
  switch (key) {
    case 'dataframe_records':
      if (!Array.isArray(value)) throw notRecords(`dataframe_records must be an array of objects, got ${describeType(value)}`, [{ field: key, message: 'expected an array' }]);
      return value;
    case 'dataframe_split':
      return splitToRecords(value, 'dataframe_split');
    case 'instances':
    case 'inputs':
      if (Array.isArray(value)) return value;
      if (isPlainObject(value)) return columnsToRecords(value, key);
      throw notRecords(`${key} must be an array of records or an object of columns, got ${describeType(value)}`, [{ field: key, message: 'expected an array or an object' }]);
  }
}

/** pandas' orient="split": {"columns": [...], "data": [[...], ...]} ("index" is ignored). */
function splitToRecords(split: unknown, where: string): Record<string, unknown>[] {
  const columns = isPlainObject(split) ? split.columns : undefined;
  const data = isPlainObject(split) ? split.data : undefined;
  const prefix = where === 'the body' ? '' : `${where}.`;
  const problems: FieldProblem[] = [];
  if (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string')) problems.push({ field: `${prefix}columns`, message: 'expected an array of column names' });
  if (!Array.isArray(data) || data.some((row) => !Array.isArray(row))) problems.push({ field: `${prefix}data`, message: 'expected an array of rows (arrays)' });
  if (problems.length > 0) throw notRecords(`${where} must be {"columns": [...], "data": [[...], ...]}`, problems);
  const names = columns as string[];
  const records = (data as unknown[][]).map((row, i) => {
    if (row.length !== names.length && problems.length < MAX_PROBLEMS) problems.push({ record: i + 1, field: `${prefix}data`, message: `row has ${row.length} values for ${names.length} columns` });
    const record: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) record[names[c]!] = row[c];
    return record;
  });
  if (problems.length > 0) throw notRecords(`${where}: rows do not match its columns`, problems);
  return records;
}

/** TensorFlow Serving's columnar form: {"age": [39, 50], "sex": ["Male", "Female"]}. */
function columnsToRecords(columns: Record<string, unknown>, key: string): Record<string, unknown>[] {
  const names = Object.keys(columns);
  const problems: FieldProblem[] = [];
  let rows: number | undefined;
  for (const name of names) {
    const values = columns[name];
    if (!Array.isArray(values)) problems.push({ field: `${key}.${name}`, message: `expected an array of values, got ${describeType(values)}` });
    else if (rows === undefined) rows = values.length;
    else if (values.length !== rows) problems.push({ field: `${key}.${name}`, message: `has ${values.length} values, other columns ${rows}` });
  }
  if (problems.length > 0) throw notRecords(`${key} given as columns must be arrays of equal length`, problems.slice(0, MAX_PROBLEMS));
  return Array.from({ length: rows ?? 0 }, (_, i) => Object.fromEntries(names.map((name) => [name, (columns[name] as unknown[])[i]])));
}
