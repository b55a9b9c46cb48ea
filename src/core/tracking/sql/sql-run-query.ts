import { sql, type Kysely, type RawBuilder } from 'kysely';
import { UsageError } from '../../errors.js';
import { expressionError, type Field, type FilterExpression } from '../run-filter.js';
import type { ParamValue, RunInfo, RunRecord, RunStatus } from '../run-store.js';
import type { RunQuery } from '../tracking-store.js';
import type { TrackingDialect } from './tracking-dialect.js';
import type { RunsTable, TrackingSchema } from './tracking-schema.js';

/**
 * `runs list` on the SQL store: the filter language (run-filter.ts) compiled to SQL with the
 * same meaning as on the file store's index (run-index.ts): metrics compare their last value,
 * params and tags compare as numbers when the value is a number and as text otherwise, LIKE
 * is case-sensitive and ILIKE is not, times compare as instants.
 */
const ATTRIBUTE_COLUMNS: Readonly<Record<string, { column: string; type: 'text' | 'time' | 'number' }>> = {
  id: { column: 'r.id', type: 'text' },
  name: { column: 'r.name', type: 'text' },
  experiment: { column: 'r.experiment', type: 'text' },
  status: { column: 'r.status', type: 'text' },
  start_time: { column: 'r.start_ms', type: 'time' },
  end_time: { column: 'r.end_ms', type: 'time' },
  duration: { column: 'r.duration', type: 'number' },
  user: { column: 'r.user_name', type: 'text' },
  host: { column: 'r.host', type: 'text' },
  dataset: { column: 'r.dataset', type: 'text' },
  backend: { column: 'r.backend', type: 'text' },
  task: { column: 'r.task', type: 'text' },
};

function compileFilter(expression: FilterExpression, source: string, dialect: TrackingDialect): RawBuilder<unknown> {
  if (expression.kind !== 'comparison') {
    const left = compileFilter(expression.left, source, dialect);
    const right = compileFilter(expression.right, source, dialect);
    return expression.kind === 'and' ? sql`(${left} AND ${right})` : sql`(${left} OR ${right})`;
  }
  const { field, op, value } = expression;
  const fail = (message: string): never => {
    throw expressionError('INVALID_RUN_FILTER', 'filter', source, expression.valuePosition, message);
  };
  const operator = sql.raw(op);
  const textComparison = (column: RawBuilder<unknown>, text: string): RawBuilder<unknown> => {
    if (op === 'LIKE' || op === 'NOT LIKE') return dialect.like(column, text, op === 'NOT LIKE');
    if (op === 'ILIKE') return dialect.ilike(column, text);
    return sql`${column} ${operator} ${text}`;
  };
  if (field.kind === 'metric') {
    if (op === 'LIKE' || op === 'ILIKE' || op === 'NOT LIKE') fail(`${op} applies to text, and metrics are numbers`);
    const number = typeof value === 'number' ? value : Number(value);
    if (typeof value === 'string' && (value.trim() === '' || !Number.isFinite(number))) fail(`metrics are numbers; compare metrics.${field.key} with a number`);
    return sql`r.id IN (SELECT run_id FROM tracking_latest_metrics WHERE key = ${field.key} AND value ${operator} ${number})`;
  }
  if (field.kind === 'param' || field.kind === 'tag') {
    const table = sql.raw(field.kind === 'param' ? 'tracking_params' : 'tracking_tags');
    const textColumn = sql.raw(field.kind === 'param' ? 'text' : 'value');
    if (typeof value === 'number') return sql`r.id IN (SELECT run_id FROM ${table} WHERE key = ${field.key} AND num ${operator} ${value})`;
    return sql`r.id IN (SELECT run_id FROM ${table} WHERE key = ${field.key} AND ${textComparison(textColumn, value)})`;
  }
  if (field.kind !== 'attribute') return sql`FALSE`;
  const attribute = ATTRIBUTE_COLUMNS[field.name]!;
  const column = sql.raw(attribute.column);
  if (attribute.type === 'text') {
    if (typeof value === 'number') fail(`${field.name} is text; quote the value ('${value}')`);
    return textComparison(column, field.name === 'status' ? (value as string).toUpperCase() : (value as string));
  }
  if (op === 'LIKE' || op === 'ILIKE' || op === 'NOT LIKE') fail(`${op} applies to text, and ${field.name} is a ${attribute.type === 'time' ? 'time' : 'number'}`);
  let operand: number;
  if (attribute.type === 'time' && typeof value === 'string') {
    operand = Date.parse(value);
    if (Number.isNaN(operand)) fail(`"${value}" is not a date or time (use e.g. '2025-06-01' or '2025-06-01T12:00:00Z')`);
  } else if (typeof value === 'string') {
    operand = fail(`${field.name} is a number (seconds); compare it with a number`);
  } else operand = value;
  return sql`${column} ${operator} ${operand}`;
}

function orderExpressions(field: Field): RawBuilder<unknown>[] {
  if (field.kind === 'metric') return [sql`(SELECT value FROM tracking_latest_metrics m WHERE m.run_id = r.id AND m.key = ${field.key})`];
  if (field.kind === 'param' || field.kind === 'tag') {
    const table = sql.raw(field.kind === 'param' ? 'tracking_params' : 'tracking_tags');
    const textColumn = sql.raw(field.kind === 'param' ? 'text' : 'value');
    // Numbers in numeric order first, then text.
    return [sql`(SELECT num FROM ${table} t WHERE t.run_id = r.id AND t.key = ${field.key})`, sql`(SELECT ${textColumn} FROM ${table} t WHERE t.run_id = r.id AND t.key = ${field.key})`];
  }
  if (field.kind === 'attribute') return [sql.raw(ATTRIBUTE_COLUMNS[field.name]!.column)];
  return [];
}

