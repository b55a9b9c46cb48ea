/**
 * The prediction routes' shared steps: validate every record (all problems at once, records
 * counted from 1), transform into the model's feature buffer, score, and refuse an answer
 * that would not be a finite number. What outputs mean is the model's OutputMeaning.
 */
import type { DataRecord } from '../datasets/dataset-spec.js';
import { transformRecordInto } from '../features/pipeline.js';
import { recordNumber, validateRecords, WHOLE_RECORD, type RecordProblem, type RecordWarning } from '../features/record-validation.js';
import { HttpError, MAX_PROBLEMS, type FieldProblem } from './http-error.js';
import { featuresFor, type ModelState } from './model-state.js';
import type { Exchange } from './serve-context.js';
import type { ServedModel } from './served-model.js';

/** Records per prediction request. */
export const MAX_RECORDS = 10_000;

/** Validation problems as an answer lists them: records counted from 1. */
export function fieldProblems(problems: readonly RecordProblem[], withRecord: boolean): FieldProblem[] {
  return problems.slice(0, MAX_PROBLEMS).map((p) => ({
    ...(withRecord ? { record: recordNumber(p.record) } : {}),
    ...(p.field === WHOLE_RECORD ? {} : { field: p.field }),
    message: p.message,
  }));
}

/** 422 INPUT_INVALID listing `problems` (of `total`). */
export function invalidInput(problems: readonly FieldProblem[], total: number, single: boolean): HttpError {
  const more = total > problems.length ? ` (the first ${problems.length} are listed)` : '';
  const fields = single ? `: ${[...new Set(problems.map((p) => p.field ?? 'record'))].join(', ')}` : '';
  return new HttpError(422, 'INPUT_INVALID', `${total} problem${total === 1 ? '' : 's'} in the input${fields}; nothing was predicted${more}`, problems);
}

export function tooManyRecords(count: number): HttpError {
  return new HttpError(422, 'TOO_MANY_RECORDS', `at most ${MAX_RECORDS} records per request, got ${count}; split the batch`);
}

/**
 * Validates prediction input as `mlctl predict` does: a field left out is a mistake (an
 * explicit null or NaN asks for imputation), a number is refused where the schema wants a
 * string. Throws 422 listing every problem; returns the coerced records and the warnings.
 */
export function validateInput(model: ServedModel, records: readonly unknown[]): { records: DataRecord[]; warnings: RecordWarning[] } {
  const validated = validateRecords(model.pipeline, records, { absent: 'error', numbersForStrings: 'refuse' });
  if (validated.problems.length > 0) throw invalidInput(fieldProblems(validated.problems, true), validated.problems.length, false);
  return validated;
}

/**
 * Transforms validated records into the model's feature buffer and scores them: a Promise
 * only when the scorer is asynchronous (TensorFlow.js), so the lean path answers without a
 * microtask. The result may be the scorer's own buffer: read it before the next score.
 * Refuses (422) outputs that are not finite numbers, so no answer ever holds NaN or Infinity.
 */
export function scoreValid(c: Exchange, model: ServedModel, state: ModelState, valid: readonly DataRecord[]): Float32Array | Promise<Float32Array> {
  const rows = valid.length;
  const features = featuresFor(state, rows);
  const width = state.width;
  const onUnseen = c.app.metrics.onUnseen;
  for (let i = 0; i < rows; i++) transformRecordInto(model.pipeline, valid[i]!, features, i * width, onUnseen, i);
  const scored = model.scorer.score(features, rows);
  const perRow = model.meaning.width;
  return scored instanceof Promise ? scored.then((outputs) => finiteOutputs(outputs, rows, perRow)) : finiteOutputs(scored, rows, perRow);
}

function finiteOutputs(outputs: Float32Array, rows: number, perRow: number): Float32Array {
  let broken: FieldProblem[] | undefined;
  for (let i = 0; i < rows * perRow; i++) {
    if (!Number.isFinite(outputs[i]!)) {
      const record = recordNumber(Math.floor(i / perRow));
      broken ??= [];
      if (broken.at(-1)?.record !== record) broken.push({ record, message: "the model's output for this record is not a finite number; its values lie far outside the training data" });
    }
  }
  if (broken !== undefined) throw new HttpError(422, 'PREDICTION_NOT_FINITE', `the model cannot answer ${broken.length} record${broken.length === 1 ? '' : 's'}; nothing was predicted`, broken.slice(0, MAX_PROBLEMS));
  return outputs;
}

/**
 * Runs `fn` on the served model, holding it (a reload waits to dispose it) until `fn`
 * returns or, when it returns a Promise, settles.
 */
export function withModel<T>(c: Exchange, fn: (model: ServedModel) => T | Promise<T>): T | Promise<T> {
  const { holder } = c.app;
  const model = holder.acquire();
  let result: T | Promise<T>;
  try {
    result = fn(model);
  } catch (error) {
    holder.release(model);
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => holder.release(model));
  holder.release(model);
  return result;
}

/** `then` for a value that may be a Promise: sync values stay sync. */
export function andThen<T, U>(value: T | Promise<T>, fn: (value: T) => U): U | Promise<U> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/** Counts each warning in mlctl_input_out_of_range_total{feature}. */
export function countWarnings(c: Exchange, warnings: readonly RecordWarning[]): void {
  for (const w of warnings) c.app.metrics.inputOutOfRange.labels(w.field).inc();
}

/** `"warnings":[…]` for the warnings of one record, or '' when it has none (`from` is the first index to look at; they are in record order). */
export function warningsPart(warnings: readonly RecordWarning[], record: number, from: number): { text: string; next: number } {
  let next = from;
  while (next < warnings.length && warnings[next]!.record < record) next++;
  if (next >= warnings.length || warnings[next]!.record !== record) return { text: '', next };
  const items: string[] = [];
  while (next < warnings.length && warnings[next]!.record === record) {
    const w = warnings[next++]!;
    items.push(JSON.stringify({ field: w.field, kind: w.kind, message: w.message }));
  }
  return { text: `"warnings":[${items.join(',')}]`, next };
}
