import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { isRunId } from './run-id.js';
import { DamagedFileError, listExperimentDirsSync, readRunDirSync, type RunSnapshot } from './run-files.js';
import { expressionError, type Field, type FilterExpression, type OrderTerm } from './run-filter.js';
import type { ParamValue, RunInfo, RunRecord, RunStatus } from './run-store.js';

/**
 * The derived index: a SQLite file under `<root>/.index/` that answers `runs list` without
 * reading every run folder. The files stay the source of truth. Freshness is checked on
 * every use, cheaply: one stat per experiment folder (runs added or removed, by mlctl,
 * `git pull`, a sync or by hand) and one per run folder (run.json, tags.json or
 * deleted.json replaced: each is a rename, which changes the folder's mtime). Runs still
 * RUNNING are re-read every time, since metric appends change no folder's mtime.
 * A missing, corrupt or older-schema index is rebuilt from scratch.
 */

/** The few better-sqlite3 methods used here (as Kysely's dialect does). */
export interface SqliteStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F };
  close(): unknown;
}
export type OpenDatabase = (path: string) => SqliteDatabase;

export const INDEX_DIR = '.index';
const INDEX_FILE = 'runs.sqlite';
/** Bump when the schema or what is derived changes: older indexes are rebuilt. */
const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE experiments (name TEXT PRIMARY KEY, mtime REAL NOT NULL);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  experiment TEXT NOT NULL,
  dir_mtime REAL NOT NULL,
  broken TEXT,
  name TEXT, status TEXT, recorded_status TEXT, status_detail TEXT,
  start_time INTEGER, end_time INTEGER, duration REAL,
  user TEXT, host TEXT, dataset TEXT, backend TEXT, task TEXT,
  deleted INTEGER NOT NULL DEFAULT 0,
  info TEXT
);
CREATE INDEX runs_experiment ON runs(experiment);
CREATE INDEX runs_start ON runs(start_time);
CREATE TABLE params (run_id TEXT NOT NULL, key TEXT NOT NULL, json TEXT NOT NULL, text TEXT, num REAL, PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE INDEX params_key_num ON params(key, num);
CREATE INDEX params_key_text ON params(key, text);
CREATE TABLE metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value REAL, PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE INDEX metrics_key_value ON metrics(key, value);
CREATE TABLE tags (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, num REAL, PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE INDEX tags_key_value ON tags(key, value);
`;

export interface RunIndexOptions {
  readonly root: string;
  /** The status to show: a dead RUNNING run becomes FAILED (see FileRunStore). */
  readonly effectiveStatus: (info: RunInfo) => { status: RunStatus; detail?: string };
  readonly openDatabase?: OpenDatabase;
}

export interface RefreshStats {
  readonly rebuilt: boolean;
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  /** Run folders that could not be read (see `runs verify`). */
  readonly broken: number;
}

export type Lifecycle = 'active' | 'deleted' | 'all';

export interface RunQuery {
  readonly experiment?: string;
  readonly filter?: FilterExpression;
  /** The filter's source text, for errors that point into it. */
  readonly filterSource?: string;
  readonly orderBy?: readonly OrderTerm[];
  /** 0 or undefined: no limit. */
  readonly limit?: number;
  readonly lifecycle?: Lifecycle;
}

export interface RunQueryResult {
  readonly runs: readonly RunRecord[];
  /** Matching runs before the limit. */
  readonly total: number;
}

export interface RunIndex {
  /** Brings the index up to date with the files (incrementally). */
  refresh(): RefreshStats;
  /** Throws the index away and reads every run folder again. */
  rebuild(): RefreshStats;
  query(query: RunQuery): RunQueryResult;
  close(): void;
}

function defaultOpenDatabase(path: string): SqliteDatabase {
  // better-sqlite3 is CommonJS and native: required on first use, never at start-up.
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => SqliteDatabase;
  return new Database(path);
}

interface RunRow {
  id: string;
  experiment: string;
  dir_mtime: number;
  broken: string | null;
  recorded_status: string | null;
}

export function openRunIndex(options: RunIndexOptions): RunIndex {
  const { root, effectiveStatus } = options;
  const open = options.openDatabase ?? defaultOpenDatabase;
  const dir = join(root, INDEX_DIR);
  const file = join(dir, INDEX_FILE);
  mkdirSync(dir, { recursive: true });
  // The index is derived: keep it out of git without asking the user to edit .gitignore.
  try {
    writeFileSync(join(dir, '.gitignore'), '*\n', { flag: 'wx' });
  } catch {
    // Already there.
  }

  let db: SqliteDatabase;
  let rebuiltOnOpen = false;
  const initialise = (database: SqliteDatabase): void => {
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('busy_timeout = 30000');
    const version = database.pragma('user_version', { simple: true }) as number;
    if (version !== SCHEMA_VERSION) {
      database.exec('DROP TABLE IF EXISTS experiments; DROP TABLE IF EXISTS runs; DROP TABLE IF EXISTS params; DROP TABLE IF EXISTS metrics; DROP TABLE IF EXISTS tags;');
      database.exec(SCHEMA);
      database.pragma(`user_version = ${SCHEMA_VERSION}`);
      rebuiltOnOpen = true;
    }
  };
  try {
    db = open(file);
    initialise(db);
    db.prepare('SELECT count(*) FROM runs').get();
  } catch {
    // Corrupt or unreadable: it is only derived data, start again.
    try {
      db!?.close();
    } catch {
      // Ignore.
    }
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    db = open(file);
    initialise(db);
  }

  const statements = {
    experiments: db.prepare('SELECT name, mtime FROM experiments'),
    upsertExperiment: db.prepare('INSERT INTO experiments(name, mtime) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET mtime = excluded.mtime'),
    deleteExperiment: db.prepare('DELETE FROM experiments WHERE name = ?'),
    runsOf: db.prepare('SELECT id, experiment, dir_mtime, broken, recorded_status FROM runs WHERE experiment = ?'),
    allRuns: db.prepare('SELECT id, experiment, dir_mtime, broken, recorded_status FROM runs'),
    deleteRun: db.prepare('DELETE FROM runs WHERE id = ?'),
    deleteParams: db.prepare('DELETE FROM params WHERE run_id = ?'),
    deleteMetrics: db.prepare('DELETE FROM metrics WHERE run_id = ?'),
    deleteTags: db.prepare('DELETE FROM tags WHERE run_id = ?'),
    insertRun: db.prepare(`INSERT OR REPLACE INTO runs
      (id, experiment, dir_mtime, broken, name, status, recorded_status, status_detail, start_time, end_time, duration, user, host, dataset, backend, task, deleted, info)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    insertParam: db.prepare('INSERT OR REPLACE INTO params(run_id, key, json, text, num) VALUES (?, ?, ?, ?, ?)'),
    insertMetric: db.prepare('INSERT OR REPLACE INTO metrics(run_id, key, value) VALUES (?, ?, ?)'),
    insertTag: db.prepare('INSERT OR REPLACE INTO tags(run_id, key, value, num) VALUES (?, ?, ?, ?)'),
  };

  function removeRun(id: string): void {
    statements.deleteRun.run(id);
    statements.deleteParams.run(id);
    statements.deleteMetrics.run(id);
    statements.deleteTags.run(id);
  }

  /** (Re)reads one run folder into the index. Returns false when it could not be read. */
  function indexRun(experiment: string, id: string): boolean {
    const runDir = join(root, experiment, id);
    let mtime: number;
    try {
      // Taken before reading: a write during the read changes it again and is caught next time.
      mtime = statSync(runDir).mtimeMs;
    } catch {
      removeRun(id);
      return true;
    }
    let snapshot: RunSnapshot;
    try {
      snapshot = readRunDirSync(runDir);
    } catch (error) {
      removeRun(id);
      const problem = error instanceof DamagedFileError ? error.message : (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'run.json is missing' : String(error);
      statements.insertRun.run(id, experiment, mtime, problem, null, null, null, null, null, null, null, null, null, null, null, null, 0, null);
      return false;
    }
    writeSnapshot(experiment, id, mtime, snapshot);
    return true;
  }

  function writeSnapshot(experiment: string, id: string, mtime: number, snapshot: RunSnapshot): void {
    const { info } = snapshot;
    const { status, detail } = effectiveStatus(info);
    const start = Date.parse(info.startTime);
    const end = info.endTime === null ? null : Date.parse(info.endTime);
    removeRun(id);
    statements.insertRun.run(
      id, experiment, mtime, null, info.name, status, info.status, detail ?? null,
      Number.isNaN(start) ? null : start,
      end === null || Number.isNaN(end) ? null : end,
      end === null || Number.isNaN(end) || Number.isNaN(start) ? null : (end - start) / 1000,
      info.user, info.host, info.datasetSha256, info.backend, info.task,
      snapshot.deleted ? 1 : 0,
      JSON.stringify(info),
    );
    for (const [key, value] of Object.entries(snapshot.params)) {
      const text = value === null ? 'null' : String(value);
      statements.insertParam.run(id, key, JSON.stringify(value), text, numeric(value));
    }
    for (const [key, value] of Object.entries(snapshot.metrics)) statements.insertMetric.run(id, key, Number.isFinite(value) ? value : null);
    for (const [key, value] of Object.entries(snapshot.tags)) statements.insertTag.run(id, key, value, numeric(value));
  }

  function sync(full: boolean): RefreshStats {
    let added = 0;
    let updated = 0;
    let removed = 0;
    const run = db.transaction(() => {
      if (full) db.exec('DELETE FROM experiments; DELETE FROM runs; DELETE FROM params; DELETE FROM metrics; DELETE FROM tags;');
      const known = new Map((statements.experiments.all() as { name: string; mtime: number }[]).map((e) => [e.name, e.mtime]));
      const onDisk = listExperimentDirsSync(root);
      for (const gone of [...known.keys()].filter((name) => !onDisk.includes(name))) {
        for (const row of statements.runsOf.all(gone) as RunRow[]) {
          removeRun(row.id);
          removed += 1;
        }
        statements.deleteExperiment.run(gone);
      }
      for (const experiment of onDisk) {
        const experimentDir = join(root, experiment);
        let mtime: number;
        try {
          mtime = statSync(experimentDir).mtimeMs;
        } catch {
          continue;
        }
        const rows = statements.runsOf.all(experiment) as RunRow[];
        if (known.get(experiment) !== mtime) {
          // Runs were added or removed here: reconcile the listing.
          const ids = new Set(readdirSync(experimentDir).filter(isRunId));
          const indexed = new Set(rows.map((r) => r.id));
          for (const id of ids) {
            if (!indexed.has(id)) {
              indexRun(experiment, id);
              added += 1;
            }
          }
          for (const id of indexed) {
            if (!ids.has(id)) {
              removeRun(id);
              removed += 1;
            }
          }
          statements.upsertExperiment.run(experiment, mtime);
        }
        for (const row of rows) {
          if (!full && row.recorded_status !== 'RUNNING' && row.broken === null) {
            let runMtime: number | undefined;
            try {
              runMtime = statSync(join(experimentDir, row.id)).mtimeMs;
            } catch {
              runMtime = undefined;
            }
            if (runMtime === row.dir_mtime) continue;
            if (runMtime === undefined) continue; // Removed: handled by the listing above.
          } else if (!full && row.broken !== null) {
            let runMtime: number | undefined;
            try {
              runMtime = statSync(join(experimentDir, row.id)).mtimeMs;
            } catch {
              continue;
            }
            if (runMtime === row.dir_mtime) continue;
          }
          indexRun(experiment, row.id);
          updated += 1;
        }
      }
    });
    run.immediate();
    const broken = (db.prepare('SELECT count(*) AS n FROM runs WHERE broken IS NOT NULL').get() as { n: number }).n;
    return { rebuilt: full, added, updated, removed, broken };
  }

  let refreshedOnce = false;
  return {
    refresh() {
      // A freshly created schema is empty: the incremental path fills it completely.
      const stats = sync(false);
      const result = rebuiltOnOpen && !refreshedOnce ? { ...stats, rebuilt: true } : stats;
      refreshedOnce = true;
      return result;
    },
    rebuild() {
      refreshedOnce = true;
      return sync(true);
    },
    query(query) {
      return runQuery(db, root, query);
    },
    close() {
      db.close();
    },
  };
}

function numeric(value: ParamValue): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

const ATTRIBUTE_COLUMNS: Readonly<Record<string, { column: string; type: 'text' | 'time' | 'number' }>> = {
  id: { column: 'r.id', type: 'text' },
  name: { column: 'r.name', type: 'text' },
  experiment: { column: 'r.experiment', type: 'text' },
  status: { column: 'r.status', type: 'text' },
  start_time: { column: 'r.start_time', type: 'time' },
  end_time: { column: 'r.end_time', type: 'time' },
  duration: { column: 'r.duration', type: 'number' },
  user: { column: 'r.user', type: 'text' },
  host: { column: 'r.host', type: 'text' },
  dataset: { column: 'r.dataset', type: 'text' },
  backend: { column: 'r.backend', type: 'text' },
  task: { column: 'r.task', type: 'text' },
};

/** SQL LIKE pattern (%, _, backslash escapes) → GLOB pattern, which is case-sensitive. */
export function likeToGlob(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      out += globLiteral(pattern[i + 1]!);
      i += 1;
    } else if (c === '%') out += '*';
    else if (c === '_') out += '?';
    else out += globLiteral(c);
  }
  return out;
}

