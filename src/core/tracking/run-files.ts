import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GateError } from '../errors.js';
import { readLastMetricPointSync } from './metric-log.js';
import { isExperimentName } from './names.js';
import type { ParamValue, RunInfo, RunStatus } from './run-store.js';

/**
 * The on-disk layout of the store, in one place:
 *
 *   <root>/<experiment>/experiment.json
 *   <root>/<experiment>/<run-id>/run.json        RunInfo
 *   <root>/<experiment>/<run-id>/params.json     absent = no params
 *   <root>/<experiment>/<run-id>/tags.json       absent = no tags
 *   <root>/<experiment>/<run-id>/metrics/<key>.jsonl
 *   <root>/<experiment>/<run-id>/artifacts/      the bundle is artifacts/model/
 *   <root>/<experiment>/<run-id>/deleted.json    present = soft-deleted
 *   <root>/models/<name>/…                        the model registry
 *   <root>/.index/                                derived, rebuildable, git-ignored
 *   <root>/.sync/tmp/                             where `sync pull` stages files and bundles
 *   <root>/.sync/remotes/                         what this workspace pushed to each remote,
 *                                                 and the registry as both sides last agreed
 *
 * run.json gains `finalMetrics` and `metricPoints` when the run ends (see below).
 */
export const RUN_FILE = 'run.json';
export const PARAMS_FILE = 'params.json';
export const TAGS_FILE = 'tags.json';
export const DELETED_FILE = 'deleted.json';
export const METRICS_DIR = 'metrics';
export const ARTIFACTS_DIR = 'artifacts';
export const EXPERIMENT_FILE = 'experiment.json';
export const METRIC_SUFFIX = '.jsonl';

export const RUN_STATUSES: readonly RunStatus[] = ['RUNNING', 'FINISHED', 'FAILED', 'KILLED'];

/**
 * A file of the store that cannot be read as what it should be. A damaged store is an
 * integrity failure, like a tampered bundle (exit 4); the message names the file.
 */
export class DamagedFileError extends GateError {
  readonly path: string;
  /** What is wrong with the file, without its path. */
  readonly problem: string;
  constructor(path: string, problem: string) {
    super('STORE_FILE_DAMAGED', `${path}: ${problem}`, {
      hint: '`mlctl runs verify` lists every damaged file; restore it from a copy (git, `mlctl sync pull`) or delete the run folder',
    });
    this.name = 'DamagedFileError';
    this.path = path;
    this.problem = problem;
  }
}

export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new DamagedFileError(path, `not valid JSON (${(error as Error).message})`);
  }
}

/** Reads a JSON object file; a missing file is `undefined`. */
export async function readOptionalJson(path: string): Promise<unknown> {
  try {
    return await readJsonFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** Validates run.json; throws DamagedFileError naming what is wrong. */
export function parseRunInfo(value: unknown, path: string): RunInfo {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DamagedFileError(path, 'not a JSON object');
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof v.id !== 'string') problems.push('"id" is missing');
  if (typeof v.experiment !== 'string') problems.push('"experiment" is missing');
  if (typeof v.status !== 'string' || !RUN_STATUSES.includes(v.status as RunStatus)) problems.push('"status" is not one of RUNNING, FINISHED, FAILED, KILLED');
  if (typeof v.startTime !== 'string' || Number.isNaN(Date.parse(v.startTime))) problems.push('"startTime" is not an ISO time');
  if (problems.length > 0) throw new DamagedFileError(path, problems.join('; '));
  return {
    id: v.id as string,
    name: typeof v.name === 'string' ? v.name : '',
    experiment: v.experiment as string,
    status: v.status as RunStatus,
    startTime: v.startTime as string,
    endTime: stringOrNull(v.endTime),
    pid: typeof v.pid === 'number' ? v.pid : 0,
    host: typeof v.host === 'string' ? v.host : '',
    user: typeof v.user === 'string' ? v.user : '',
    gitCommit: stringOrNull(v.gitCommit),
    commandLine: typeof v.commandLine === 'string' ? v.commandLine : '',
    task: stringOrNull(v.task),
    datasetSha256: stringOrNull(v.datasetSha256),
    backend: stringOrNull(v.backend),
    note: stringOrNull(v.note),
  };
}

export function parseParams(value: unknown, path: string): Record<string, ParamValue> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DamagedFileError(path, 'not a JSON object');
  const out: Record<string, ParamValue> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else out[key] = JSON.stringify(v);
  }
  return out;
}

