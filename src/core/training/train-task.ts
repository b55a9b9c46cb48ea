import { join } from 'node:path';
import { writeJsonAtomic, writeFileAtomic } from '../fs/atomic.js';
import { summarizePipeline } from '../features/pipeline.js';
import { pipelineInputSchema } from '../features/record-validation.js';
import type { PipelineSummary } from '../features/pipeline-spec.js';
import { getModelFamily } from '../models/model-families.js';
import type { IterationReport, ModelSummary } from '../models/model-family.js';
import { writeBundle } from '../bundle/model-bundle.js';
import { buildReferenceProfile } from '../monitoring/reference-profile.js';
import type { BundleManifest } from '../bundle/bundle-manifest.js';
import type { Evaluation, OutputMeaning } from '../bundle/output-meaning.js';
import type { ParamValue, RunStore } from '../tracking/run-store.js';
import type { QualityGate, TaskSpec } from '../tasks/task-spec.js';
import { rowsAsRecords, selectRows } from '../datasets/data-table.js';
import { subsetRows } from '../features/feature-rows.js';
import { seededSample } from '../features/split.js';
import { loadTaskData, type DroppedRows, type TaskDataOptions } from './task-data.js';
import { prepareSets, type PreparePhase } from './prepare-sets.js';
import { scoreRows } from './score-rows.js';

export type TrainPhase = 'load' | 'preprocess' | 'fit' | 'evaluate' | 'save';

export interface TrainTaskOptions {
  readonly task: TaskSpec;
  readonly runStore: RunStore;
  readonly experiment?: string;
  readonly runName?: string;
  readonly commandLine: string;
  readonly gitCommit: string | null;
  readonly mlctlVersion: string;
  readonly data: TaskDataOptions;
  readonly backend?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  readonly clock?: () => number;
  readonly onRunCreated?: (run: { id: string; name: string; location: string }) => void;
  readonly onPhase?: (phase: TrainPhase, ms: number) => void;
  /** Told of rows left out for a missing or unparseable target (also tagged on the run). */
  readonly onDroppedRows?: (dropped: DroppedRows) => void;
  readonly onIteration?: (report: IterationReport) => void;
  /** Told how far a long step has come: bytes of a file read, test rows scored; a preparation step as it starts (done 0 of 1). */
  readonly onProgress?: (progress: TrainProgress) => void;
}

/** Progress within a phase, for a progress line. */
export interface TrainProgress {
  readonly phase: 'read' | PreparePhase | 'evaluate';
  /** Bytes for 'read' (of the file named by `file`), rows for 'evaluate'. */
  readonly done: number;
  readonly total: number;
  readonly file?: string;
  /** Rows read so far ('read'). */
  readonly rows?: number;
}

export interface GateResult extends QualityGate {
  readonly value: number | null;
  readonly passed: boolean;
}

export interface TrainTaskResult {
  /** `location`: where the store keeps the run (its folder, or its artifact location). */
  readonly run: { readonly id: string; readonly name: string; readonly location: string; readonly experiment: string };
  readonly task: string;
  /** The bundle as written on this machine. */
  readonly bundleDir: string;
  /** Where the store keeps the bundle: the same folder (file store), or its artifact location (…/artifacts/model). */
  readonly bundleUri: string;
  readonly backend: string;
  readonly modelFamily: string;
  readonly rows: { readonly train: number; readonly validation: number; readonly test: number };
  readonly testSource: 'file' | 'split';
  /** Rows left out before the split for a missing or unparseable target, per file. */
  readonly dropped: readonly DroppedRows[];
  readonly pipeline: PipelineSummary;
  readonly evaluation: Evaluation;
  readonly gates: readonly GateResult[];
  /** Milliseconds per phase. */
  readonly timings: Readonly<Record<TrainPhase, number>>;
  /** Training rows times iterations run, per second of fitting. */
  readonly trainingRowsPerSecond: number;
  /** What the model family says about the fitted model. */
  readonly model: ModelSummary;
  readonly featureNames: readonly string[];
  /** One test row, as a record `mlctl predict` takes (for the hint printed after training). */
  readonly exampleRecord: Readonly<Record<string, unknown>> | null;
}

export function checkGates(gates: readonly QualityGate[], metrics: Readonly<Record<string, number>>): GateResult[] {
  return gates.map((gate) => {
    const value = metrics[gate.metric];
    const passed =
      value !== undefined && Number.isFinite(value) && (gate.min === undefined || value >= gate.min) && (gate.max === undefined || value <= gate.max);
    return { ...gate, value: value ?? null, passed };
  });
}

