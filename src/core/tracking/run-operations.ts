import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { nearNames } from '../text/near-names.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { FileRunStore } from './file-run-store.js';
import { readMetricLog } from './metric-log.js';
import { validateExperimentName } from './names.js';
import { ARTIFACTS_DIR, METRICS_DIR, METRIC_SUFFIX } from './run-files.js';
import { parseOrderBy, parseRunFilter, type FilterExpression, type OrderTerm } from './run-filter.js';
import { openRunIndex, type Lifecycle, type RefreshStats, type RunIndex } from './run-index.js';
import type { MetricPoint, ParamValue, RunRecord } from './run-store.js';
import { findLeftovers, removeLeftovers, type Leftover } from './store-leftovers.js';

/** The queries and maintenance behind `mlctl runs …`, on top of the file store and its index. */

export function openIndexFor(store: FileRunStore): RunIndex {
  return openRunIndex({ root: store.root, effectiveStatus: store.effectiveStatus });
}

export interface ListRunsOptions {
  readonly experiment?: string;
  readonly filter?: string;
  readonly orderBy?: string;
  readonly limit?: number;
  readonly lifecycle?: Lifecycle;
}

export interface ListRunsResult {
  readonly runs: readonly RunRecord[];
  readonly total: number;
  readonly index: RefreshStats | null;
}

