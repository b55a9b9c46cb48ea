import { NotFoundError, UsageError } from '../errors.js';
import type { Predictor } from '../predict/predictor.js';
import { createRng, shuffleInPlace } from '../random.js';
import type { ModelEvaluation } from '../training/evaluate-model.js';
import type { RunStore } from '../tracking/run-store.js';
import { analyzeClassification, analyzeRegression } from './analyze-predictions.js';
import { permutationImportance } from './permutation-importance.js';
import type { HistoryPoint, RunReportData, RunSummary } from './run-report-data.js';

/** An evaluation to report on: the rows themselves are optional (recorded predictions have none). */
export type ReportEvaluation = Omit<ModelEvaluation, 'records'> & { readonly records?: ModelEvaluation['records'] };

/**
 * Columns the fairness view slices by for a bundle whose task predates `sensitive` (the
 * income model then took sex and race as inputs). A task's own `sensitive` list wins.
 */
export const LEGACY_SLICE_COLUMNS: readonly string[] = ['sex', 'race'];

/** The columns a report slices by unless told: the task's sensitive ones. */
export function defaultSliceColumns(task: { readonly sensitive?: readonly string[]; readonly features: { readonly columns: readonly { readonly column: string }[] } }): readonly string[] {
  if (task.sensitive !== undefined) return task.sensitive;
  const inputs = new Set(task.features.columns.map((c) => c.column));
  return LEGACY_SLICE_COLUMNS.filter((c) => inputs.has(c));
}

export interface CollectRunReportOptions {
  /** The tracking store the run is read from. */
  readonly runs: Pick<RunStore, 'getRun' | 'getMetricHistory'>;
  /** The reference as the user typed it, and the bundle it resolved to. */
  readonly modelRef: string;
  /** The run that produced the model, when known (the resolver's or the manifest's runId). */
  readonly runId: string | null;
  readonly predictor: Predictor;
  /** The model evaluated on its test rows; without records, no slices and no importance. */
  readonly evaluation: ReportEvaluation;
  /** What the report could not show and why, printed at its top. */
  readonly limitations?: readonly string[];
  readonly mlctlVersion: string;
  readonly sliceColumns?: readonly string[];
  /** Permutation importance settings, or false to skip it. */
  readonly importance?: false | { readonly seed?: number; readonly repeats?: number; readonly maxRows?: number };
  readonly now?: () => Date;
  readonly onProgress?: (message: string) => void;
}

/** Metric histories logged per epoch (the rest are final test metrics). */
export function isEpochMetric(key: string): boolean {
  return key.startsWith('train_') || key.startsWith('val_');
}

