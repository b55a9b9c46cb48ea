import { readCsvFile } from '../datasets/csv-reader.js';
import type { DataRecord } from '../datasets/dataset-spec.js';
import { getDatasetSpec, isBuiltinDataset } from '../datasets/dataset-registry.js';
import { validateRecords } from '../features/record-validation.js';
import { UsageError } from '../errors.js';
import type { Predictor } from '../predict/predictor.js';
import type { Evaluation } from '../bundle/output-meaning.js';
import { basename } from 'node:path';
import { checkTargets, encodeTarget, loadTestRows, taskColumns, type DroppedRows, type TaskDataOptions } from './task-data.js';

export interface EvaluateModelOptions {
  /** A labelled CSV; default: the task's own test rows. */
  readonly dataPath?: string;
  readonly data: TaskDataOptions;
  readonly threshold?: number;
  readonly onUnseen?: (event: { column: string; value: string; row: number }) => void;
}

export interface ModelEvaluation extends Evaluation {
  readonly rows: number;
  readonly source: string;
  /** y and model output per row, for curves. */
  readonly yTrue: Float32Array;
  readonly scores: Float32Array;
  /**
   * The evaluated rows, in the order of yTrue and scores (slices, permutation importance):
   * the model's input columns plus the task's sensitive ones.
   */
  readonly records: readonly DataRecord[];
  /** Rows of a --data CSV left out for a missing or unparseable target. */
  readonly dropped?: DroppedRows;
}

/** Evaluates a loaded bundle on labelled rows: its task's test set, or any labelled CSV. */
export async function evaluateModel(predictor: Predictor, options: EvaluateModelOptions): Promise<ModelEvaluation> {
  const task = predictor.manifest.task;
  let records: readonly DataRecord[];
  let source: string;
  let dropped: DroppedRows | null = null;
  if (options.dataPath !== undefined) {
    const spec = isBuiltinDataset(task.dataset) ? getDatasetSpec(task.dataset) : undefined;
    const table = await readCsvFile(options.dataPath, { columns: taskColumns(task), ...(spec === undefined ? {} : { spec }), ...(task.missing === undefined ? {} : { missing: task.missing }) });
    const checked = checkTargets(task, table, basename(options.dataPath));
    records = checked.records;
    dropped = checked.dropped;
    source = options.dataPath;
  } else {
    ({ records, source } = await loadTestRows(task, options.data));
  }
  if (records.length === 0) throw new UsageError('EVALUATE_NO_ROWS', `${source} has no rows to evaluate on`);
  const yTrue = encodeTarget(predictor.meaning, records, source);
  const { records: valid, problems } = validateRecords(predictor.pipeline, records);
  if (problems.length > 0) {
    throw new UsageError('EVALUATE_INPUT_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${source}`, {
      problems: problems.slice(0, 20).map((p) => `row ${p.record + 1}, field "${p.field}": ${p.message}`),
    });
  }
  const scores = await predictor.score(valid, options.onUnseen === undefined ? {} : { onUnseen: options.onUnseen });
  const evaluation = predictor.meaning.evaluate(yTrue, scores, options.threshold === undefined ? {} : { threshold: options.threshold });
  // Sensitive columns are no input of the model, but the report slices by them.
  const sensitive = task.sensitive ?? [];
  // The coerced records are ours: the sensitive columns (kept for report slices) go in place.
  for (const column of sensitive) valid.forEach((record, i) => (record[column] = records[i]![column] ?? null));
  const evaluated = valid;
  return { ...evaluation, rows: records.length, source, yTrue, scores, records: evaluated, ...(dropped === null ? {} : { dropped }) };
}
