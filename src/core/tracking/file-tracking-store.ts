import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { GateError, NotFoundError, UsageError } from '../errors.js';
import { sha256File } from '../fs/hash.js';
import { createFileModelRegistry, runBundleDir } from '../registry/file-model-registry.js';
import { createFileRunStore, type FileRunStore, type FileRunStoreOptions } from './file-run-store.js';
import { readMetricLog } from './metric-log.js';
import { ARTIFACTS_DIR, METRICS_DIR, METRIC_SUFFIX } from './run-files.js';
import { openIndexFor, type RefreshStats } from './run-index.js';
import { parseOrderBy, parseRunFilter } from './run-filter.js';
import { validateExperimentName } from './names.js';
import { namedKeys, unknownKeyError, type ListRunsOptions } from './run-operations.js';
import type { FileRunRecord } from './file-run-store.js';
import type { MetricPoint } from './run-store.js';
import { verifyStore } from './run-verify.js';
import { findLeftovers, removeLeftovers } from './store-leftovers.js';
import type { GcResult, RunArtifact, RunRef, TrackingStore } from './tracking-store.js';
import type { ModelRegistry } from '../registry/model-registry.js';

/** The file backend as a TrackingStore, with the file store itself for what only it has. */
export interface FileTrackingStore extends TrackingStore {
  readonly files: FileRunStore;
}

/**
 * The default tracking backend: runs as plain files under a folder (the source of truth, see
 * run-files.ts), a derived SQLite index for queries (run-index.ts), the registry beside them
 * (file-model-registry.ts), and each run's artifacts in its own folder, used in place.
 */
export function createFileTrackingStore(options: FileRunStoreOptions): FileTrackingStore {
  const files = createFileRunStore(options);
  const registry = createFileModelRegistry({ store: files });
  const ref = (location: { id: string; experiment: string }): RunRef => ({ id: location.id, experiment: location.experiment });

  return {
    backend: 'files',
    location: files.root,
    artifactLocation: files.root,
    files,
    registry,
    createRun: (create) => files.createRun(create),
    getRun: (id) => files.getRun(id),
    getMetricHistory: (id, key) => files.getMetricHistory(id, key),

    async getMetricHistories(id) {
      const location = await files.locateRun(id);
      const dir = join(location.dir, METRICS_DIR);
      // Every history file, including one that holds no complete point yet (shown empty).
      const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(METRIC_SUFFIX) && !f.startsWith('.')).sort();
      const histories: Record<string, readonly MetricPoint[]> = {};
      const logs = await Promise.all(names.map((name) => readMetricLog(join(dir, name))));
      names.forEach((name, i) => {
        histories[name.slice(0, -METRIC_SUFFIX.length)] = logs[i]!.points;
      });
      return histories;
    },

    async queryRuns(query) {
      // Reading an empty or absent store must not create it.
      if (!existsSync(files.root)) return { runs: [], total: 0 };
      const index = openIndexFor(files);
      try {
        const stats = index.refresh();
        const result = index.query(query);
        return { ...result, notes: { ...(stats.rebuilt ? { rebuiltIndex: stats.added } : {}), ...(stats.broken > 0 ? { unreadable: stats.broken } : {}) } };
      } finally {
        index.close();
      }
    },

    async unknownKeys(keys) {
      if (!existsSync(files.root)) return [];
      return withIndex(files, (index) => {
        if (index.runCount() === 0) return [];
        const known = { metric: new Set(index.knownKeys('metric')), param: new Set(index.knownKeys('param')), tag: new Set(index.knownKeys('tag')) };
        return keys.filter((field) => !known[field.kind].has(field.key));
      });
    },

    async knownKeys(kind) {
      return existsSync(files.root) ? withIndex(files, (index) => index.knownKeys(kind)) : [];
    },

    async setTags(id, tags, remove = []) {
      const location = await files.locateRun(id);
      return { run: ref(location), tags: await files.setTags(location.id, tags, remove) };
    },
    setNote: async (id, note) => ref(await files.setNote(id, note)),
    deleteRun: async (id) => ref(await files.deleteRun(id)),
    restoreRun: async (id) => ref(await files.restoreRun(id)),
    listExperiments: () => files.listExperiments(),

    async listArtifacts(id) {
      return listFolder(join((await files.locateRun(id)).dir, ARTIFACTS_DIR));
    },

    async readArtifact(id, path) {
      if (path.split('/').some((part) => part === '..' || part === '')) throw new UsageError('ARTIFACT_KEY_INVALID', `refusing artifact path "${path}"`);
      const location = await files.locateRun(id);
      try {
        return await readFile(join(location.dir, ARTIFACTS_DIR, ...path.split('/')));
      } catch {
        return null;
      }
    },

    async fetchBundle(id, fetch = {}) {
      const location = await files.locateRun(id);
      const dir = runBundleDir(location.dir);
      const manifest = join(dir, 'manifest.json');
      const actual = await sha256File(manifest).catch(() => undefined);
      if (actual === undefined) {
        throw new NotFoundError('RUN_HAS_NO_BUNDLE', `run ${location.id} has no model bundle (${dir} holds no manifest.json)`, {
          hint: `the run may have failed before saving its model; see \`mlctl runs show ${location.id}\``,
        });
      }
      if (fetch.expectedManifestSha256 !== undefined && actual !== fetch.expectedManifestSha256) {
        throw new GateError('BUNDLE_CHANGED', `the model bundle of run ${location.id} changed since it was registered`, {
          hint: 'a registered bundle must not be modified; run `mlctl runs verify` and register a new version',
        });
      }
      return dir;
    },

    async verify(verifyOptions = {}) {
      const { index: _index, ...report } = await verifyStore(files, registry, verifyOptions);
      return report;
    },

    gc: (gcOptions = {}) => gcFileStore(files, registry, gcOptions),

    async close() {
      // Nothing held open between calls: each query opens and closes the index.
    },
  };
}

