import { join } from 'node:path';
import { writeJsonAtomic, writeFileAtomic } from '../fs/atomic.js';
import { summarizePipeline } from '../features/pipeline.js';
import { pipelineInputSchema } from '../features/record-validation.js';
import type { PipelineSummary } from '../features/pipeline-spec.js';
import { getModelFamily } from '../models/model-families.js';
import type { EpochReport } from '../models/model-family.js';
import { writeBundle } from '../bundle/model-bundle.js';
import type { BundleManifest, OutputDescription } from '../bundle/bundle-manifest.js';
import type { ParamValue, RunStore } from '../tracking/run-store.js';
import type { QualityGate, TaskSpec } from '../tasks/task-spec.js';
import { loadTaskData, type TaskDataOptions } from './task-data.js';
import { prepareSets } from './prepare-sets.js';
import { evaluatePredictions, type Evaluation } from './evaluation.js';

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
  readonly onRunCreated?: (run: { id: string; name: string; dir: string }) => void;
  readonly onPhase?: (phase: TrainPhase, ms: number) => void;
  readonly onEpoch?: (report: EpochReport) => void;
}

export interface GateResult extends QualityGate {
  readonly value: number | null;
  readonly passed: boolean;
}

export interface TrainTaskResult {
  readonly run: { readonly id: string; readonly name: string; readonly dir: string; readonly experiment: string };
  readonly task: string;
  readonly bundleDir: string;
  readonly backend: string;
  readonly modelFamily: string;
  readonly rows: { readonly train: number; readonly validation: number; readonly test: number };
  readonly testSource: 'file' | 'split';
  readonly pipeline: PipelineSummary;
  readonly epochsRun: number;
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  readonly evaluation: Evaluation;
  readonly gates: readonly GateResult[];
  /** Milliseconds per phase. */
  readonly timings: Readonly<Record<TrainPhase, number>>;
  readonly trainingRowsPerSecond: number;
  readonly model: Record<string, unknown>;
  readonly featureNames: readonly string[];
}

export function checkGates(gates: readonly QualityGate[], metrics: Readonly<Record<string, number>>): GateResult[] {
  return gates.map((gate) => {
    const value = metrics[gate.metric];
    const passed =
      value !== undefined && Number.isFinite(value) && (gate.min === undefined || value >= gate.min) && (gate.max === undefined || value <= gate.max);
    return { ...gate, value: value ?? null, passed };
  });
}

function flattenParams(task: TaskSpec, backend: string): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {
    task: task.name,
    dataset: task.dataset,
    model_family: task.model.family,
    seed: task.split.seed,
    validation_fraction: task.split.validation,
    backend,
  };
  for (const [key, value] of Object.entries(task.model.params)) {
    params[key] = Array.isArray(value) ? value.join(',') : (value as ParamValue);
  }
  return params;
}

function outputDescription(task: TaskSpec): OutputDescription {
  if (task.problemType === 'regression') return { kind: 'regression', target: task.target.column, transform: task.target.transform ?? null };
  return {
    kind: 'binary-probability',
    target: task.target.column,
    positiveLabel: task.target.positiveLabel ?? '1',
    negativeLabel: task.target.negativeLabel ?? '0',
    threshold: 0.5,
  };
}

/**
 * The whole training path: load and verify the data, fit the preprocessing on training rows
 * only, fit the model with early stopping on a seeded stratified validation split, evaluate on
 * the test rows, write the bundle and record everything in a run. The run is created first
 * and ended FAILED (or KILLED on interrupt) if anything throws, so a crash never looks finished.
 */
