import { rowsAsRecords, type TableRows } from '../datasets/data-table.js';
import type { DataRecord } from '../datasets/dataset-spec.js';
import { validateRecords } from '../features/record-validation.js';
import { UsageError } from '../errors.js';
import type { Predictor } from '../predict/predictor.js';
import type { Evaluation } from '../bundle/output-meaning.js';
import { encodeTarget, loadLabelledFile, loadTestRows, taskColumns, type DroppedRows, type TaskDataOptions } from './task-data.js';

export interface EvaluateModelOptions {
  /** A labelled CSV; default: the task's own test rows. */
  readonly dataPath?: string;
  readonly data: TaskDataOptions;
  readonly threshold?: number;
  readonly onUnseen?: (event: { column: string; value: string; row: number }) => void;
  /**
   * Keep the evaluated rows as records (`records`), for the report's slices and permutation
   * importance. Off, rows become records a chunk at a time and are dropped once scored, so
   * evaluating millions of rows holds columns, labels and scores only.
   */
  readonly keepRecords?: boolean;
}

export interface ModelEvaluation extends Evaluation {
  readonly rows: number;
  readonly source: string;
  /** y and model output per row, for curves. */
  readonly yTrue: Float32Array;
  readonly scores: Float32Array;
  /**
   * With keepRecords, the evaluated rows, in the order of yTrue and scores (slices,
   * permutation importance): the model's input columns plus the task's sensitive ones.
   * Empty otherwise.
   */
  readonly records: readonly DataRecord[];
  /** Rows of a --data CSV left out for a missing or unparseable target. */
  readonly dropped?: DroppedRows;
}

/** Rows turned into records, validated and scored at a time. */
const CHUNK_ROWS = 8_192;
const LISTED_PROBLEMS = 20;

/** Evaluates a loaded bundle on labelled rows: its task's test set, or any labelled CSV. */
export async function evaluateModel(predictor: Predictor, options: EvaluateModelOptions): Promise<ModelEvaluation> {
  const task = predictor.manifest.task;
  let rows: TableRows;
  let source: string;
  let dropped: DroppedRows | null = null;
  if (options.dataPath !== undefined) {
    const checked = await loadLabelledFile(task, options.dataPath, options.data);
    rows = checked.rows;
    dropped = checked.dropped;
    source = options.dataPath;
  } else {
    ({ rows, source } = await loadTestRows(task, options.data));
  }
  const count = rows.index.length;
  if (count === 0) throw new UsageError('EVALUATE_NO_ROWS', `${source} has no rows to evaluate on`);
  const yTrue = encodeTarget(predictor.meaning, rows, source);
  const columns = taskColumns(task).map((column) => column.name);
  // Sensitive columns are no input of the model, but the report slices by them.
  const sensitive = options.keepRecords === true ? (task.sensitive ?? []) : [];
  const width = predictor.meaning.width;
  const scores = new Float32Array(count * width);
  const kept: DataRecord[] = [];
  const listed: string[] = [];
  let problemCount = 0;
  for (let start = 0; start < count; start += CHUNK_ROWS) {
    const end = Math.min(count, start + CHUNK_ROWS);
    // The model scores records (the predictor's one input form); a chunk of rows becomes records here.
    const records = rowsAsRecords({ table: rows.table, index: rows.index.subarray(start, end) }, columns);
    const { records: valid, problems } = validateRecords(predictor.pipeline, records);
    problemCount += problems.length;
    for (const p of problems.slice(0, LISTED_PROBLEMS - listed.length)) listed.push(`row ${start + p.record + 1}, field "${p.field}": ${p.message}`);
    // Every problem is reported at once: past the first, rows are only checked.
    if (problemCount > 0) continue;
    const onUnseen = options.onUnseen;
    const chunkScores = await predictor.score(valid, onUnseen === undefined ? {} : { onUnseen: (e) => onUnseen({ ...e, row: e.row + start }) });
    scores.set(chunkScores, start * width);
    if (options.keepRecords === true) {
      // The coerced records are ours: the sensitive columns (kept for report slices) go in place.
      for (const column of sensitive) valid.forEach((record, i) => (record[column] = records[i]![column] ?? null));
      for (const record of valid) kept.push(record);
    }
  }
  if (problemCount > 0) {
    throw new UsageError('EVALUATE_INPUT_INVALID', `${problemCount} problem${problemCount === 1 ? '' : 's'} in ${source}`, { problems: listed });
  }
  const evaluation = predictor.meaning.evaluate(yTrue, scores, options.threshold === undefined ? {} : { threshold: options.threshold });
  return { ...evaluation, rows: count, source, yTrue, scores, records: kept, ...(dropped === null ? {} : { dropped }) };
}
