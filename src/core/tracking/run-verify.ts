import { readFile, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { sha256File } from '../fs/hash.js';
import { REGISTRY_DIR, runBundleDir } from '../registry/file-model-registry.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { FileRunStore } from './file-run-store.js';
import { readMetricLog, type ParsedMetricLog } from './metric-log.js';
import { describeLeftover, findLeftovers, isLeftoverName } from './store-leftovers.js';
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
  parseMetricPoints,
  parseParams,
  parseRunInfo,
  parseTags,
  readJsonFile,
  readOptionalJson,
} from './run-files.js';
import { INDEX_DIR, openIndexFor, type RefreshStats } from './run-index.js';
import type { StoreProblem, VerifyOptions, VerifyReport } from './tracking-store.js';

export type { StoreProblem, VerifyOptions } from './tracking-store.js';

/** The file store's report: the common one, plus the index it rebuilt. */
export interface FileVerifyReport extends VerifyReport {
  readonly index: RefreshStats | null;
}

/**
 * Checks every file of the store: run.json/params.json/tags.json parse, metric lines parse,
 * bundle files match the SHA-256 in their manifest.json, registered versions point at runs
 * whose manifest is unchanged. Then rebuilds the index from scratch.
 */
export async function verifyStore(store: FileRunStore, registry: ModelRegistry, options: VerifyOptions = {}): Promise<FileVerifyReport> {
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
    return { root, runs: 0, metricFiles: 0, bundles: 0, artifactFiles: 0, damage: [], warnings: [], leftovers: [], index: null };
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
      if (runEntry.name === EXPERIMENT_FILE || isLeftoverName(runEntry.name)) continue;
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
  const leftovers = (await findLeftovers(store)).filter((leftover) => !leftover.inUse);
  for (const leftover of leftovers) (leftover.inBundle ? damage : warnings).push({ path: leftover.path, problem: describeLeftover(leftover) });

  const index = openIndexFor(store);
  let stats: RefreshStats;
  try {
    stats = index.rebuild();
  } finally {
    index.close();
  }
  return { root, runs, metricFiles, bundles, artifactFiles, damage, warnings, leftovers, index: stats };
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
  let summary: { finalMetrics: Record<string, number>; metricPoints: Record<string, number> | undefined } | undefined;
  try {
    const runJson = await readJsonFile(runFile);
    const info = parseRunInfo(runJson, runFile);
    const finalMetrics = parseFinalMetrics(runJson);
    if (finalMetrics !== undefined) summary = { finalMetrics, metricPoints: parseMetricPoints(runJson) };
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
  const histories = new Map<string, ParsedMetricLog>();
  for (const name of await readdir(join(dir, METRICS_DIR)).catch(() => [] as string[])) {
    const path = join(dir, METRICS_DIR, name);
    if (isLeftoverName(name)) continue; // reported by findLeftovers
    if (!name.endsWith(METRIC_SUFFIX) || name.startsWith('.')) {
      out.warnings.push({ path: rel(path), problem: 'not a metric history; ignored' });
      continue;
    }
    out.metricFiles += 1;
    const log = await readMetricLog(path);
    histories.set(name.slice(0, -METRIC_SUFFIX.length), log);
    const torn = log.tornTail ? log.badLines.at(-1) : undefined;
    const bad = log.badLines.filter((n) => n !== torn);
    if (bad.length > 0) out.damage.push({ path: rel(path), problem: `unreadable line${bad.length > 1 ? 's' : ''} ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''}` });
    if (torn !== undefined) out.warnings.push({ path: rel(path), problem: `last line ${torn} is torn (interrupted write); readers skip it` });
  }
  if (summary !== undefined) out.damage.push(...compareSummary(summary.finalMetrics, summary.metricPoints, histories, dir, rel));
  for (const manifest of await findManifests(join(dir, ARTIFACTS_DIR))) {
    out.bundles += 1;
    const result = await verifyBundle(manifest, rel);
    out.artifactFiles += result.files;
    out.damage.push(...result.damage);
  }
  return out;
}

/**
 * run.json's `finalMetrics` (and `metricPoints`) against the histories, blaming the file that
 * is wrong: a history holding fewer points than the run logged was truncated; one holding as
 * many whose last value differs means run.json was edited. Runs from before `metricPoints`
 * existed blame a history only when it is visibly cut (empty, or a torn last line).
 */
function compareSummary(
  finalMetrics: Readonly<Record<string, number>>,
  metricPoints: Readonly<Record<string, number>> | undefined,
  histories: ReadonlyMap<string, ParsedMetricLog>,
  dir: string,
  rel: (p: string) => string,
): StoreProblem[] {
  const damage: StoreProblem[] = [];
  const runJsonDisagrees: string[] = [];
  const keys = [...new Set([...Object.keys(finalMetrics), ...histories.keys()])].sort();
  for (const key of keys) {
    const history = rel(join(dir, METRICS_DIR, `${key}${METRIC_SUFFIX}`));
    const final = finalMetrics[key];
    const log = histories.get(key);
    if (final !== undefined && log === undefined) {
      damage.push({ path: history, problem: `missing, but run.json records the final value ${final}` });
      continue;
    }
    // A history with unreadable lines is reported as such; its counts say nothing more.
    if (log === undefined || log.badLines.length > (log.tornTail ? 1 : 0)) continue;
    const lines = log.points.length;
    const expected = metricPoints?.[key];
    const last = log.points.at(-1)?.value;
    if (final !== undefined && expected !== undefined && lines < expected) {
      damage.push({ path: history, problem: `holds ${lines} of the ${expected} points the run logged (run.json): the history was truncated` });
    } else if (final !== undefined && expected !== undefined && lines > expected) {
      damage.push({ path: history, problem: `holds ${lines} points, but the run ended after ${expected} (run.json): lines were added since` });
    } else if (final === undefined || !Object.is(final, last)) {
      if (final !== undefined && expected === undefined && (log.points.length === 0 || log.tornTail)) {
        damage.push({ path: history, problem: `ends ${last === undefined ? 'with no complete point' : `at ${last}`}, but run.json records the final value ${final}: the history was truncated` });
      } else runJsonDisagrees.push(key);
    }
  }
  if (runJsonDisagrees.length > 0) damage.push({ path: rel(join(dir, RUN_FILE)), problem: `finalMetrics disagree with the histories of ${runJsonDisagrees.join(', ')}` });
  return damage;
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
      // A bundle being (or once being) saved is a leftover, not a bundle: see findLeftovers.
      if (isLeftoverName(entry.name)) continue;
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
  // As loadBundle does: a file the manifest does not list makes the bundle refused.
  for (const entry of await readdir(bundleDir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    const path = join(entry.parentPath, entry.name);
    const name = relative(bundleDir, path).split(sep).join('/');
    if (!entry.isFile() || name === 'manifest.json' || name in files) continue;
    if (name.split('/').some(isLeftoverName)) continue; // reported as a leftover
    damage.push({ path: rel(path), problem: 'not listed in manifest.json: loading the bundle refuses it' });
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
  if (error instanceof DamagedFileError) return error.problem;
  return error instanceof Error ? error.message : String(error);
}