export function parseTags(value: unknown, path: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DamagedFileError(path, 'not a JSON object');
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) out[key] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

/** Experiment folders under the root (names that are valid experiment names). */
export async function listExperimentDirs(root: string): Promise<string[]> {
  return listExperimentDirsSync(root);
}

export function listExperimentDirsSync(root: string): string[] {
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return entries.filter((e) => e.isDirectory() && isExperimentName(e.name)).map((e) => e.name).sort();
}

/** Everything the store knows about one run, read from its folder. */
export interface RunSnapshot {
  readonly info: RunInfo;
  readonly params: Record<string, ParamValue>;
  readonly tags: Record<string, string>;
  readonly metrics: Record<string, number>;
  readonly deleted: boolean;
  readonly dir: string;
}

/** Reads a run folder. Synchronous: the index reads thousands of small files in a row. */
/**
 * run.json holds RunInfo and, once the run has ended, `finalMetrics`: the last value of each
 * metric as written at end(). Reading a finished run then costs one file instead of one per
 * metric. The histories stay the source of truth; `runs verify` checks the two agree.
 */
export const FINAL_METRICS_FIELD = 'finalMetrics';

/**
 * run.json also records, once the run has ended, how many points each metric history held
 * then. `runs verify` tells a truncated history (fewer points) from an edited run.json.
 */
export const METRIC_POINTS_FIELD = 'metricPoints';

/** The `metricPoints` of a run.json (runs written before it existed have none): key → count. */
export function parseMetricPoints(value: unknown): Record<string, number> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[METRIC_POINTS_FIELD];
  if (typeof field !== 'object' || field === null || Array.isArray(field)) return undefined;
  const out: Record<string, number> = {};
  for (const [key, count] of Object.entries(field)) {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) return undefined;
    out[key] = count;
  }
  return out;
}

/** Encodes final metric values for JSON (non-finite values as strings, as in the histories). */
export function encodeFinalMetrics(metrics: Readonly<Record<string, number>>): Record<string, number | string> {
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, Number.isFinite(v) ? v : String(v)]));
}

/** The `finalMetrics` of a run.json, or undefined when absent or malformed. */
export function parseFinalMetrics(value: unknown): Record<string, number> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[FINAL_METRICS_FIELD];
  if (typeof field !== 'object' || field === null || Array.isArray(field)) return undefined;
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(field)) {
    if (typeof v === 'number') out[key] = v;
    else if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') out[key] = Number(v);
    else return undefined;
  }
  return out;
}

/** The last value of every metric, read from the histories' tails. */
export function readFinalMetricsFromHistories(dir: string): Record<string, number> {
  let files: string[] = [];
  try {
    files = readdirSync(join(dir, METRICS_DIR));
  } catch {
    // No metrics folder: no metrics.
  }
  const metrics: Record<string, number> = {};
  for (const file of files.sort()) {
    if (!file.endsWith(METRIC_SUFFIX) || file.startsWith('.')) continue;
    const last = readLastMetricPointSync(join(dir, METRICS_DIR, file));
    if (last !== undefined) metrics[file.slice(0, -METRIC_SUFFIX.length)] = last.value;
  }
  return metrics;
}

export function readRunDirSync(dir: string): RunSnapshot {
  const runJson = readJsonFileSync(join(dir, RUN_FILE));
  const info = parseRunInfo(runJson, join(dir, RUN_FILE));
  const params = parseParams(readOptionalJsonSync(join(dir, PARAMS_FILE)), join(dir, PARAMS_FILE));
  const tags = parseTags(readOptionalJsonSync(join(dir, TAGS_FILE)), join(dir, TAGS_FILE));
  const deleted = existsSync(join(dir, DELETED_FILE));
  // A run that has not ended (or ended by an older writer) has no summary: read the tails.
  const summary = info.status === 'RUNNING' ? undefined : parseFinalMetrics(runJson);
  const metrics = summary === undefined ? readFinalMetricsFromHistories(dir) : sortKeys(summary);
  return { info, params, tags, metrics, deleted, dir };
}

export async function readRunDir(dir: string): Promise<RunSnapshot> {
  return readRunDirSync(dir);
}

function readJsonFileSync(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new DamagedFileError(path, `not valid JSON (${(error as Error).message})`);
  }
}

function readOptionalJsonSync(path: string): unknown {
  try {
    return readJsonFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