function flattenParams(task: TaskSpec): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {
    task: task.name,
    dataset: task.dataset,
    target: task.target.column,
    problem_type: task.problemType,
    model_family: task.model.family,
    seed: task.split.seed,
    validation_fraction: task.split.validation,
  };
  for (const [key, value] of Object.entries(task.model.params)) {
    params[key] = Array.isArray(value) ? value.join(',') : (value as ParamValue);
  }
  return params;
}

/** The test rows and raw outputs as CSV: y and the prediction (one probability column per class for multiclass). */
function testPredictionsCsv(meaning: OutputMeaning, y: Float32Array, raw: Float32Array): string {
  const width = meaning.width;
  const header = width === 1 ? 'y,prediction' : `y,${meaning.labels.map((_, k) => `p${k}`).join(',')}`;
  const lines = new Array<string>(y.length);
  for (let i = 0; i < y.length; i++) lines[i] = `${y[i]},${Array.from(raw.subarray(i * width, (i + 1) * width)).join(',')}`;
  return `${header}\n${lines.join('\n')}\n`;
}

/**
 * The whole training path: load and verify the data, fit the preprocessing on training rows
 * only, fit the model with early stopping on a seeded stratified validation split, evaluate on
 * the test rows, write the bundle and record everything in a run. The data are read and
 * checked first (bad input starts no run); the run is created next and ended FAILED (or
 * KILLED on interrupt) if anything after throws, so a crash never looks finished.
 */
