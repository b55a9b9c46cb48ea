import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { forEachBounded } from '../storage/bounded.js';
import type { FileTrackingStore } from './file-tracking-store.js';
import { readOptionalJson } from './run-files.js';
import { openIndexFor } from './run-index.js';
import type { TrackingStore } from './tracking-store.js';

/** Runs imported at once. */
const IMPORT_CONCURRENCY = 4;

export interface ImportProgress {
  readonly done: number;
  readonly total: number;
  readonly runId: string;
}

export interface TrackingImportResult {
  readonly source: string;
  readonly target: string;
  readonly runs: { readonly imported: number; readonly present: number; readonly total: number };
  readonly metricPoints: number;
  readonly models: { readonly imported: readonly string[]; readonly present: readonly string[] };
  /** Runs left out, and why (unreadable; still being written). */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
  readonly seconds: number;
}

/**
 * Copies a file store (runs with their histories and artifacts, the registry with its
 * aliases and audit log) into `target` as recorded: same run ids, times and version numbers.
 * Runs first, so each version's run is there when the registry arrives. Running it again adds
 * nothing; a run still being written is left for a later import.
 */
export async function importFileStore(
  source: FileTrackingStore,
  target: TrackingStore,
  options: { readonly signal?: AbortSignal; readonly onRun?: (progress: ImportProgress) => void } = {},
): Promise<TrackingImportResult> {
  const started = performance.now();
  const importer = target.importer;
  if (importer === undefined) {
    throw new UsageError('TRACKING_IMPORT_TARGET', `cannot import into ${target.location}: it is a file store too`, {
      hint: 'set MLCTL_TRACKING_URI=postgresql://… (and MLCTL_ARTIFACT_URI=s3://…) to import into a shared store',
    });
  }
  const root = source.files.root;
  if (!existsSync(root)) throw new UsageError('TRACKING_IMPORT_SOURCE', `${root} does not exist`, { hint: 'give the folder of a file store, e.g. ./runs' });
  const index = openIndexFor(source.files);
  let listed;
  let unreadable = 0;
  try {
    unreadable = index.refresh().broken;
    listed = index.query({ lifecycle: 'all' }).runs;
  } finally {
    index.close();
  }
  const skipped: { path: string; reason: string }[] = [];
  if (unreadable > 0) skipped.push({ path: root, reason: `${unreadable} run folder(s) could not be read; see \`mlctl runs verify\`` });
  // Oldest first, as they were made.
  const runs = [...listed].reverse();
  const experiments = new Map<string, string | null>();
  let imported = 0;
  let present = 0;
  let metricPoints = 0;
  for (const run of runs) {
    if (run.info.status === 'RUNNING') skipped.push({ path: `${run.info.experiment}/${run.info.id}`, reason: 'still running: import again once it has ended' });
    if (!experiments.has(run.info.experiment)) {
      const meta = (await readOptionalJson(join(root, run.info.experiment, 'experiment.json')).catch(() => undefined)) as { createdTime?: unknown } | undefined;
      experiments.set(run.info.experiment, typeof meta?.createdTime === 'string' ? meta.createdTime : null);
    }
  }
  let done = 0;
  // A few runs at once: each is a handful of statements and uploads, and the pool has connections to spare.
  await forEachBounded(
    runs.filter((run) => run.info.status !== 'RUNNING'),
    IMPORT_CONCURRENCY,
    async (run) => {
      const histories = await source.getMetricHistories(run.info.id);
      const artifactsDir = join(run.dir, 'artifacts');
      const added = await importer.importRun(
        {
          // As run.json records it: a run whose process died is RUNNING there (shown FAILED).
          info: run.statusDetail === undefined ? run.info : { ...run.info, status: (await readRecordedStatus(run.dir)) ?? run.info.status },
          params: run.params,
          tags: run.tags,
          metrics: run.metrics,
          histories,
          deletedTime: run.deleted ? await deletedTime(run.dir) : null,
          artifactsDir: existsSync(artifactsDir) ? artifactsDir : null,
          experimentCreated: experiments.get(run.info.experiment) ?? null,
        },
        options.signal === undefined ? {} : { signal: options.signal },
      );
      if (added) {
        imported += 1;
        metricPoints += Object.values(histories).reduce((sum, points) => sum + points.length, 0);
      } else present += 1;
      done += 1;
      options.onRun?.({ done, total: runs.length, runId: run.info.id });
    },
    options.signal,
  );
  const models = { imported: [] as string[], present: [] as string[] };
  for (const model of await source.registry.list()) {
    const outcome = await importer.importModel(model, await source.registry.auditLog(model.name));
    models[outcome].push(model.name);
  }
  return {
    source: root,
    target: target.location,
    runs: { imported, present, total: runs.length },
    metricPoints,
    models,
    skipped,
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

/** The status run.json records (the index shows a dead RUNNING run as FAILED). */
async function readRecordedStatus(dir: string): Promise<'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED' | undefined> {
  const raw = (await readOptionalJson(join(dir, 'run.json')).catch(() => undefined)) as { status?: unknown } | undefined;
  const status = raw?.status;
  return status === 'RUNNING' || status === 'FINISHED' || status === 'FAILED' || status === 'KILLED' ? status : undefined;
}

async function deletedTime(dir: string): Promise<string> {
  const raw = (await readOptionalJson(join(dir, 'deleted.json')).catch(() => undefined)) as { deletedTime?: unknown } | undefined;
  return typeof raw?.deletedTime === 'string' ? raw.deletedTime : new Date().toISOString();
}