function globLiteral(c: string): string {
  return c === '*' || c === '?' || c === '[' ? `[${c}]` : c;
}

function compileFilter(expression: FilterExpression, source: string, args: unknown[]): string {
  if (expression.kind !== 'comparison') {
    return `(${compileFilter(expression.left, source, args)} ${expression.kind.toUpperCase()} ${compileFilter(expression.right, source, args)})`;
  }
  const { field, op, value } = expression;
  const fail = (message: string): never => {
    throw expressionError('INVALID_RUN_FILTER', 'filter', source, expression.valuePosition, message);
  };
  const textComparison = (column: string, text: string): string => {
    if (op === 'LIKE') {
      args.push(likeToGlob(text));
      return `${column} GLOB ?`;
    }
    if (op === 'NOT LIKE') {
      args.push(likeToGlob(text));
      return `${column} NOT GLOB ?`;
    }
    if (op === 'ILIKE') {
      args.push(text);
      return `${column} LIKE ? ESCAPE '\\'`;
    }
    args.push(text);
    return `${column} ${op} ?`;
  };
  if (field.kind === 'metric') {
    args.push(field.key, value);
    return `r.id IN (SELECT run_id FROM metrics WHERE key = ? AND value ${op} ?)`;
  }
  if (field.kind === 'param' || field.kind === 'tag') {
    const table = field.kind === 'param' ? 'params' : 'tags';
    const textColumn = field.kind === 'param' ? 'text' : 'value';
    args.push(field.key);
    if (typeof value === 'number') {
      args.push(value);
      return `r.id IN (SELECT run_id FROM ${table} WHERE key = ? AND num ${op} ?)`;
    }
    return `r.id IN (SELECT run_id FROM ${table} WHERE key = ? AND ${textComparison(textColumn, value)})`;
  }
  if (field.kind !== 'attribute') return 'FALSE';
  const attribute = ATTRIBUTE_COLUMNS[field.name]!;
  if (attribute.type === 'text') {
    if (typeof value === 'number') fail(`${field.name} is text; quote the value ('${value}')`);
    const text = field.name === 'status' ? (value as string).toUpperCase() : (value as string);
    return textComparison(attribute.column, text);
  }
  if (op === 'LIKE' || op === 'ILIKE' || op === 'NOT LIKE') fail(`${op} applies to text, and ${field.name} is a ${attribute.type === 'time' ? 'time' : 'number'}`);
  let operand: number;
  if (attribute.type === 'time' && typeof value === 'string') {
    operand = Date.parse(value);
    if (Number.isNaN(operand)) fail(`"${value}" is not a date or time (use e.g. '2025-06-01' or '2025-06-01T12:00:00Z')`);
  } else if (typeof value === 'string') {
    operand = fail(`${field.name} is a number (seconds); compare it with a number`);
  } else operand = value;
  args.push(operand);
  return `${attribute.column} ${op} ?`;
}