/** Reads a run's summary and per-epoch histories; null when the store does not hold it. */
export async function readRunForReport(
  store: Pick<RunStore, 'getRun' | 'getMetricHistory'>,
  runId: string,
): Promise<{ summary: RunSummary; histories: Record<string, readonly HistoryPoint[]> } | null> {
  let record;
  try {
    record = await store.getRun(runId);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
  const { info } = record;
  const histories: Record<string, readonly HistoryPoint[]> = {};
  for (const key of Object.keys(record.metrics).filter(isEpochMetric).sort()) {
    histories[key] = (await store.getMetricHistory(info.id, key)).map((p) => ({ step: p.step, value: p.value, timestamp: p.timestamp }));
  }
  const start = Date.parse(info.startTime);
  const end = info.endTime === null ? Number.NaN : Date.parse(info.endTime);
  return {
    summary: {
      id: info.id,
      name: info.name,
      experiment: info.experiment,
      status: info.status,
      ...(record.statusDetail === undefined ? {} : { statusDetail: record.statusDetail }),
      startTime: info.startTime,
      endTime: info.endTime,
      durationMs: Number.isFinite(end - start) ? end - start : null,
      gitCommit: info.gitCommit,
      commandLine: info.commandLine,
      task: info.task,
      datasetSha256: info.datasetSha256,
      backend: info.backend,
      params: record.params,
      tags: record.tags,
      metrics: record.metrics,
    },
    histories,
  };
}

/**
 * Gathers a run report: the run's record and histories from the store, curves, threshold
 * table and slices from the evaluation, and permutation importance by re-scoring shuffled
 * copies of the evaluated rows with the predictor.
 */
export async function collectRunReport(options: CollectRunReportOptions): Promise<RunReportData> {
  const { predictor, evaluation } = options;
  const manifest = predictor.manifest;
  const task = manifest.task;
  const inputColumns = task.features.columns.map((c) => c.column);
  const sliceable = [...inputColumns, ...(task.sensitive ?? [])];
  const unknownSlices = (options.sliceColumns ?? []).filter((c) => !sliceable.includes(c));
  if (unknownSlices.length > 0) {
    throw new UsageError('REPORT_SLICE_UNKNOWN', `cannot slice by ${unknownSlices.map((c) => `"${c}"`).join(', ')}: neither an input nor a sensitive column of the ${task.name} model`, {
      hint: `its input columns are ${inputColumns.join(', ')}${(task.sensitive ?? []).length > 0 ? `; its sensitive columns ${task.sensitive!.join(', ')}` : ''}`,
    });
  }
  const run = options.runId === null ? null : await readRunForReport(options.runs, options.runId);
  const output = manifest.output;
  const meaning = predictor.meaning;

  const classification =
    output.kind === 'binary-probability'
      ? analyzeClassification({
          yTrue: evaluation.yTrue,
          scores: evaluation.scores,
          records: evaluation.records,
          sliceColumns: options.sliceColumns ?? defaultSliceColumns(task),
          threshold: evaluation.threshold ?? output.threshold,
          positiveLabel: output.positiveLabel,
          negativeLabel: output.negativeLabel,
        })
      : null;
  const regression =
    output.kind === 'regression'
      ? analyzeRegression({
          target: output.target,
          actual: Array.from(evaluation.yTrue, (_, i) => meaning.valueOf(evaluation.yTrue, i)),
          predicted: Array.from(evaluation.scores, (_, i) => meaning.valueOf(evaluation.scores, i)),
        })
      : null;

  let importance = null;
  const records = evaluation.records;
  if (options.importance !== false && records !== undefined) {
    const settings = options.importance ?? {};
    const seed = settings.seed ?? task.split.seed;
    const sample = sampleRows(records, evaluation.yTrue, settings.maxRows, seed);
    const metric = { name: meaning.headline.name, compute: (y: ArrayLike<number>, s: Float32Array) => meaning.headline.score(y, s) };
    importance = await permutationImportance({
      records: sample.records,
      yTrue: sample.yTrue,
      columns: inputColumns,
      score: (records) => predictor.score(records),
      metric,
      seed,
      // One shuffle of a few hundred rows is mostly noise; repeat and average on small sets.
      repeats: settings.repeats ?? (sample.records.length < 2000 ? 5 : 1),
      onColumn: (column, done, total) => options.onProgress?.(`permutation importance: ${column} (${done}/${total})`),
    });
  }

  return {
    generatedAt: (options.now?.() ?? new Date()).toISOString(),
    mlctlVersion: options.mlctlVersion,
    run: run?.summary ?? null,
    model: {
      ref: options.modelRef,
      bundleDir: predictor.dir,
      task: task.name,
      problemType: manifest.problemType,
      modelFamily: manifest.modelFamily,
      backend: manifest.backend,
      createdAt: manifest.createdAt,
      mlctlVersion: manifest.mlctlVersion,
      dataset: manifest.dataset,
      featureCount: manifest.featureNames.length,
      fitted: manifest.model,
    },
    histories: run?.histories ?? {},
    evaluation: {
      source: evaluation.source,
      rows: evaluation.rows,
      metrics: evaluation.metrics,
      threshold: evaluation.threshold ?? null,
      confusion: evaluation.confusion ?? null,
      classes: evaluation.classes ?? null,
    },
    classification,
    regression,
    importance,
    limitations: options.limitations ?? [],
  };
}

/** At most `maxRows` of the evaluated rows, chosen by a seeded shuffle; all of them by default. */
function sampleRows(
  records: ModelEvaluation['records'],
  yTrue: Float32Array,
  maxRows: number | undefined,
  seed: number,
): { records: ModelEvaluation['records']; yTrue: Float32Array } {
  const n = records.length;
  if (maxRows === undefined || maxRows >= n) return { records, yTrue };
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  shuffleInPlace(order, createRng(seed));
  const picked = Array.from(order.subarray(0, maxRows)).sort((a, b) => a - b);
  return { records: picked.map((i) => records[i]!), yTrue: Float32Array.from(picked, (i) => yTrue[i]!) };
}
