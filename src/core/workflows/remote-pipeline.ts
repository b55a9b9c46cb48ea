import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, UsageError } from '../errors.js';
import { sha256 } from '../fs/hash.js';
import type { DataRecord } from '../datasets/dataset-spec.js';
import { getDatasetSpec, isBuiltinDataset } from '../datasets/dataset-registry.js';
import { ensureDataset, type DatasetStoreOptions } from '../datasets/dataset-store.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { LocalArtifactStore } from '../storage/local-artifact-store.js';
import { syncStores } from '../storage/sync.js';
import { loadPredictor } from '../predict/predictor.js';
import type { RunStore } from '../tracking/run-store.js';
import type { TaskSpec } from '../tasks/task-spec.js';
import { evaluateModel } from '../training/evaluate-model.js';
import { rowsAsRecords } from '../datasets/data-table.js';
import { loadTaskData, taskColumns } from '../training/task-data.js';
import { trainTask, type TrainTaskResult } from '../training/train-task.js';

/**
 * The seed's two lambdas as one re-runnable pipeline over any S3-compatible store:
 *   ingest — dataset from the remote → train → bundle and raw test split to the remote;
 *   score  — bundle and test split read back from the remote → metrics → score.json.
 * Remote layout under the store's root:
 *   data/<dataset file>                     the dataset the pipeline trains on
 *   models/<task>/<run-id>/…                 the model bundle (manifest.json written last)
 *   splits/<task>/<run-id>/test.csv          the raw test rows, target included
 *   scores/<task>/<run-id>.json              the score (written only once computed)
 * A failed step leaves nothing that looks complete: a bundle counts once its manifest is
 * there, a split and a score are single atomic objects.
 */
export type PipelineStep = 'seed-data' | 'ingest' | 'upload' | 'score';

export interface StepEvent {
  readonly step: PipelineStep;
  readonly status: 'started' | 'done' | 'skipped';
  readonly detail: string;
  readonly ms: number;
}

export interface RemotePipelineOptions {
  readonly task: TaskSpec;
  /** The remote root: the artifact store at s3://bucket/prefix (openArtifactStore). */
  readonly remote: ArtifactStore;
  readonly runStore: RunStore;
  readonly dataset: DatasetStoreOptions;
  readonly commandLine: string;
  readonly gitCommit: string | null;
  readonly mlctlVersion: string;
  /** Re-run only the score step for this run (its bundle and split must be on the remote). */
  readonly scoreRunId?: string;
  readonly signal?: AbortSignal;
  readonly onStep?: (event: StepEvent) => void;
  readonly onIteration?: Parameters<typeof trainTask>[0]['onIteration'];
}

export interface PipelineScore {
  readonly task: string;
  readonly runId: string;
  readonly rows: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly model: string;
  readonly split: string;
  readonly computedAt: string;
}

export interface RemotePipelineResult {
  readonly remote: string;
  readonly runId: string;
  readonly training: TrainTaskResult | null;
  readonly objects: { readonly dataset: string; readonly bundle: string; readonly split: string; readonly score: string };
  readonly score: PipelineScore;
  readonly steps: readonly StepEvent[];
}