function orderExpressions(field: Field, args: unknown[]): string[] {
  if (field.kind === 'metric') {
    args.push(field.key);
    return ['(SELECT value FROM metrics WHERE run_id = r.id AND key = ?)'];
  }
  if (field.kind === 'param' || field.kind === 'tag') {
    const table = field.kind === 'param' ? 'params' : 'tags';
    const textColumn = field.kind === 'param' ? 'text' : 'value';
    args.push(field.key, field.key);
    // Numbers in numeric order first, then text.
    return [`(SELECT num FROM ${table} WHERE run_id = r.id AND key = ?)`, `(SELECT ${textColumn} FROM ${table} WHERE run_id = r.id AND key = ?)`];
  }
  if (field.kind === 'attribute') return [ATTRIBUTE_COLUMNS[field.name]!.column];
  return [];
}

function runQuery(db: SqliteDatabase, root: string, query: RunQuery): RunQueryResult {
  const where: string[] = ['r.broken IS NULL'];
  const args: unknown[] = [];
  const lifecycle = query.lifecycle ?? 'active';
  if (lifecycle === 'active') where.push('r.deleted = 0');
  if (lifecycle === 'deleted') where.push('r.deleted = 1');
  if (query.experiment !== undefined) {
    where.push('r.experiment = ?');
    args.push(query.experiment);
  }
  if (query.filter !== undefined) where.push(compileFilter(query.filter, query.filterSource ?? '', args));
  const whereSql = where.join(' AND ');
  const total = (db.prepare(`SELECT count(*) AS n FROM runs r WHERE ${whereSql}`).get(...args) as { n: number }).n;

  const orderArgs: unknown[] = [];
  const order: string[] = [];
  for (const term of query.orderBy ?? []) {
    for (const expression of orderExpressions(term.field, orderArgs)) order.push(`${expression} ${term.descending ? 'DESC' : 'ASC'} NULLS LAST`);
  }
  order.push('r.start_time DESC', 'r.id DESC');
  const limit = query.limit !== undefined && query.limit > 0 ? query.limit : -1;
  if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 0)) {
    throw new UsageError('INVALID_LIMIT', `--limit must be a whole number ≥ 0, got ${query.limit}`);
  }
  const rows = db
    .prepare(`SELECT r.id, r.experiment, r.status, r.status_detail, r.deleted, r.info FROM runs r WHERE ${whereSql} ORDER BY ${order.join(', ')} LIMIT ?`)
    .all(...args, ...orderArgs, limit) as { id: string; experiment: string; status: RunStatus; status_detail: string | null; deleted: number; info: string }[];
  if (rows.length === 0) return { runs: [], total };

  const ids = rows.map((r) => r.id);
  const placeholders = ids.map(() => '?').join(',');
  const params = groupBy(db.prepare(`SELECT run_id, key, json FROM params WHERE run_id IN (${placeholders}) ORDER BY key`).all(...ids) as { run_id: string; key: string; json: string }[]);
  const metrics = groupBy(db.prepare(`SELECT run_id, key, value FROM metrics WHERE run_id IN (${placeholders}) ORDER BY key`).all(...ids) as { run_id: string; key: string; value: number | null }[]);
  const tags = groupBy(db.prepare(`SELECT run_id, key, value FROM tags WHERE run_id IN (${placeholders}) ORDER BY key`).all(...ids) as { run_id: string; key: string; value: string }[]);

  const runs = rows.map((row): RunRecord => {
    const info = JSON.parse(row.info) as RunInfo;
    return {
      info: { ...info, status: row.status },
      params: Object.fromEntries((params.get(row.id) ?? []).map((p) => [p.key, JSON.parse(p.json) as ParamValue])),
      tags: Object.fromEntries((tags.get(row.id) ?? []).map((t) => [t.key, t.value])),
      metrics: Object.fromEntries((metrics.get(row.id) ?? []).map((m) => [m.key, m.value ?? Number.NaN])),
      dir: join(root, row.experiment, row.id),
      deleted: row.deleted === 1,
      ...(row.status_detail === null ? {} : { statusDetail: row.status_detail }),
    };
  });
  return { runs, total };
}

function groupBy<T extends { run_id: string }>(rows: readonly T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const list = map.get(row.run_id);
    if (list === undefined) map.set(row.run_id, [row]);
    else list.push(row);
  }
  return map;
}
