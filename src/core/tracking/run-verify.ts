import { readFile, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { sha256File } from '../fs/hash.js';
import { REGISTRY_DIR, runBundleDir } from '../registry/file-model-registry.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { FileRunStore } from './file-run-store.js';
import { readMetricLog } from './metric-log.js';
import { isExperimentName } from './names.js';
import { isRunId } from './run-id.js';
import {
  ARTIFACTS_DIR,
  DamagedFileError,
  EXPERIMENT_FILE,
  METRICS_DIR,
  METRIC_SUFFIX,
  PARAMS_FILE,
  RUN_FILE,
  TAGS_FILE,
  parseFinalMetrics,
  parseParams,
  parseRunInfo,
  parseTags,
  readFinalMetricsFromHistories,
  readJsonFile,
  readOptionalJson,
} from './run-files.js';
import { INDEX_DIR, type RefreshStats } from './run-index.js';
import { openIndexFor } from './run-operations.js';

export interface StoreProblem {
  /** Relative to the store root. */
  readonly path: string;
  readonly problem: string;
}

export interface VerifyReport {
  readonly root: string;
  readonly runs: number;
  readonly metricFiles: number;
  readonly bundles: number;
  readonly artifactFiles: number;
  /** Files that are wrong: exit 4. */
  readonly damage: readonly StoreProblem[];
  /** Expected after crashes and harmless to readers (torn metric tails, dead runs, leftovers). */
  readonly warnings: readonly StoreProblem[];
  readonly index: RefreshStats | null;
}

export interface VerifyOptions {
  /** Progress per run checked. */
  readonly onRun?: (checked: number) => void;
  /** A run folder younger than this without run.json is being created, not damaged (ms). */
  readonly graceMs?: number;
}

/**
 * Checks every file of the store: run.json/params.json/tags.json parse, metric lines parse,
 * bundle files match the SHA-256 in their manifest.json, registered versions point at runs
 * whose manifest is unchanged. Then rebuilds the index from scratch.
 */
export async function verifyStore(store: FileRunStore, registry: ModelRegistry, options: VerifyOptions = {}): Promise<VerifyReport> {
  const root = store.root;
  const damage: StoreProblem[] = [];
  const warnings: StoreProblem[] = [];
  const rel = (path: string): string => relative(root, path).split(sep).join('/');
  const graceMs = options.graceMs ?? 10_000;
  let runs = 0;
  let metricFiles = 0;
  let bundles = 0;
  let artifactFiles = 0;

  let rootEntries;
  try {
    rootEntries = await readdir(root, { withFileTypes: true });
  } catch {
    return { root, runs: 0, metricFiles: 0, bundles: 0, artifactFiles: 0, damage: [], warnings: [], index: null };
  }
  for (const entry of rootEntries) {
    if (!entry.isDirectory()) continue;
    if (entry.name === INDEX_DIR || entry.name === REGISTRY_DIR || entry.name.startsWith('.')) continue;
    if (!isExperimentName(entry.name)) {
      warnings.push({ path: entry.name, problem: 'not a valid experiment name; ignored' });
      continue;
    }
    const experimentDir = join(root, entry.name);
    try {
      const meta = await readOptionalJson(join(experimentDir, EXPERIMENT_FILE));
      if (meta === undefined) warnings.push({ path: rel(join(experimentDir, EXPERIMENT_FILE)), problem: 'missing (recreated on the next run)' });
    } catch (error) {
      damage.push({ path: rel(join(experimentDir, EXPERIMENT_FILE)), problem: describe(error) });
    }
    for (const runEntry of await readdir(experimentDir, { withFileTypes: true })) {
      const path = join(experimentDir, runEntry.name);
      if (runEntry.name === EXPERIMENT_FILE) continue;
      if (runEntry.name.endsWith('.tmp')) {
        warnings.push({ path: rel(path), problem: 'leftover temporary file from an interrupted write' });
        continue;
      }
      if (!runEntry.isDirectory() || !isRunId(runEntry.name)) {
        warnings.push({ path: rel(path), problem: 'not a run folder; ignored' });
        continue;
      }
      runs += 1;
      options.onRun?.(runs);
      const result = await verifyRun(path, entry.name, runEntry.name, rel, graceMs);
      damage.push(...result.damage);
      warnings.push(...result.warnings);
      metricFiles += result.metricFiles;
      bundles += result.bundles;
      artifactFiles += result.artifactFiles;
    }
  }
  damage.push(...(await verifyRegistry(store, registry, rel)));

  const index = openIndexFor(store);
  let stats: RefreshStats;
  try {
    stats = index.rebuild();
  } finally {
    index.close();
  }
  return { root, runs, metricFiles, bundles, artifactFiles, damage, warnings, index: stats };
}

interface RunCheck {
  damage: StoreProblem[];
  warnings: StoreProblem[];
  metricFiles: number;
  bundles: number;
  artifactFiles: number;
}

async function verifyRun(dir: string, experiment: string, id: string, rel: (p: string) => string, graceMs: number): Promise<RunCheck> {
  const out: RunCheck = { damage: [], warnings: [], metricFiles: 0, bundles: 0, artifactFiles: 0 };
  const runFile = join(dir, RUN_FILE);
  try {
    const runJson = await readJsonFile(runFile);
    const info = parseRunInfo(runJson, runFile);
    const summary = parseFinalMetrics(runJson);
    if (summary !== undefined) {
      const histories = readFinalMetricsFromHistories(dir);
      const keys = [...new Set([...Object.keys(summary), ...Object.keys(histories)])].sort();
      const disagree = keys.filter((k) => !Object.is(summary[k], histories[k]));
      if (disagree.length > 0) out.damage.push({ path: rel(runFile), problem: `finalMetrics disagree with the histories of ${disagree.join(', ')}` });
    }
    if (info.id !== id) out.damage.push({ path: rel(runFile), problem: `"id" is ${info.id} but the folder is ${id}` });
    if (info.experiment !== experiment) out.damage.push({ path: rel(runFile), problem: `"experiment" is ${info.experiment} but the run is filed under ${experiment}` });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      const age = Date.now() - (await stat(dir)).mtimeMs;
      if (age < graceMs) out.warnings.push({ path: rel(dir), problem: 'run.json not written yet (run being created)' });
      else out.damage.push({ path: rel(runFile), problem: 'missing' });
    } else out.damage.push({ path: rel(runFile), problem: describe(error) });
  }
  for (const [file, parse] of [[PARAMS_FILE, parseParams], [TAGS_FILE, parseTags]] as const) {
    const path = join(dir, file);
    try {
      parse(await readOptionalJson(path), path);
    } catch (error) {
      out.damage.push({ path: rel(path), problem: describe(error) });
    }
  }
  for (const name of await readdir(join(dir, METRICS_DIR)).catch(() => [] as string[])) {
    const path = join(dir, METRICS_DIR, name);
    if (!name.endsWith(METRIC_SUFFIX) || name.startsWith('.')) {
      out.warnings.push({ path: rel(path), problem: 'not a metric history; ignored' });
      continue;
    }
    out.metricFiles += 1;
    const log = await readMetricLog(path);
    const torn = log.tornTail ? log.badLines.at(-1) : undefined;
    const bad = log.badLines.filter((n) => n !== torn);
    if (bad.length > 0) out.damage.push({ path: rel(path), problem: `unreadable line${bad.length > 1 ? 's' : ''} ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''}` });
    if (torn !== undefined) out.warnings.push({ path: rel(path), problem: `last line ${torn} is torn (interrupted write); readers skip it` });
  }
  for (const manifest of await findManifests(join(dir, ARTIFACTS_DIR))) {
    out.bundles += 1;
    const result = await verifyBundle(manifest, rel);
    out.artifactFiles += result.files;
    out.damage.push(...result.damage);
  }
  return out;
}

