import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { isRunId } from './run-id.js';
import { DamagedFileError, listExperimentDirsSync, readRunDirSync, type RunSnapshot } from './run-files.js';
import { expressionError, type Field, type FilterExpression } from './run-filter.js';
import type { FileRunRecord, FileRunStore } from './file-run-store.js';
import type { ParamValue, RunInfo, RunStatus } from './run-store.js';
import type { RunQuery } from './tracking-store.js';

/**
 * The derived index: a SQLite file under `<root>/.index/` that answers `runs list` without
 * reading every run folder. The files stay the source of truth; the index is git-ignored
 * and rebuilt from scratch when missing, corrupt or of an older schema.
 *
 * Freshness is checked on every use, cheaply:
 * - one stat per experiment folder: runs added or removed (by mlctl, `git pull`, a sync or
 *   by hand) change its mtime, and the experiment is then re-listed and its runs' folder
 *   mtimes compared (run.json, tags.json, deleted.json are replaced by rename, which
 *   changes the run folder's mtime);
 * - mlctl's own changes to existing runs (tags, delete, restore) touch the experiment
 *   folder too (see FileRunStore), so they are seen at once;
 * - RUNNING runs are re-read every time, since metric appends change no folder's mtime, and
 *   so are runs that could not be read (their repair may be an in-place write);
 * - every FULL_SWEEP_INTERVAL_MS, every run folder's mtime is compared, which catches
 *   edits made in place by other tools; `runs verify` rebuilds everything.
 */
/** The few better-sqlite3 methods used here (as Kysely's dialect does). */
export interface SqliteStatement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  /** Rows as arrays instead of objects: cheaper for the freshness sweep. */
  raw(toggle?: boolean): SqliteStatement;
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
const SCHEMA_VERSION = 6;

/**
 * A folder modified this recently may be modified again within the same mtime tick (the
 * kernel's clock is coarse), so its recorded mtime is not trusted: it is checked again on
 * the next refresh ("racily clean", as git calls it).
 */
const RACY_MS = 2_000;
const UNTRUSTED_MTIME = -1;
/** How often a refresh compares every run folder, not only those of changed experiments. */
export const FULL_SWEEP_INTERVAL_MS = 60_000;

/** Integer run and key ids keep the tables and their indexes small and fast. */
const TABLES = `
CREATE TABLE experiments (name TEXT PRIMARY KEY, mtime REAL NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE runs (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  experiment TEXT NOT NULL,
  dir_mtime REAL NOT NULL,
  broken TEXT,
  name TEXT, status TEXT, recorded_status TEXT, status_detail TEXT,
  start_time INTEGER, end_time INTEGER, duration REAL,
  user TEXT, host TEXT, dataset TEXT, backend TEXT, task TEXT,
  deleted INTEGER NOT NULL DEFAULT 0
);
-- Kept apart so that filtering and sorting touch only the slim rows above.
CREATE TABLE infos (rid INTEGER PRIMARY KEY, info TEXT NOT NULL);
CREATE TABLE keys (kid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE params (rid INTEGER NOT NULL, kid INTEGER NOT NULL, json TEXT NOT NULL, text TEXT, num REAL, PRIMARY KEY (rid, kid)) WITHOUT ROWID;
CREATE TABLE metrics (rid INTEGER NOT NULL, kid INTEGER NOT NULL, value REAL, PRIMARY KEY (rid, kid)) WITHOUT ROWID;
CREATE TABLE tags (rid INTEGER NOT NULL, kid INTEGER NOT NULL, value TEXT NOT NULL, num REAL, PRIMARY KEY (rid, kid)) WITHOUT ROWID;
`;
/** Created after a bulk load, which is faster than maintaining them row by row. */
const INDEXES = `
CREATE INDEX IF NOT EXISTS runs_experiment ON runs(experiment);
CREATE INDEX IF NOT EXISTS runs_start ON runs(start_time);
CREATE INDEX IF NOT EXISTS runs_unsettled ON runs(rid) WHERE dir_mtime = -1 OR recorded_status = 'RUNNING' OR broken IS NOT NULL;
CREATE INDEX IF NOT EXISTS params_kid_num ON params(kid, num);
CREATE INDEX IF NOT EXISTS params_kid_text ON params(kid, text);
CREATE INDEX IF NOT EXISTS metrics_kid_value ON metrics(kid, value);
CREATE INDEX IF NOT EXISTS tags_kid_value ON tags(kid, value);
`;
const DROP = 'DROP TABLE IF EXISTS infos; DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS experiments; DROP TABLE IF EXISTS runs; DROP TABLE IF EXISTS keys; DROP TABLE IF EXISTS params; DROP TABLE IF EXISTS metrics; DROP TABLE IF EXISTS tags;';