/** Parses everything first (bad input exits 2 before any I/O), refreshes the index, queries it. */
export function listRuns(store: FileRunStore, options: ListRunsOptions): ListRunsResult {
  const filter = options.filter === undefined ? undefined : parseRunFilter(options.filter);
  const orderBy = options.orderBy === undefined ? undefined : parseOrderBy(options.orderBy);
  if (options.experiment !== undefined) validateExperimentName(options.experiment);
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) {
    throw new UsageError('INVALID_LIMIT', `--limit must be a whole number ≥ 0, got ${options.limit}`);
  }
  // Reading an empty or absent store must not create it.
  if (!existsSync(store.root)) return { runs: [], total: 0, index: null };
  const index = openIndexFor(store);
  try {
    const stats = index.refresh();
    assertKnownKeys(index, store.root, filter, orderBy);
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

const KIND_PREFIX = { metric: 'metrics', param: 'params', tag: 'tags' } as const;

/**
 * A filter or order naming a metric, param or tag that no run in the store has is a typo far
 * more often than a question whose answer is "none": a usage error names each such key with
 * the near names runs do have. A store without runs has no keys to compare with: no check.
 */
function assertKnownKeys(index: RunIndex, root: string, filter: FilterExpression | undefined, orderBy: readonly OrderTerm[] | undefined): void {
  const named = new Map<string, { kind: 'metric' | 'param' | 'tag'; key: string }>();
  const visit = (expression: FilterExpression): void => {
    if (expression.kind !== 'comparison') {
      visit(expression.left);
      visit(expression.right);
    } else if (expression.field.kind !== 'attribute') named.set(`${KIND_PREFIX[expression.field.kind]}.${expression.field.key}`, expression.field);
  };
  if (filter !== undefined) visit(filter);
  for (const term of orderBy ?? []) if (term.field.kind !== 'attribute') named.set(`${KIND_PREFIX[term.field.kind]}.${term.field.key}`, term.field);
  if (named.size === 0 || index.runCount() === 0) return;
  const known = { metric: new Set(index.knownKeys('metric')), param: new Set(index.knownKeys('param')), tag: new Set(index.knownKeys('tag')) };
  const unknown = [...named].filter(([, field]) => !known[field.kind].has(field.key));
  if (unknown.length === 0) return;
  const problems = unknown.map(([label, field]) => {
    const prefix = KIND_PREFIX[field.kind];
    const sameKind = nearNames(field.key, known[field.kind]).map((k) => `${prefix}.${k}`);
    // A key of another kind (params.auc for metrics.auc) is a near name too.
    const otherKinds = (['metric', 'param', 'tag'] as const).filter((k) => k !== field.kind && known[k].has(field.key)).map((k) => `${KIND_PREFIX[k]}.${field.key}`);
    const near = [...otherKinds, ...sameKind];
    if (near.length > 0) return `${label}: no run has it; did you mean ${near.join(' or ')}?`;
    const all = [...known[field.kind]];
    return `${label}: no run has it; runs have ${all.length === 0 ? `no ${prefix}` : `${prefix} ${all.slice(0, 12).join(', ')}${all.length > 12 ? ', …' : ''}`}`;
  });
  throw new UsageError('UNKNOWN_RUN_KEY', `no run in ${root} has ${unknown.map(([label]) => label).join(', ')}`, {
    problems,
    hint: 'keys are case-sensitive; `mlctl runs show <run>` lists the params, metrics and tags of a run',
  });
}

export interface ArtifactEntry {
  /** Relative to the run's artifacts folder, with "/" separators. */
  readonly path: string;
  readonly size: number;
}

export interface RunDetails {
  readonly run: RunRecord;
  readonly history: Readonly<Record<string, readonly MetricPoint[]>>;
  readonly artifacts: readonly ArtifactEntry[];
}

export async function showRun(store: FileRunStore, id: string): Promise<RunDetails> {
  const run = await store.getRun(id);
  const history: Record<string, readonly MetricPoint[]> = {};
  // Every history file, including one that holds no complete point yet (shown empty).
  const files = (await readdir(join(run.dir, METRICS_DIR)).catch(() => [] as string[])).filter((f) => f.endsWith(METRIC_SUFFIX) && !f.startsWith('.')).sort();
  await Promise.all(
    files.map(async (file) => {
      history[file.slice(0, -METRIC_SUFFIX.length)] = (await readMetricLog(join(run.dir, METRICS_DIR, file))).points;
    }),
  );
  const sorted = Object.fromEntries(Object.keys(history).sort().map((k) => [k, history[k]!]));
  return { run, history: sorted, artifacts: await listArtifacts(join(run.dir, ARTIFACTS_DIR)) };
}

export async function listArtifacts(dir: string): Promise<ArtifactEntry[]> {
  const out: ArtifactEntry[] = [];
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

export interface RunComparison {
  readonly runs: readonly { id: string; name: string; experiment: string; status: string }[];
  /** key → value per run (null when a run lacks it). */
  readonly params: Readonly<Record<string, readonly (ParamValue | undefined)[]>>;
  readonly metrics: Readonly<Record<string, readonly (number | null)[]>>;
  readonly differentParams: readonly string[];
  readonly differentMetrics: readonly string[];
}

export async function compareRuns(store: FileRunStore, ids: readonly string[]): Promise<RunComparison> {
  if (ids.length < 2) throw new UsageError('COMPARE_NEEDS_TWO_RUNS', 'give at least two run ids to compare');
  const runs: RunRecord[] = [];
  for (const id of ids) runs.push(await store.getRun(id));
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const params: Record<string, (ParamValue | undefined)[]> = {};
  const metrics: Record<string, (number | null)[]> = {};
  const differentParams: string[] = [];
  const differentMetrics: string[] = [];
  for (const key of paramKeys) {
    params[key] = runs.map((r) => (key in r.params ? r.params[key] : undefined));
    if (new Set(params[key].map((v) => JSON.stringify(v ?? '∅'))).size > 1) differentParams.push(key);
  }
  for (const key of metricKeys) {
    metrics[key] = runs.map((r) => r.metrics[key] ?? null);
    if (new Set(metrics[key].map((v) => String(v))).size > 1) differentMetrics.push(key);
  }
  return {
    runs: runs.map((r) => ({ id: r.info.id, name: r.info.name, experiment: r.info.experiment, status: r.info.status })),
    params,
    metrics,
    differentParams,
    differentMetrics,
  };
}

export type ExportFormat = 'csv' | 'json';

/** Runs as CSV (one row per run, params./metrics./tags. columns) or as a JSON array. */
export function exportRuns(runs: readonly RunRecord[], format: ExportFormat): string {
  if (format === 'json') {
    return `${JSON.stringify(runs.map((r) => ({ ...r.info, deleted: r.deleted, params: r.params, metrics: r.metrics, tags: r.tags })), null, 2)}\n`;
  }
  const paramKeys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const tagKeys = [...new Set(runs.flatMap((r) => Object.keys(r.tags)))].sort();
  const attributes = ['id', 'name', 'experiment', 'status', 'start_time', 'end_time', 'duration_s', 'user', 'host', 'task', 'dataset_sha256', 'backend', 'git_commit', 'deleted'];
  const header = [...attributes, ...paramKeys.map((k) => `params.${k}`), ...metricKeys.map((k) => `metrics.${k}`), ...tagKeys.map((k) => `tags.${k}`)];
  const lines = [header.map(csvCell).join(',')];
  for (const run of runs) {
    const { info } = run;
    const duration = info.endTime === null ? null : (Date.parse(info.endTime) - Date.parse(info.startTime)) / 1000;
    const row: unknown[] = [
      info.id, info.name, info.experiment, info.status, info.startTime, info.endTime, duration, info.user, info.host, info.task,
      info.datasetSha256, info.backend, info.gitCommit, run.deleted,
      ...paramKeys.map((k) => run.params[k]),
      ...metricKeys.map((k) => run.metrics[k]),
      ...tagKeys.map((k) => run.tags[k]),
    ];
    lines.push(row.map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  // Formula-looking cells are not escaped: this is data export, not a spreadsheet; quoting covers the syntax.
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export interface GcResult {
  readonly purged: readonly { id: string; experiment: string }[];
  /** Deleted runs kept because a registered model version uses them. */
  readonly kept: readonly { id: string; experiment: string; reason: string }[];
  /** Temporary files and folders of interrupted writes, removed (or, in a dry run, to remove). */
  readonly leftovers: readonly Leftover[];
  /** Temporary files still being written by a live process: left alone. */
  readonly inUse: readonly Leftover[];
  readonly dryRun: boolean;
}

/**
 * Purges soft-deleted runs for good, except those a registered model version points at,
 * then removes the leftovers of interrupted writes (see store-leftovers.ts) whose writer is
 * gone. With `dryRun`, only says what it would remove.
 */
export async function gcRuns(store: FileRunStore, registry: ModelRegistry, options: { dryRun?: boolean } = {}): Promise<GcResult> {
  const listed = listRuns(store, { lifecycle: 'deleted' });
  const referenced = await registry.referencedRunIds();
  const purged: { id: string; experiment: string }[] = [];
  const kept: { id: string; experiment: string; reason: string }[] = [];
  for (const run of listed.runs) {
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
  const found = existsSync(store.root) ? await findLeftovers(store) : [];
  const stray = found.filter((leftover) => !leftover.inUse);
  const leftovers = options.dryRun === true ? stray : await removeLeftovers(store, stray);
  return { purged, kept, leftovers, inUse: found.filter((leftover) => leftover.inUse), dryRun: options.dryRun === true };
}