/** The WHERE clause of a query: lifecycle, experiment and filter. */
function whereOf(query: RunQuery, dialect: TrackingDialect): RawBuilder<unknown> {
  const conditions: RawBuilder<unknown>[] = [];
  const lifecycle = query.lifecycle ?? 'active';
  if (lifecycle === 'active') conditions.push(sql`r.deleted_time IS NULL`);
  if (lifecycle === 'deleted') conditions.push(sql`r.deleted_time IS NOT NULL`);
  if (query.experiment !== undefined) conditions.push(sql`r.experiment = ${query.experiment}`);
  if (query.filter !== undefined) conditions.push(compileFilter(query.filter, query.filterSource ?? '', dialect));
  return conditions.length === 0 ? sql`TRUE` : sql.join(conditions, sql` AND `);
}

/**
 * Two steps, as on the file store's index: the page of matching ids (with the total before
 * the limit from the same pass, `count(*) OVER ()`), then the details of those runs only.
 */
export async function queryRunRows(
  db: Kysely<TrackingSchema>,
  dialect: TrackingDialect,
  query: RunQuery,
): Promise<{ rows: RunRow[]; total: number }> {
  if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 0)) {
    throw new UsageError('INVALID_LIMIT', `--limit must be a whole number ≥ 0, got ${query.limit}`);
  }
  const order: RawBuilder<unknown>[] = [];
  for (const term of query.orderBy ?? []) {
    for (const expression of orderExpressions(term.field)) order.push(term.descending ? sql`${expression} DESC NULLS LAST` : sql`${expression} ASC NULLS LAST`);
  }
  order.push(sql`r.start_ms DESC`, sql`r.id DESC`);
  const limit = query.limit !== undefined && query.limit > 0 ? sql`LIMIT ${query.limit}` : sql``;
  const page = await sql<{ id: string; total: number | string }>`SELECT r.id, count(*) OVER () AS total FROM tracking_runs r WHERE ${whereOf(query, dialect)} ORDER BY ${sql.join(order, sql`, `)} ${limit}`.execute(db);
  if (page.rows.length === 0) return { rows: [], total: 0 };
  const ids = page.rows.map((row) => row.id);
  return { rows: await readRunRows(db, ids), total: Number(page.rows[0]!.total) };
}

/** A run's row with its params, tags and last metric values, as one record. */
export interface RunRow {
  readonly run: RunsTable;
  readonly params: Record<string, ParamValue>;
  readonly tags: Record<string, string>;
  readonly metrics: Record<string, number>;
}

/** The runs with these ids, in this order, with their params, tags and last metric values. */
export async function readRunRows(db: Kysely<TrackingSchema>, ids: readonly string[]): Promise<RunRow[]> {
  if (ids.length === 0) return [];
  const [runs, params, tags, metrics] = await Promise.all([
    db.selectFrom('tracking_runs').selectAll().where('id', 'in', ids).execute(),
    db.selectFrom('tracking_params').select(['run_id', 'key', 'json']).where('run_id', 'in', ids).execute(),
    db.selectFrom('tracking_tags').select(['run_id', 'key', 'value']).where('run_id', 'in', ids).execute(),
    db.selectFrom('tracking_latest_metrics').select(['run_id', 'key', 'value']).where('run_id', 'in', ids).execute(),
  ]);
  const byId = new Map(runs.map((run) => [run.id, { run, params: [] as [string, ParamValue][], tags: [] as [string, string][], metrics: [] as [string, number][] }]));
  for (const p of params) byId.get(p.run_id)?.params.push([p.key, JSON.parse(p.json) as ParamValue]);
  for (const t of tags) byId.get(t.run_id)?.tags.push([t.key, t.value]);
  // Not finite is null in the table and NaN here, as on the file store's index.
  for (const m of metrics) byId.get(m.run_id)?.metrics.push([m.key, m.value === null ? Number.NaN : Number(m.value)]);
  const out: RunRow[] = [];
  for (const id of ids) {
    const entry = byId.get(id);
    if (entry === undefined) continue;
    out.push({ run: entry.run, params: sortedRecord(entry.params), tags: sortedRecord(entry.tags), metrics: sortedRecord(entry.metrics) });
  }
  return out;
}

/** Keys in code-unit order, as the file store and its index sort them whatever the database's collation. */
function sortedRecord<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** RunInfo from a row, field for field as the file store reads run.json. */
export function runInfoOf(run: RunsTable): RunInfo {
  return {
    id: run.id,
    name: run.name,
    experiment: run.experiment,
    status: run.status as RunStatus,
    startTime: run.start_text,
    endTime: run.end_text,
    pid: Number(run.pid),
    host: run.host,
    user: run.user_name,
    gitCommit: run.git_commit,
    commandLine: run.command_line,
    task: run.task,
    datasetSha256: run.dataset,
    backend: run.backend,
    note: run.note,
  };
}

/** The record `runs list` and `runs show` print, with the status to show. */
export function runRecordOf(row: RunRow, effectiveStatus: (info: RunInfo) => { status: RunStatus; detail?: string }): RunRecord {
  const info = runInfoOf(row.run);
  const { status, detail } = effectiveStatus(info);
  return {
    info: status === info.status ? info : { ...info, status },
    params: row.params,
    tags: row.tags,
    metrics: row.metrics,
    artifactUri: row.run.artifact_uri,
    deleted: row.run.deleted_time !== null,
    ...(detail === undefined ? {} : { statusDetail: detail }),
  };
}