export interface RunIndexOptions {
  readonly root: string;
  /** The status to show: a dead RUNNING run becomes FAILED (see FileRunStore). */
  readonly effectiveStatus: (info: RunInfo) => { status: RunStatus; detail?: string };
  readonly openDatabase?: OpenDatabase;
  /** Milliseconds since the epoch, for the racy-mtime rule. */
  readonly now?: () => number;
}

export interface RefreshStats {
  readonly rebuilt: boolean;
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
  /** Run folders that could not be read (see `runs verify`). */
  readonly broken: number;
}

export type { Lifecycle, RunQuery } from './tracking-store.js';

export interface RunQueryResult {
  readonly runs: readonly FileRunRecord[];
  /** Matching runs before the limit. */
  readonly total: number;
}

/** A run found by its name (see `findByName`). */
export interface NamedRun {
  readonly id: string;
  readonly experiment: string;
  readonly startTime: string | null;
  readonly deleted: boolean;
}

export interface RunIndex {
  /** Brings the index up to date with the files (incrementally). */
  refresh(): RefreshStats;
  /** Throws the index away and reads every run folder again. */
  rebuild(): RefreshStats;
  query(query: RunQuery): RunQueryResult;
  /** Runs (deleted ones too) with exactly this name, oldest first. Call refresh() first. */
  findByName(name: string): readonly NamedRun[];
  /** The metric, param or tag keys at least one run (deleted ones too) has. Call refresh() first. */
  knownKeys(kind: 'metric' | 'param' | 'tag'): readonly string[];
  /** How many runs the index holds, deleted ones too. */
  runCount(): number;
  close(): void;
}

/** The index of a file store, with the store's rule for the status to show. */
export function openIndexFor(store: Pick<FileRunStore, 'root' | 'effectiveStatus'>): RunIndex {
  return openRunIndex({ root: store.root, effectiveStatus: store.effectiveStatus });
}

function defaultOpenDatabase(path: string): SqliteDatabase {
  // better-sqlite3 is CommonJS and native: required on first use, never at start-up.
  const Database = createRequire(import.meta.url)('better-sqlite3') as new (path: string) => SqliteDatabase;
  return new Database(path);
}

/** [rid, id, experiment, dir_mtime, broken, recorded_status, status (as shown)] */
type SweepRow = [number, string, string, number, string | null, string | null, string | null];

/** What a refresh found to do, gathered before any write so that a fresh index costs no write lock. */
interface Plan {
  /** `added`: not in the index yet. */
  readonly read: { experiment: string; id: string; added?: boolean }[];
  readonly remove: string[];
  readonly experiments: { name: string; mtime: number }[];
  readonly goneExperiments: string[];
  readonly fullSweep: boolean;
}