/**
 * Purges soft-deleted runs for good, except those a registered model version points at,
 * then removes the leftovers of interrupted writes (see store-leftovers.ts) whose writer is
 * gone. With `dryRun`, only says what it would remove.
 */
export async function gcFileStore(files: FileRunStore, registry: Pick<ModelRegistry, 'referencedRunIds'>, options: { readonly dryRun?: boolean } = {}): Promise<GcResult> {
  const referenced = await registry.referencedRunIds();
  const purged: RunRef[] = [];
  const kept: (RunRef & { reason: string })[] = [];
  if (existsSync(files.root)) {
    const index = openIndexFor(files);
    let deleted;
    try {
      index.refresh();
      deleted = index.query({ lifecycle: 'deleted' }).runs;
    } finally {
      index.close();
    }
    for (const run of deleted) {
      const entry = { id: run.info.id, experiment: run.info.experiment };
      if (referenced.has(run.info.id)) {
        kept.push({ ...entry, reason: 'a registered model version uses it' });
        continue;
      }
      if (run.info.status === 'RUNNING') {
        kept.push({ ...entry, reason: 'its process is still running' });
        continue;
      }
      if (options.dryRun !== true) await rm(run.dir, { recursive: true, force: true });
      purged.push(entry);
    }
  }
  const found = existsSync(files.root) ? await findLeftovers(files) : [];
  const stray = found.filter((leftover) => !leftover.inUse);
  const leftovers = options.dryRun === true ? stray : await removeLeftovers(files, stray);
  return { purged, kept, leftovers, inUse: found.filter((leftover) => leftover.inUse), dryRun: options.dryRun === true };
}

/**
 * `runs list` on the file store, synchronously (its index is better-sqlite3): parses first,
 * refreshes the index, queries it. The generic path is `listRuns` (run-operations.ts).
 */
export function listFileRuns(files: FileRunStore, options: ListRunsOptions): { runs: readonly FileRunRecord[]; total: number; index: RefreshStats | null } {
  const filter = options.filter === undefined ? undefined : parseRunFilter(options.filter);
  const orderBy = options.orderBy === undefined ? undefined : parseOrderBy(options.orderBy);
  if (options.experiment !== undefined) validateExperimentName(options.experiment);
  if (!existsSync(files.root)) return { runs: [], total: 0, index: null };
  const index = openIndexFor(files);
  try {
    const stats = index.refresh();
    const named = namedKeys(filter, orderBy);
    if (named.length > 0 && index.runCount() > 0) {
      const known = { metric: index.knownKeys('metric'), param: index.knownKeys('param'), tag: index.knownKeys('tag') };
      const unknown = named.filter((field) => !known[field.kind].includes(field.key));
      if (unknown.length > 0) throw unknownKeyError(unknown, known, files.root);
    }
    const result = index.query({
      ...(options.experiment === undefined ? {} : { experiment: options.experiment }),
      ...(filter === undefined ? {} : { filter, filterSource: options.filter }),
      ...(orderBy === undefined ? {} : { orderBy }),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
      lifecycle: options.lifecycle ?? 'active',
    });
    return { ...result, index: stats };
  } finally {
    index.close();
  }
}

/** Runs `fn` on the file store's index, refreshed, and closes it. */
function withIndex<T>(files: FileRunStore, fn: (index: ReturnType<typeof openIndexFor>) => T): T {
  const index = openIndexFor(files);
  try {
    index.refresh();
    return fn(index);
  } finally {
    index.close();
  }
}

/** Every file under `dir`, by '/'-separated path, sorted. */
async function listFolder(dir: string): Promise<RunArtifact[]> {
  const out: RunArtifact[] = [];
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push({ path: relative(dir, path).split(sep).join('/'), size: (await stat(path)).size });
    }
  };
  await walk(dir);
  return out;
}