function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function recordsToCsv(records: readonly DataRecord[], columns: readonly string[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const record of records) lines.push(columns.map((c) => csvCell(record[c] ?? null)).join(','));
  return `${lines.join('\n')}\n`;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function putBytes(store: ArtifactStore, key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  await store.put(key, once(bytes), { size: bytes.byteLength, sha256: sha256(bytes), ...(signal === undefined ? {} : { signal }) });
}

async function getBytes(store: ArtifactStore, key: string, signal?: AbortSignal): Promise<Uint8Array> {
  const body = await store.get(key, signal);
  const chunks: Uint8Array[] = [];
  for await (const chunk of body.chunks) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function runRemotePipeline(options: RemotePipelineOptions): Promise<RemotePipelineResult> {
  const { task, remote, signal } = options;
  const steps: StepEvent[] = [];
  const step = async <T>(name: PipelineStep, run: () => Promise<{ value: T; detail: string; skipped?: boolean }>): Promise<T> => {
    const started = performance.now();
    options.onStep?.({ step: name, status: 'started', detail: '', ms: 0 });
    const { value, detail, skipped } = await run();
    const event: StepEvent = { step: name, status: skipped === true ? 'skipped' : 'done', detail, ms: performance.now() - started };
    steps.push(event);
    options.onStep?.(event);
    return value;
  };
  const scratch = await mkdtemp(join(tmpdir(), 'mlctl-pipeline-'));
  try {
    const spec = isBuiltinDataset(task.dataset) ? getDatasetSpec(task.dataset) : undefined;
    const trainFile = spec?.files.find((f) => f.role === 'train');
    const datasetName = trainFile?.name ?? 'dataset.csv';
    const datasetKey = `data/${datasetName}`;
    let training: TrainTaskResult | null = null;
    let runId: string;

    if (options.scoreRunId === undefined) {
      // The seed's terraform put housing.csv in the data bucket; do the same when it is absent.
      await step('seed-data', async () => {
        if ((await remote.head(datasetKey, signal)) !== null) return { value: undefined, detail: `${remote.location}${datasetKey} present`, skipped: true };
        if (spec === undefined) throw new NotFoundError('PIPELINE_DATASET_MISSING', `${remote.location}${datasetKey} does not exist`, { hint: 'upload your CSV there first' });
        const local = await ensureDataset(spec, options.dataset);
        const file = local.file('train');
        if (file === undefined) throw new UsageError('DATASET_NO_TRAIN_FILE', `dataset ${spec.name} has no training file`);
        await putBytes(remote, datasetKey, await readFile(file.path), signal);
        return { value: undefined, detail: `uploaded the verified ${file.name} to ${remote.location}${datasetKey}` };
      });

      training = await step('ingest', async () => {
        const localCsv = join(scratch, datasetName);
        await writeFile(localCsv, await getBytes(remote, datasetKey, signal));
        const result = await trainTask({
          task,
          runStore: options.runStore,
          commandLine: options.commandLine,
          gitCommit: options.gitCommit,
          mlctlVersion: options.mlctlVersion,
          data: { ...options.dataset, dataPath: localCsv },
          tags: { 'mlctl.pipeline': 'remote', 'mlctl.remote': remote.location },
          ...(signal === undefined ? {} : { signal }),
          ...(options.onIteration === undefined ? {} : { onIteration: options.onIteration }),
        });
        return { value: result, detail: `trained run ${result.run.id} on ${remote.location}${datasetKey}` };
      });
      runId = training.run.id;

      await step('upload', async () => {
        const bundlePrefix = `models/${task.name}/${runId}`;
        // Everything but the manifest first: a bundle without its manifest is not a bundle.
        const bundleStore = remote.within(bundlePrefix);
        const local = new LocalArtifactStore({ root: (training as TrainTaskResult).bundleDir, exclude: (key) => key === 'manifest.json' });
        await syncStores(local, bundleStore, { ...(signal === undefined ? {} : { signal }) });
        await putBytes(remote, `${bundlePrefix}/manifest.json`, await readFile(join((training as TrainTaskResult).bundleDir, 'manifest.json')), signal);
        const split = await heldOutTestCsv(task, join(scratch, datasetName));
        await putBytes(remote, `splits/${task.name}/${runId}/test.csv`, new TextEncoder().encode(split), signal);
        return { value: undefined, detail: `bundle to ${remote.location}${bundlePrefix}/, test split to ${remote.location}splits/${task.name}/${runId}/test.csv` };
      });
    } else {
      runId = options.scoreRunId;
      if (!/^[A-Za-z0-9_-]+$/.test(runId)) throw new UsageError('INVALID_RUN_ID', `"${runId}" is not a run id`);
    }

    const score = await step('score', async () => {
      const bundlePrefix = `models/${task.name}/${runId}`;
      if ((await remote.head(`${bundlePrefix}/manifest.json`, signal)) === null) {
        throw new NotFoundError('PIPELINE_BUNDLE_MISSING', `no complete bundle at ${remote.location}${bundlePrefix}/`, {
          hint: 'run the whole pipeline (without --score-only) to train and upload one',
        });
      }
      const bundleDir = join(scratch, 'bundle');
      await syncStores(remote.within(bundlePrefix), new LocalArtifactStore({ root: bundleDir }), { ...(signal === undefined ? {} : { signal }) });
      const splitPath = join(scratch, 'test.csv');
      await writeFile(splitPath, await getBytes(remote, `splits/${task.name}/${runId}/test.csv`, signal));
      const predictor = await loadPredictor(bundleDir);
      try {
        const evaluation = await evaluateModel(predictor, { dataPath: splitPath, data: options.dataset });
        const result: PipelineScore = {
          task: task.name,
          runId,
          rows: evaluation.rows,
          metrics: evaluation.metrics,
          model: `${remote.location}${bundlePrefix}/`,
          split: `${remote.location}splits/${task.name}/${runId}/test.csv`,
          computedAt: new Date().toISOString(),
        };
        await putBytes(remote, `scores/${task.name}/${runId}.json`, new TextEncoder().encode(`${JSON.stringify(result, null, 2)}\n`), signal);
        const headline = Object.entries(evaluation.metrics)[0];
        return { value: result, detail: `${headline?.[0]} = ${headline?.[1].toFixed(4)} on ${evaluation.rows} rows read back from the remote` };
      } finally {
        predictor.dispose();
      }
    });
    await remote.flush();
    return {
      remote: remote.location,
      runId,
      training,
      objects: {
        dataset: `${remote.location}${datasetKey}`,
        bundle: `${remote.location}models/${task.name}/${runId}/`,
        split: `${remote.location}splits/${task.name}/${runId}/test.csv`,
        score: `${remote.location}scores/${task.name}/${runId}.json`,
      },
      score,
      steps,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The raw test rows the run held out (same data, same split), target included, as CSV. */
async function heldOutTestCsv(task: TaskSpec, csvPath: string): Promise<string> {
  const data = await loadTaskData(task, { dataDir: tmpdir(), dataPath: csvPath });
  const columns = taskColumns(task).map((c) => c.name);
  return recordsToCsv(rowsAsRecords(data.test, columns), columns);
}