export async function trainTask(options: TrainTaskOptions): Promise<TrainTaskResult> {
  const { task } = options;
  const clock = options.clock ?? (() => performance.now());
  const experiment = options.experiment ?? task.name;
  const run = await options.runStore.createRun({
    experiment,
    task: task.name,
    commandLine: options.commandLine,
    gitCommit: options.gitCommit,
    ...(options.runName === undefined ? {} : { name: options.runName }),
    ...(options.tags === undefined ? {} : { tags: options.tags }),
  });
  const runInfo = await options.runStore.getRun(run.id);
  options.onRunCreated?.({ id: run.id, name: runInfo.info.name, dir: run.dir });
  const timings: Record<TrainPhase, number> = { load: 0, preprocess: 0, fit: 0, evaluate: 0, save: 0 };
  let phaseStart = clock();
  const endPhase = (phase: TrainPhase): void => {
    const now = clock();
    timings[phase] = now - phaseStart;
    phaseStart = now;
    options.onPhase?.(phase, timings[phase]);
  };

  try {
    const data = await loadTaskData(task, { ...options.data, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    const datasetSha256 = Object.values(data.files).join(',');
    await run.updateInfo({ datasetSha256 });
    endPhase('load');

    const sets = prepareSets(task, data);
    const { pipeline } = sets;
    endPhase('preprocess');

    const family = await getModelFamily<TaskSpec['model']['params']>(task.model.family);
    const fitted = await family.fit(sets.train, sets.validation, task.model.params, {
      problemType: task.problemType,
      seed: task.split.seed,
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onEpoch: async (report) => {
        await run.logMetrics(report.metrics, report.epoch);
        options.onEpoch?.(report);
      },
    });
    const backendUsed = fitted.model.backend;
    await run.updateInfo({ backend: backendUsed });
    await run.logParams(flattenParams(task, backendUsed));
    endPhase('fit');

    const predictions = await fitted.model.predict(sets.test.x);
    const evaluation = evaluatePredictions(task.problemType, sets.test.y, predictions, task.target.transform);
    await run.logMetrics(evaluation.metrics, fitted.epochsRun);
    const gates = checkGates(task.gates, evaluation.metrics);
    endPhase('evaluate');

    const bundleDir = join(run.artifactsDir, 'model');
    const manifest: Omit<BundleManifest, 'files' | 'kind' | 'formatVersion'> = {
      task,
      problemType: task.problemType,
      modelFamily: task.model.family,
      backend: backendUsed,
      createdAt: new Date().toISOString(),
      mlctlVersion: options.mlctlVersion,
      runId: run.id,
      inputSchema: pipelineInputSchema(pipeline),
      output: outputDescription(task),
      featureNames: pipeline.featureNames,
      metrics: evaluation.metrics,
      model: fitted.model.describe(),
      dataset: { name: data.dataset, files: data.files },
    };
    await writeBundle(bundleDir, { manifest, pipeline, modelFiles: await fitted.model.serialize() });
    await writeJsonAtomic(join(run.artifactsDir, 'evaluation.json'), {
      split: data.testSource === 'file' ? 'test file' : `held out ${task.split.test}`,
      rows: data.test.length,
      unseenCategories: sets.unseenInTest,
      ...evaluation,
    });
    // y and prediction per test row: reports draw ROC, calibration and residual plots from it.
    await writeFileAtomic(
      join(run.artifactsDir, 'test-predictions.csv'),
      `y,prediction\n${Array.from(sets.test.y, (y, i) => `${y},${predictions[i]}`).join('\n')}\n`,
    );
    const summary = summarizePipeline(pipeline);
    await run.setTags({
      'mlctl.gates': gates.every((g) => g.passed) ? 'passed' : 'failed',
      'mlctl.stopped_early': String(fitted.stoppedEarly),
    });
    endPhase('save');
    fitted.model.dispose();
    await run.end('FINISHED');

    return {
      run: { id: run.id, name: runInfo.info.name, dir: run.dir, experiment },
      task: task.name,
      bundleDir,
      backend: backendUsed,
      modelFamily: task.model.family,
      rows: sets.rows,
      testSource: data.testSource,
      pipeline: summary,
      epochsRun: fitted.epochsRun,
      bestEpoch: fitted.bestEpoch,
      stoppedEarly: fitted.stoppedEarly,
      evaluation,
      gates,
      timings,
      trainingRowsPerSecond: timings.fit > 0 ? (sets.rows.train * fitted.epochsRun) / (timings.fit / 1000) : 0,
      model: fitted.model.describe(),
      featureNames: pipeline.featureNames,
    };
  } catch (error) {
    await run.end(options.signal?.aborted === true ? 'KILLED' : 'FAILED').catch(() => {});
    throw error;
  }
}