export async function trainTask(options: TrainTaskOptions): Promise<TrainTaskResult> {
  const { task } = options;
  const clock = options.clock ?? (() => performance.now());
  const experiment = options.experiment ?? task.name;
  const timings: Record<TrainPhase, number> = { load: 0, preprocess: 0, fit: 0, evaluate: 0, save: 0 };
  let phaseStart = clock();
  const endPhase = (phase: TrainPhase): void => {
    const now = clock();
    timings[phase] = now - phaseStart;
    phaseStart = now;
    options.onPhase?.(phase, timings[phase]);
  };
  const family = getModelFamily(task.model.family);
  const onProgress = options.onProgress;
  // The data are read and checked before the run is created: a malformed line deep in a large
  // file (or an interrupt while reading) stops here, and no run is started.
  const data = await loadTaskData(task, {
    ...options.data,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(onProgress === undefined ? {} : { onRead: (file: string, read: { bytes: number; totalBytes: number; rows: number }) => onProgress({ phase: 'read', done: read.bytes, total: read.totalBytes, file, rows: read.rows }) }),
  });
  const run = await options.runStore.createRun({
    experiment,
    task: task.name,
    commandLine: options.commandLine,
    gitCommit: options.gitCommit,
    ...(options.runName === undefined ? {} : { name: options.runName }),
    ...(options.tags === undefined ? {} : { tags: options.tags }),
  });
  const runInfo = await options.runStore.getRun(run.id);
  options.onRunCreated?.({ id: run.id, name: runInfo.info.name, location: run.location });

  try {
    const datasetSha256 = Object.values(data.files).join(',');
    await run.updateInfo({ datasetSha256 });
    const dropped = data.dropped ?? [];
    if (dropped.length > 0) {
      for (const d of dropped) options.onDroppedRows?.(d);
      await run.setTags({
        'mlctl.dropped_target_rows': String(dropped.reduce((sum, d) => sum + d.count, 0)),
        'mlctl.dropped_target_lines': dropped.map((d) => `${d.file}: ${d.lines.join(', ')}${d.count > d.lines.length ? ', …' : ''}`).join('; '),
      });
    }
    endPhase('load');

    const sets = prepareSets(task, data, family.adaptFeatures?.(task.features, task.model.params) ?? task.features, (phase) => onProgress?.({ phase, done: 0, total: 1 }));
    const { pipeline, meaning } = sets;
    endPhase('preprocess');

    // Logged before fitting, so a run killed mid-fit still says what it was trying.
    await run.logParams(flattenParams(task));
    const fitted = await family.fit(sets.train, sets.validation, task.model.params, {
      problemType: task.problemType,
      classes: Math.max(meaning.labels.length, 1),
      seed: task.split.seed,
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onIteration: async (report) => {
        await run.logMetrics(report.metrics, report.iteration);
        options.onIteration?.(report);
      },
    });
    await run.updateInfo({ backend: fitted.backend });
    await run.logParams({ backend: fitted.backend });
    endPhase('fit');

    // The test rows are scored by the same scorer predict, evaluate and serve load, so the
    // metrics recorded here are the ones those commands reproduce.
    const scorer = await family.load(fitted.files, { width: sets.test.x.cols, ...(options.backend === undefined ? {} : { backend: options.backend }) });
    const profiled = profileSample(sets.trainRows.index.length, task.split.seed);
    const trainOutputs = await scoreRows(scorer, profiled.length === sets.train.x.rows ? sets.train.x : subsetRows(sets.train.x, profiled));
    const predictions = await scoreRows(scorer, sets.test.x, (done, total) => onProgress?.({ phase: 'evaluate', done, total }));
    scorer.dispose();
    const evaluation = meaning.evaluate(sets.test.y, predictions);
    const iterationsRun = fitted.summary.iterations?.run ?? 1;
    await run.logMetrics(evaluation.metrics, iterationsRun);
    const gates = checkGates(task.gates, evaluation.metrics);
    endPhase('evaluate');

    const bundleDir = join(run.artifactsDir, 'model');
    const manifest: Omit<BundleManifest, 'files' | 'kind' | 'formatVersion'> = {
      task,
      problemType: task.problemType,
      modelFamily: family.name,
      backend: fitted.backend,
      createdAt: new Date().toISOString(),
      mlctlVersion: options.mlctlVersion,
      runId: run.id,
      inputSchema: pipelineInputSchema(pipeline),
      output: data.output,
      featureNames: pipeline.featureNames,
      metrics: evaluation.metrics,
      model: fitted.summary,
      dataset: { name: data.dataset, files: data.files },
    };
    await writeBundle(bundleDir, {
      manifest,
      pipeline,
      modelFiles: fitted.files,
      profile: buildReferenceProfile({
        pipeline,
        records: rowsAsRecords(selectRows(sets.trainRows, profiled), pipeline.columns.map((column) => column.column)),
        meaning,
        outputs: trainOutputs,
        bins: task.monitoring?.bins,
      }),
    });
    await writeJsonAtomic(join(run.artifactsDir, 'evaluation.json'), {
      split: data.testSource === 'file' ? 'test file' : `held out ${task.split.test}`,
      rows: data.test.index.length,
      unseenCategories: sets.unseenInTest,
      ...evaluation,
    });
    // y and prediction per test row: reports draw ROC, calibration and residual plots from it.
    await writeFileAtomic(join(run.artifactsDir, 'test-predictions.csv'), testPredictionsCsv(meaning, sets.test.y, predictions));
    const summary = summarizePipeline(pipeline);
    await run.setTags({
      'mlctl.gates': gates.every((g) => g.passed) ? 'passed' : 'failed',
      'mlctl.stopped_early': String(fitted.summary.iterations?.stoppedEarly ?? false),
    });
    endPhase('save');
    await run.end('FINISHED');

    return {
      run: { id: run.id, name: runInfo.info.name, location: run.location, experiment },
      task: task.name,
      bundleDir,
      bundleUri: `${run.artifactUri.replace(/\/+$/, '')}/model`,
      backend: fitted.backend,
      modelFamily: family.name,
      rows: sets.rows,
      testSource: data.testSource,
      dropped: data.dropped ?? [],
      pipeline: summary,
      evaluation,
      gates,
      timings,
      trainingRowsPerSecond: timings.fit > 0 ? (sets.rows.train * iterationsRun) / (timings.fit / 1000) : 0,
      model: fitted.summary,
      featureNames: pipeline.featureNames,
      exampleRecord: data.test.index.length === 0 ? null : exampleRecordOf(task, rowsAsRecords(selectRows(data.test, [0]), task.features.columns.map((c) => c.column))[0]),
    };
  } catch (error) {
    await run.end(options.signal?.aborted === true ? 'KILLED' : 'FAILED').catch(() => {});
    throw error;
  }
}

/**
 * Training rows the reference profile describes: all of them up to this many, else a seeded
 * sample of this many (its quantile cut points and shares are those of the whole within
 * sampling error, and its records stay a bounded cost however large the data).
 */
const PROFILE_ROWS = 200_000;

function profileSample(rows: number, seed: number): Uint32Array {
  return seededSample(rows, PROFILE_ROWS, seed);
}

/** A test row as a predict record: the task's input columns, missing values as null. */
function exampleRecordOf(task: TaskSpec, row: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | null {
  if (row === undefined) return null;
  return Object.fromEntries(task.features.columns.map((c) => [c.column, row[c.column] ?? null]));
}