export function openRunIndex(options: RunIndexOptions): RunIndex {
  const { root, effectiveStatus } = options;
  const now = options.now ?? Date.now;
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

  let rebuiltOnOpen = false;
  const initialise = (database: SqliteDatabase): void => {
    database.pragma('busy_timeout = 30000');
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    // Pages read through a mapping, not copied per read: a cold CLI process touches fewer bytes.
    database.pragma('mmap_size = 268435456');
    const version = database.pragma('user_version', { simple: true }) as number;
    if (version !== SCHEMA_VERSION) {
      database.exec(`BEGIN IMMEDIATE; ${DROP} ${TABLES} ${INDEXES} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
      rebuiltOnOpen = true;
    }
  };
  let db: SqliteDatabase | undefined;
  try {
    db = open(file);
    initialise(db);
    db.prepare('SELECT count(*) FROM runs').get();
  } catch {
    // Corrupt or unreadable: it is only derived data, start again.
    try {
      db?.close();
    } catch {
      // Ignore.
    }
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    db = open(file);
    initialise(db);
  }
  const database = db;

  // Prepared on first use: a query that finds the index fresh prepares only what it needs.
  const statements = lazyStatements({
    experiments: () => database.prepare('SELECT name, mtime FROM experiments'),
    upsertExperiment: () => database.prepare('INSERT INTO experiments(name, mtime) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET mtime = excluded.mtime'),
    deleteExperiment: () => database.prepare('DELETE FROM experiments WHERE name = ?'),
    sweepAll: () => database.prepare('SELECT rid, id, experiment, dir_mtime, broken, recorded_status, status FROM runs').raw(true),
    sweepExperiment: () => database.prepare('SELECT rid, id, experiment, dir_mtime, broken, recorded_status, status FROM runs WHERE experiment = ?').raw(true),
    sweepUnsettled: () => database
      .prepare(`SELECT rid, id, experiment, dir_mtime, broken, recorded_status, status FROM runs WHERE dir_mtime = ${UNTRUSTED_MTIME} OR recorded_status = 'RUNNING' OR broken IS NOT NULL`)
      .raw(true),
    lastFullSweep: () => database.prepare("SELECT value FROM meta WHERE key = 'last_full_sweep'").raw(true),
    setLastFullSweep: () => database.prepare("INSERT INTO meta(key, value) VALUES ('last_full_sweep', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    idsOf: () => database.prepare('SELECT id FROM runs WHERE experiment = ?').raw(true),
    ridOf: () => database.prepare('SELECT rid FROM runs WHERE id = ?').raw(true),
    deleteRun: () => database.prepare('DELETE FROM runs WHERE rid = ?'),
    deleteParams: () => database.prepare('DELETE FROM params WHERE rid = ?'),
    deleteMetrics: () => database.prepare('DELETE FROM metrics WHERE rid = ?'),
    deleteTags: () => database.prepare('DELETE FROM tags WHERE rid = ?'),
    insertRun: () => database.prepare(`INSERT INTO runs
      (id, experiment, dir_mtime, broken, name, status, recorded_status, status_detail, start_time, end_time, duration, user, host, dataset, backend, task, deleted)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING rid`).raw(true),
    insertInfo: () => database.prepare('INSERT OR REPLACE INTO infos(rid, info) VALUES (?, ?)'),
    deleteInfo: () => database.prepare('DELETE FROM infos WHERE rid = ?'),
    keys: () => database.prepare('SELECT name, kid FROM keys').raw(true),
    insertKey: () => database.prepare('INSERT INTO keys(name) VALUES (?) RETURNING kid').raw(true),
    insertParam: () => database.prepare('INSERT OR REPLACE INTO params(rid, kid, json, text, num) VALUES (?, ?, ?, ?, ?)'),
    insertMetric: () => database.prepare('INSERT OR REPLACE INTO metrics(rid, kid, value) VALUES (?, ?, ?)'),
    insertTag: () => database.prepare('INSERT OR REPLACE INTO tags(rid, kid, value, num) VALUES (?, ?, ?, ?)'),
    broken: () => database.prepare('SELECT count(*) AS n FROM runs WHERE broken IS NOT NULL'),
    byName: () => database.prepare('SELECT id, experiment, start_time, deleted FROM runs WHERE name = ? AND broken IS NULL ORDER BY start_time, id'),
  });


  let keyIds: Map<string, number> | undefined;
  function keyId(name: string): number {
    keyIds ??= new Map((statements.keys.all() as [string, number][]).map(([n, k]) => [n, k]));
    let kid = keyIds.get(name);
    if (kid === undefined) {
      kid = (statements.insertKey.get(name) as [number])[0];
      keyIds.set(name, kid);
    }
    return kid;
  }

  function removeRun(id: string): void {
    const row = statements.ridOf.get(id) as [number] | undefined;
    if (row === undefined) return;
    const [rid] = row;
    statements.deleteRun.run(rid);
    statements.deleteParams.run(rid);
    statements.deleteMetrics.run(rid);
    statements.deleteTags.run(rid);
    statements.deleteInfo.run(rid);
  }

  /** A folder's mtime as recorded: untrusted when it is too recent to be final. */
  function recordable(mtime: number): number {
    return now() - mtime < RACY_MS ? UNTRUSTED_MTIME : mtime;
  }

  /** (Re)reads one run folder into the index. */
  function indexRun(experiment: string, id: string): void {
    const runDir = `${root}${sep}${experiment}${sep}${id}`;
    removeRun(id);
    // Taken before reading: a write during the read changes it again and is caught next time.
    const stats = statSync(runDir, { throwIfNoEntry: false });
    if (stats === undefined) return;
    const mtime = recordable(stats.mtimeMs);
    let snapshot: RunSnapshot;
    try {
      snapshot = readRunDirSync(runDir);
    } catch (error) {
      const problem = error instanceof DamagedFileError ? error.message : (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'run.json is missing' : String(error);
      statements.insertRun.get(id, experiment, mtime, problem, null, null, null, null, null, null, null, null, null, null, null, null, 0);
      return;
    }
    const { info } = snapshot;
    const { status, detail } = effectiveStatus(info);
    const start = Date.parse(info.startTime);
    const end = info.endTime === null ? Number.NaN : Date.parse(info.endTime);
    const [rid] = statements.insertRun.get(
      id, experiment, mtime, null, info.name, status, info.status, detail ?? null,
      Number.isNaN(start) ? null : start,
      Number.isNaN(end) ? null : end,
      Number.isNaN(end) || Number.isNaN(start) ? null : (end - start) / 1000,
      info.user, info.host, info.datasetSha256, info.backend, info.task,
      snapshot.deleted ? 1 : 0,
    ) as [number];
    statements.insertInfo.run(rid, JSON.stringify(info));
    for (const [key, value] of Object.entries(snapshot.params)) {
      statements.insertParam.run(rid, keyId(key), JSON.stringify(value), value === null ? 'null' : String(value), numeric(value));
    }
    for (const [key, value] of Object.entries(snapshot.metrics)) statements.insertMetric.run(rid, keyId(key), Number.isFinite(value) ? value : null);
    for (const [key, value] of Object.entries(snapshot.tags)) statements.insertTag.run(rid, keyId(key), value, numeric(value));
  }

  /** Compares the files with the index without writing anything. */
  function plan(): Plan {
    const read: { experiment: string; id: string; added?: boolean }[] = [];
    const remove: string[] = [];
    const experiments: { name: string; mtime: number }[] = [];
    const known = new Map((statements.experiments.all() as { name: string; mtime: number }[]).map((e) => [e.name, e.mtime]));
    const onDisk = listExperimentDirsSync(root);
    const onDiskSet = new Set(onDisk);
    const goneExperiments = [...known.keys()].filter((name) => !onDiskSet.has(name));
    const relisted = new Set<string>();
    for (const experiment of onDisk) {
      const stats = statSync(`${root}${sep}${experiment}`, { throwIfNoEntry: false });
      if (stats === undefined) continue;
      if (known.get(experiment) === stats.mtimeMs) continue;
      // Runs were added or removed here (or it is new, or its mtime was too recent to trust).
      relisted.add(experiment);
      const ids = new Set(readdirSync(`${root}${sep}${experiment}`).filter(isRunId));
      const indexed = new Set((statements.idsOf.all(experiment) as [string][]).map(([id]) => id));
      for (const id of ids) if (!indexed.has(id)) read.push({ experiment, id, added: true });
      for (const id of indexed) if (!ids.has(id)) remove.push(id);
      experiments.push({ name: experiment, mtime: recordable(stats.mtimeMs) });
    }
    // Which runs to compare: all of them now and then, else those of changed experiments and
    // those not settled yet (RUNNING, unreadable, or with an mtime too recent to trust).
    const last = (statements.lastFullSweep.get() as [number] | undefined)?.[0] ?? 0;
    const fullSweep = now() - last >= FULL_SWEEP_INTERVAL_MS;
    const rows: SweepRow[] = fullSweep
      ? (statements.sweepAll.all() as SweepRow[])
      : [...relisted].flatMap((experiment) => statements.sweepExperiment.all(experiment) as SweepRow[]).concat(statements.sweepUnsettled.all() as SweepRow[]);
    const seen = new Set<number>();
    for (const [rid, id, experiment, recorded, broken, recordedStatus, shownStatus] of rows) {
      if (seen.has(rid) || !onDiskSet.has(experiment)) continue;
      seen.add(rid);
      // A live run may have appended metrics; a run whose process is dead cannot, so it is
      // compared by mtime like a finished one.
      if (recordedStatus === 'RUNNING' && shownStatus === 'RUNNING' && broken === null) {
        read.push({ experiment, id });
        continue;
      }
      const stats = statSync(`${root}${sep}${experiment}${sep}${id}`, { throwIfNoEntry: false });
      if (stats === undefined) {
        if (!relisted.has(experiment)) remove.push(id);
        continue;
      }
      // An unreadable run is read again every time: a file repaired in place (an editor, a
      // restore from a copy) changes no folder's mtime, and the run must reappear at once.
      if (broken !== null || stats.mtimeMs !== recorded) read.push({ experiment, id });
    }
    return { read, remove, experiments, goneExperiments, fullSweep };
  }

  function apply(work: Plan): { added: number; updated: number; removed: number } {
    let removed = 0;
    const run = database.transaction(() => {
      for (const gone of work.goneExperiments) {
        for (const [id] of statements.idsOf.all(gone) as [string][]) {
          removeRun(id);
          removed += 1;
        }
        statements.deleteExperiment.run(gone);
      }
      for (const id of work.remove) {
        removeRun(id);
        removed += 1;
      }
      for (const { experiment, id } of work.read) indexRun(experiment, id);
      for (const { name, mtime } of work.experiments) statements.upsertExperiment.run(name, mtime);
      if (work.fullSweep) statements.setLastFullSweep.run(now());
    });
    run.immediate();
    const added = work.read.filter((r) => r.added === true).length;
    return { added, updated: work.read.length - added, removed };
  }

  let refreshedOnce = false;
  function brokenCount(): number {
    return (statements.broken.get() as { n: number }).n;
  }
  return {
    refresh() {
      // A new or outdated index file is empty: the bulk path fills it fastest.
      if (rebuiltOnOpen && !refreshedOnce) return this.rebuild();
      const work = plan();
      const nothingToDo = work.read.length + work.remove.length + work.experiments.length + work.goneExperiments.length === 0 && !work.fullSweep;
      const counts = nothingToDo ? { added: 0, updated: 0, removed: 0 } : apply(work);
      const rebuilt = rebuiltOnOpen && !refreshedOnce;
      refreshedOnce = true;
      return { rebuilt, ...counts, broken: brokenCount() };
    },
    rebuild() {
      refreshedOnce = true;
      // Bulk load into bare tables, then index: much faster than maintaining indexes per row.
      database.exec(`BEGIN IMMEDIATE; ${DROP} ${TABLES} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
      keyIds = undefined;
      let read = 0;
      const load = database.transaction(() => {
        for (const experiment of listExperimentDirsSync(root)) {
          const stats = statSync(`${root}${sep}${experiment}`, { throwIfNoEntry: false });
          if (stats === undefined) continue;
          for (const id of readdirSync(`${root}${sep}${experiment}`).filter(isRunId)) {
            indexRun(experiment, id);
            read += 1;
          }
          statements.upsertExperiment.run(experiment, recordable(stats.mtimeMs));
        }
        database.exec(INDEXES);
        statements.setLastFullSweep.run(now());
      });
      load.immediate();
      return { rebuilt: true, added: read, updated: 0, removed: 0, broken: brokenCount() };
    },
    query(query) {
      return runQuery(database, root, query);
    },
    findByName(name) {
      const rows = statements.byName.all(name) as { id: string; experiment: string; start_time: number | null; deleted: number }[];
      return rows.map((row) => ({
        id: row.id,
        experiment: row.experiment,
        startTime: row.start_time === null ? null : new Date(row.start_time).toISOString(),
        deleted: row.deleted === 1,
      }));
    },
    knownKeys(kind) {
      const table = kind === 'metric' ? 'metrics' : kind === 'param' ? 'params' : 'tags';
      return (database.prepare(`SELECT k.name FROM keys k WHERE EXISTS (SELECT 1 FROM ${table} t WHERE t.kid = k.kid) ORDER BY k.name`).raw(true).all() as [string][]).map(([name]) => name);
    },
    runCount() {
      return (database.prepare('SELECT count(*) FROM runs WHERE broken IS NULL').raw(true).get() as [number])[0];
    },
    close() {
      database.close();
    },
  };
}

function lazyStatements<T extends Record<string, () => SqliteStatement>>(definitions: T): { readonly [K in keyof T]: SqliteStatement } {
  const out = {} as { [K in keyof T]: SqliteStatement };
  for (const [name, prepare] of Object.entries(definitions)) {
    let statement: SqliteStatement | undefined;
    Object.defineProperty(out, name, { get: () => (statement ??= prepare()) });
  }
  return out;
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
    return `r.rid IN (SELECT rid FROM metrics WHERE kid = (SELECT kid FROM keys WHERE name = ?) AND value ${op} ?)`;
  }
  if (field.kind === 'param' || field.kind === 'tag') {
    const table = field.kind === 'param' ? 'params' : 'tags';
    const textColumn = field.kind === 'param' ? 'text' : 'value';
    args.push(field.key);
    if (typeof value === 'number') {
      args.push(value);
      return `r.rid IN (SELECT rid FROM ${table} WHERE kid = (SELECT kid FROM keys WHERE name = ?) AND num ${op} ?)`;
    }
    return `r.rid IN (SELECT rid FROM ${table} WHERE kid = (SELECT kid FROM keys WHERE name = ?) AND ${textComparison(textColumn, value)})`;
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
    return ['(SELECT value FROM metrics WHERE rid = r.rid AND kid = (SELECT kid FROM keys WHERE name = ?))'];
  }
  if (field.kind === 'param' || field.kind === 'tag') {
    const table = field.kind === 'param' ? 'params' : 'tags';
    const textColumn = field.kind === 'param' ? 'text' : 'value';
    args.push(field.key, field.key);
    // Numbers in numeric order first, then text.
    return [`(SELECT num FROM ${table} WHERE rid = r.rid AND kid = (SELECT kid FROM keys WHERE name = ?))`, `(SELECT ${textColumn} FROM ${table} WHERE rid = r.rid AND kid = (SELECT kid FROM keys WHERE name = ?))`];
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

  const orderArgs: unknown[] = [];
  const order: string[] = [];
  for (const term of query.orderBy ?? []) {
    for (const expression of orderExpressions(term.field, orderArgs)) order.push(`${expression} ${term.descending ? 'DESC' : 'ASC'} NULLS LAST`);
  }
  order.push('r.start_time DESC', 'r.id DESC');
  if (query.limit !== undefined && (!Number.isInteger(query.limit) || query.limit < 0)) {
    throw new UsageError('INVALID_LIMIT', `--limit must be a whole number ≥ 0, got ${query.limit}`);
  }
  const limit = query.limit !== undefined && query.limit > 0 ? query.limit : -1;
  // Two steps: pick the page of matches from the slim tables (count(*) OVER () gives the
  // total before LIMIT from the same pass), then read the details of those runs only.
  const page = db
    .prepare(`SELECT r.rid, count(*) OVER () AS total FROM runs r WHERE ${whereSql} ORDER BY ${order.join(', ')} LIMIT ?`)
    .all(...args, ...orderArgs, limit) as { rid: number; total: number }[];
  // With no row there is no window total; without an offset, no row means no match.
  if (page.length === 0) return { runs: [], total: 0 };
  const total = page[0]!.total;
  const pagePlaceholders = page.map(() => '?').join(',');
  const byRid = new Map(
    (db
      .prepare(`SELECT r.rid, r.id, r.experiment, r.status, r.status_detail, r.deleted, i.info FROM runs r JOIN infos i ON i.rid = r.rid WHERE r.rid IN (${pagePlaceholders})`)
      .all(...page.map((p) => p.rid)) as { rid: number; id: string; experiment: string; status: RunStatus; status_detail: string | null; deleted: number; info: string }[]).map((row) => [row.rid, row]),
  );
  const rows = page.map((p) => byRid.get(p.rid)!);

  const rids = rows.map((r) => r.rid);
  const placeholders = rids.map(() => '?').join(',');
  const details = (table: 'params' | 'metrics' | 'tags', column: string) =>
    groupBy(
      db.prepare(`SELECT t.rid, k.name AS key, ${column} AS value FROM ${table} t JOIN keys k ON k.kid = t.kid WHERE t.rid IN (${placeholders}) ORDER BY k.name`).all(...rids) as DetailRow[],
    );
  const params = details('params', 't.json');
  const metrics = details('metrics', 't.value');
  const tags = details('tags', 't.value');

  const runs = rows.map((row): FileRunRecord => {
    const info = JSON.parse(row.info) as RunInfo;
    const dir = join(root, row.experiment, row.id);
    return {
      info: { ...info, status: row.status },
      params: Object.fromEntries((params.get(row.rid) ?? []).map((p) => [p.key, JSON.parse(p.value as string) as ParamValue])),
      tags: Object.fromEntries((tags.get(row.rid) ?? []).map((t) => [t.key, t.value as string])),
      metrics: Object.fromEntries((metrics.get(row.rid) ?? []).map((m) => [m.key, (m.value as number | null) ?? Number.NaN])),
      dir,
      artifactUri: join(dir, 'artifacts'),
      deleted: row.deleted === 1,
      ...(row.status_detail === null ? {} : { statusDetail: row.status_detail }),
    };
  });
  return { runs, total };
}

interface DetailRow {
  rid: number;
  key: string;
  value: unknown;
}

function groupBy(rows: readonly DetailRow[]): Map<number, DetailRow[]> {
  const map = new Map<number, DetailRow[]>();
  for (const row of rows) {
    const list = map.get(row.rid);
    if (list === undefined) map.set(row.rid, [row]);
    else list.push(row);
  }
  return map;
}
