import { UsageError } from '../errors.js';
import { nearNames } from '../text/near-names.js';
import { validateExperimentName } from './names.js';
import { parseOrderBy, parseRunFilter, type FilterExpression, type OrderTerm } from './run-filter.js';
import type { MetricPoint, ParamValue, RunRecord, RunStore } from './run-store.js';
import type { Lifecycle, QueryNotes, RunArtifact, RunArtifacts, RunCatalog, RunKey, RunKeyKind } from './tracking-store.js';

/** The queries behind `mlctl runs …`, on any tracking store (see tracking-store.ts). */

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
  readonly notes: QueryNotes;
}

/**
 * Parses everything first (bad input exits 2 before any I/O), refuses a filter or order that
 * names a key no run has (see unknownKeyError), then asks the store.
 */
export async function listRuns(store: Pick<RunCatalog, 'queryRuns' | 'unknownKeys' | 'knownKeys'> & { readonly location: string }, options: ListRunsOptions): Promise<ListRunsResult> {
  const filter = options.filter === undefined ? undefined : parseRunFilter(options.filter);
  const orderBy = options.orderBy === undefined ? undefined : parseOrderBy(options.orderBy);
  if (options.experiment !== undefined) validateExperimentName(options.experiment);
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) {
    throw new UsageError('INVALID_LIMIT', `--limit must be a whole number ≥ 0, got ${options.limit}`);
  }
  const named = namedKeys(filter, orderBy);
  if (named.length > 0) {
    const unknown = await store.unknownKeys(named);
    if (unknown.length > 0) {
      const [metric, param, tag] = await Promise.all([store.knownKeys('metric'), store.knownKeys('param'), store.knownKeys('tag')]);
      throw unknownKeyError(unknown, { metric, param, tag }, store.location);
    }
  }
  const result = await store.queryRuns({
    ...(options.experiment === undefined ? {} : { experiment: options.experiment }),
    ...(filter === undefined ? {} : { filter, filterSource: options.filter }),
    ...(orderBy === undefined ? {} : { orderBy }),
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    lifecycle: options.lifecycle ?? 'active',
  });
  return { runs: result.runs, total: result.total, notes: result.notes ?? {} };
}

const KIND_PREFIX = { metric: 'metrics', param: 'params', tag: 'tags' } as const;

/** The metric, param and tag keys a filter and an order name. */
export function namedKeys(filter: FilterExpression | undefined, orderBy: readonly OrderTerm[] | undefined): RunKey[] {
  const named = new Map<string, RunKey>();
  const visit = (expression: FilterExpression): void => {
    if (expression.kind !== 'comparison') {
      visit(expression.left);
      visit(expression.right);
    } else if (expression.field.kind !== 'attribute') named.set(`${KIND_PREFIX[expression.field.kind]}.${expression.field.key}`, { kind: expression.field.kind, key: expression.field.key });
  };
  if (filter !== undefined) visit(filter);
  for (const term of orderBy ?? []) if (term.field.kind !== 'attribute') named.set(`${KIND_PREFIX[term.field.kind]}.${term.field.key}`, { kind: term.field.kind, key: term.field.key });
  return [...named.values()];
}

/**
 * A filter or order naming a metric, param or tag that no run in the store has is a typo far
 * more often than a question whose answer is "none": a usage error names each such key with
 * the near names runs do have (the stores skip the check when they hold no run).
 */
export function unknownKeyError(unknown: readonly RunKey[], known: Readonly<Record<RunKeyKind, readonly string[]>>, location: string): UsageError {
  const sets = { metric: new Set(known.metric), param: new Set(known.param), tag: new Set(known.tag) };
  const label = (field: RunKey): string => `${KIND_PREFIX[field.kind]}.${field.key}`;
  const problems = unknown.map((field) => {
    const prefix = KIND_PREFIX[field.kind];
    const sameKind = nearNames(field.key, sets[field.kind]).map((k) => `${prefix}.${k}`);
    // A key of another kind (params.auc for metrics.auc) is a near name too.
    const otherKinds = (['metric', 'param', 'tag'] as const).filter((k) => k !== field.kind && sets[k].has(field.key)).map((k) => `${KIND_PREFIX[k]}.${field.key}`);
    const near = [...otherKinds, ...sameKind];
    if (near.length > 0) return `${label(field)}: no run has it; did you mean ${near.join(' or ')}?`;
    const all = [...sets[field.kind]];
    return `${label(field)}: no run has it; runs have ${all.length === 0 ? `no ${prefix}` : `${prefix} ${all.slice(0, 12).join(', ')}${all.length > 12 ? ', …' : ''}`}`;
  });
  return new UsageError('UNKNOWN_RUN_KEY', `no run in ${location} has ${unknown.map(label).join(', ')}`, {
    problems,
    hint: 'keys are case-sensitive; `mlctl runs show <run>` lists the params, metrics and tags of a run',
  });
}

export interface RunDetails {
  readonly run: RunRecord;
  readonly history: Readonly<Record<string, readonly MetricPoint[]>>;
  readonly artifacts: readonly RunArtifact[];
}

export async function showRun(store: Pick<RunStore, 'getRun'> & Pick<RunCatalog, 'getMetricHistories'> & Pick<RunArtifacts, 'listArtifacts'>, id: string): Promise<RunDetails> {
  const run = await store.getRun(id);
  const [history, artifacts] = await Promise.all([store.getMetricHistories(run.info.id), store.listArtifacts(run.info.id)]);
  return { run, history, artifacts };
}

export interface RunComparison {
  readonly runs: readonly { id: string; name: string; experiment: string; status: string }[];
  /** key → value per run (null when a run lacks it). */
  readonly params: Readonly<Record<string, readonly (ParamValue | undefined)[]>>;
  readonly metrics: Readonly<Record<string, readonly (number | null)[]>>;
  readonly differentParams: readonly string[];
  readonly differentMetrics: readonly string[];
}

export async function compareRuns(store: Pick<RunStore, 'getRun'>, ids: readonly string[]): Promise<RunComparison> {
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