async function findManifests(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (entry.isDirectory()) await walk(join(current, entry.name));
      else if (entry.name === 'manifest.json') found.push(join(current, entry.name));
    }
  };
  await walk(dir);
  return found;
}

/** A bundle's manifest.json lists `files: { "<relative path>": "<sha256>" }`. */
async function verifyBundle(manifestPath: string, rel: (p: string) => string): Promise<{ files: number; damage: StoreProblem[] }> {
  const damage: StoreProblem[] = [];
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (error) {
    return { files: 0, damage: [{ path: rel(manifestPath), problem: `not valid JSON (${(error as Error).message})` }] };
  }
  const files = (manifest as { files?: unknown }).files;
  if (typeof files !== 'object' || files === null || Array.isArray(files)) {
    return { files: 0, damage: [{ path: rel(manifestPath), problem: 'has no "files" map of SHA-256 hashes' }] };
  }
  const bundleDir = join(manifestPath, '..');
  let count = 0;
  for (const [name, expected] of Object.entries(files)) {
    count += 1;
    const target = normalize(join(bundleDir, name));
    if (isAbsolute(name) || relative(bundleDir, target).startsWith('..')) {
      damage.push({ path: rel(manifestPath), problem: `lists "${name}", which is outside the bundle` });
      continue;
    }
    let actual: string;
    try {
      actual = await sha256File(target);
    } catch {
      damage.push({ path: rel(target), problem: 'listed in manifest.json but missing' });
      continue;
    }
    if (actual !== expected) damage.push({ path: rel(target), problem: `SHA-256 ${actual.slice(0, 12)}… does not match manifest.json (${String(expected).slice(0, 12)}…)` });
  }
  return { files: count, damage };
}

async function verifyRegistry(store: FileRunStore, registry: ModelRegistry, rel: (p: string) => string): Promise<StoreProblem[]> {
  const damage: StoreProblem[] = [];
  let models;
  try {
    models = await registry.list();
  } catch (error) {
    return [{ path: REGISTRY_DIR, problem: describe(error) }];
  }
  for (const model of models) {
    for (const version of model.versions) {
      const where = `${REGISTRY_DIR}/${model.name} version ${version.version}`;
      let dir: string;
      try {
        dir = (await store.locateRun(version.runId)).dir;
      } catch {
        damage.push({ path: where, problem: `points at run ${version.runId}, which is not in the store` });
        continue;
      }
      const manifest = join(runBundleDir(dir), 'manifest.json');
      const actual = await sha256File(manifest).catch(() => undefined);
      if (actual === undefined) damage.push({ path: rel(manifest), problem: `missing, but ${where} uses it` });
      else if (actual !== version.manifestSha256) damage.push({ path: rel(manifest), problem: `changed since ${where} was registered` });
    }
  }
  return damage;
}

function describe(error: unknown): string {
  if (error instanceof DamagedFileError) return error.message.slice(error.path.length + 2);
  return error instanceof Error ? error.message : String(error);
}
