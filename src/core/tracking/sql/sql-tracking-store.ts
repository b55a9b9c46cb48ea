import { createHash } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/database.js';
import { GateError, NotFoundError, UsageError } from '../../errors.js';
import { sha256File } from '../../fs/hash.js';
import { createSqlModelRegistry } from '../../registry/sql-model-registry.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { downloadManifestFolder, readAll, uploadFolder } from '../../storage/folder-transfer.js';
import { parseRunReference, runReferenceAdvice, validateExperimentName, validateKey, validateRunName } from '../names.js';
import { createProcessProbe, type ProcessProbe } from '../process-liveness.js';
import { createRunId, createRunName, isRunId } from '../run-id.js';
import { newRunInfo, type CreateRunOptions, type MetricPoint, type RunInfo, type RunStatus } from '../run-store.js';
import type { GcResult, RunRef, TrackingStore } from '../tracking-store.js';
import { TRACKING_MIGRATIONS, TRACKING_MIGRATION_TABLES } from './migrations/index.js';
import { createSqlImporter } from './sql-importer.js';
import { queryRunRows, readRunRows, runRecordOf, type RunRow } from './sql-run-query.js';
import { SqlRunWriter, tagRow } from './sql-run-writer.js';
import { verifySqlStore } from './sql-store-verify.js';
import { inTransaction, TRACKING_DIALECTS } from './tracking-dialect.js';
import type { TrackingSchema } from './tracking-schema.js';

export interface SqlTrackingStoreOptions {
  /** The open database (PostgreSQL or SQLite, see core/db); the store closes it. */
  readonly database: Database;
  /** Where new runs' artifacts go: `<artifacts>/<experiment>/<run-id>/artifacts/…`. */
  readonly artifacts: ArtifactStore;
  /** Opens the artifact store of a run recorded under another root (MLCTL_ARTIFACT_URI changed since). */
  readonly openArtifacts: (uri: string) => Promise<ArtifactStore>;
  /**
   * A local folder for artifacts on this machine: what a run writes before it is uploaded,
   * and downloaded bundles (verified), under `<experiment>/<run-id>/artifacts/`.
   */
  readonly cacheDir: string;
  readonly clock?: () => number;
  readonly host?: string;
  readonly pid?: number;
  readonly user?: string;
  readonly probe?: ProcessProbe;
}

/** Where a run keeps its artifacts under an artifact root. */
export function runArtifactKey(experiment: string, id: string): string {
  return `${experiment}/${id}/artifacts`;
}

/** `<root>/<key>` for a folder path or a URI alike. */
export function joinLocation(root: string, key: string): string {
  return `${root.replace(/\/+$/, '')}/${key}`;
}

/**
 * The SQL tracking backend (see tracking-store.ts): runs, histories and the registry in
 * tables (tracking-schema.ts) on PostgreSQL or SQLite through Kysely, artifacts in any
 * ArtifactStore. Any number of processes on any number of machines may share it: every
 * change is one statement or one transaction, run ids are unique keys, and a bundle is
 * stored whole under its run's own prefix before the run's row says it exists.
 */
export async function createSqlTrackingStore(options: SqlTrackingStoreOptions): Promise<TrackingStore> {
  const { database } = options;
  const db = database.db as unknown as Kysely<TrackingSchema>;
  const dialect = TRACKING_DIALECTS[database.dialect];
  await assertTrackingMigrated(database);
  const clock = options.clock ?? Date.now;
  const host = options.host ?? hostname();
  const pid = options.pid ?? process.pid;
  const user = options.user ?? safeUserName();
  const probe = options.probe ?? createProcessProbe(hostname());
  const root = options.artifacts;
  const cacheRoot = join(options.cacheDir, createHash('sha256').update(root.location).digest('hex').slice(0, 16));
  const otherRoots = new Map<string, Promise<ArtifactStore>>();

  function effectiveStatus(info: RunInfo): { status: RunStatus; detail?: string } {
    if (info.status !== 'RUNNING' || info.host !== probe.host) return { status: info.status };
    if (probe.isAlive(info.pid, Date.parse(info.startTime))) return { status: 'RUNNING' };
    return { status: 'FAILED', detail: `process ${info.pid} on ${info.host} is no longer running; the run never ended` };
  }

  /** The run's row, by id, unambiguous id prefix or name, as the file store finds runs. */
  async function findRow(ref: string): Promise<RunRow> {
    const parsed = parseRunReference(ref);
    if (parsed.kind === 'id') {
      const ids = isRunId(parsed.id)
        ? [parsed.id]
        : (await db.selectFrom('tracking_runs').select('id').where('id', 'like', `${parsed.id}%`).orderBy('id').limit(11).execute()).map((r) => r.id);
      if (ids.length > 1) {
        const rows = await readRunRows(db, ids);
        throw new UsageError('AMBIGUOUS_RUN_ID', `run id prefix "${ref}" matches ${ids.length > 10 ? 'more than 10' : ids.length} runs`, {
          problems: rows.slice(0, 10).map((r) => `${r.run.id} (${r.run.experiment})`),
          hint: 'give more characters of the id',
        });
      }
      const [row] = await readRunRows(db, ids);
      if (row !== undefined) return row;
    }
    // A name, or an id prefix that matched nothing (a run may be named "abcdef12").
    const named = await db.selectFrom('tracking_runs').select(['id', 'experiment', 'start_text', 'deleted_time']).where('name', '=', ref).orderBy('start_ms').orderBy('id').execute();
    if (named.length > 1) {
      throw new UsageError('AMBIGUOUS_RUN_NAME', `run name "${ref}" matches ${named.length} runs: ${named.map((r) => r.id).join(', ')}`, {
        problems: named.map((r) => `${r.id} (${r.experiment}, started ${r.start_text.slice(0, 16).replace('T', ' ')}${r.deleted_time === null ? '' : ', deleted'})`),
        hint: 'give the run id instead',
      });
    }
    const [row] = named.length === 1 ? await readRunRows(db, [named[0]!.id]) : [];
    if (row !== undefined) return row;
    const advice = runReferenceAdvice(ref);
    if (advice === 'run ids are lowercase') {
      throw new UsageError('INVALID_RUN_ID', `"${ref}" is not a run id: ${advice}`, { hint: 'run ids are lowercase hex, e.g. 0195f3a2c4e1b7d9a0c3; see `mlctl runs list`' });
    }
    throw new NotFoundError('RUN_NOT_FOUND', `no run with id or name "${ref}" in ${database.target}`, {
      hint: `${advice === '' ? '' : `${advice}; `}list runs with \`mlctl runs list\` (add --deleted for deleted ones); MLCTL_TRACKING_URI selects the store`,
    });
  }

  /** The run's own row without its params, tags and metrics (one statement); falls back to findRow for its errors. */
  async function runOnly(id: string): Promise<RunRow> {
    const run = await db.selectFrom('tracking_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return run === undefined ? findRow(id) : { run, params: {}, tags: {}, metrics: {} };
  }

  const refOf = (row: RunRow): RunRef => ({ id: row.run.id, experiment: row.run.experiment });

  /** The artifact store holding a run's artifacts (keys relative to its artifacts folder). */
  async function artifactsOf(row: RunRow): Promise<ArtifactStore> {
    const key = runArtifactKey(row.run.experiment, row.run.id);
    if (row.run.artifact_uri === joinLocation(root.location, key)) return root.within(key);
    let store = otherRoots.get(row.run.artifact_uri);
    if (store === undefined) {
      store = options.openArtifacts(row.run.artifact_uri);
      otherRoots.set(row.run.artifact_uri, store);
    }
    return store;
  }

  const localArtifactsDir = (experiment: string, id: string): string => join(cacheRoot, ...runArtifactKey(experiment, id).split('/'));

  async function setTags(id: string, tags: Readonly<Record<string, string>>, remove: readonly string[] = []): Promise<{ run: RunRef; tags: Record<string, string> }> {
    for (const key of [...Object.keys(tags), ...remove]) validateKey('tag', key);
    const row = await findRow(id);
    const runId = row.run.id;
    await inTransaction(db, dialect, async (trx) => {
      if (remove.length > 0) await trx.deleteFrom('tracking_tags').where('run_id', '=', runId).where('key', 'in', remove).execute();
      const entries = Object.entries(tags);
      if (entries.length > 0) {
        await trx
          .insertInto('tracking_tags')
          .values(entries.map(([key, value]) => tagRow(runId, key, value)))
          .onConflict((oc) => oc.columns(['run_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), num: eb.ref('excluded.num') })))
          .execute();
      }
    });
    const [updated] = await readRunRows(db, [runId]);
    return { run: refOf(row), tags: updated?.tags ?? {} };
  }

  const registry = createSqlModelRegistry({
    db,
    dialect,
    user,
    clock,
    getRun: async (id) => {
      const row = await findRow(id);
      return { record: runRecordOf(row, effectiveStatus), bundleSha256: row.run.bundle_sha256 };
    },
  });

  let closed = false;
  const store: TrackingStore = {
    backend: database.dialect,
    location: database.target,
    artifactLocation: root.location,
    registry,
    importer: createSqlImporter({
      db,
      dialect,
      artifactsFor: (experiment, id) => ({ store: root.within(runArtifactKey(experiment, id)), uri: joinLocation(root.location, runArtifactKey(experiment, id)) }),
      readModel: (name) =>
        registry.get(name).catch((error: unknown) => {
          if (error instanceof NotFoundError) return undefined;
          throw error;
        }),
    }),

    async createRun(create: CreateRunOptions) {
      if (create.name !== undefined) validateRunName(create.name);
      const experiment = validateExperimentName(create.experiment);
      const tags = { ...(create.tags ?? {}) };
      for (const key of Object.keys(tags)) validateKey('tag', key);
      const startMs = clock();
      const startText = new Date(startMs).toISOString();
      const name = create.name ?? createRunName();
      // A unique key makes the id ours even if another process drew the same one.
      for (let attempt = 0; ; attempt += 1) {
        const id = createRunId(clock());
        const artifactUri = joinLocation(root.location, runArtifactKey(experiment, id));
        const inserted = await inTransaction(db, dialect, async (trx) => {
          await trx.insertInto('tracking_experiments').values({ name: experiment, created_time: startText }).onConflict((oc) => oc.column('name').doNothing()).execute();
          const result = await trx
            .insertInto('tracking_runs')
            .values({
              id,
              experiment,
              name,
              status: 'RUNNING',
              start_ms: startMs,
              start_text: startText,
              end_ms: null,
              end_text: null,
              duration: null,
              pid,
              host,
              user_name: user,
              git_commit: create.gitCommit ?? null,
              command_line: create.commandLine,
              task: create.task ?? null,
              dataset: null,
              backend: null,
              note: create.note ?? null,
              deleted_time: null,
              artifact_uri: artifactUri,
              bundle_sha256: null,
            })
            .onConflict((oc) => oc.column('id').doNothing())
            .executeTakeFirst();
          if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
          const entries = Object.entries(tags);
          if (entries.length > 0) await trx.insertInto('tracking_tags').values(entries.map(([key, value]) => tagRow(id, key, value))).execute();
          return true;
        });
        if (!inserted) {
          if (attempt > 20) throw new Error('could not draw a unique run id');
          continue;
        }
        const artifactsDir = localArtifactsDir(experiment, id);
        const writer = new SqlRunWriter({
          db,
          dialect,
          info: newRunInfo(id, name, experiment, create, startMs, { pid, host, user }),
          artifactsDir,
          artifactUri,
          clock,
          setTags: (t) => setTags(id, t),
          keepArtifacts: async () => {
            const uploaded = await uploadFolder(artifactsDir, root.within(runArtifactKey(experiment, id)), { last: ['model/manifest.json'] });
            return uploaded.hashes.get('model/manifest.json') ?? null;
          },
        });
        await writer.prepare();
        return writer;
      }
    },

    async getRun(id) {
      return runRecordOf(await findRow(id), effectiveStatus);
    },

    async getMetricHistory(id, key) {
      validateKey('metric', key);
      const row = await findRow(id);
      const points = await db.selectFrom('tracking_metric_points').select(['step', 'value', 'special', 'timestamp']).where('run_id', '=', row.run.id).where('key', '=', key).orderBy('seq').execute();
      if (points.length === 0) {
        const latest = await db.selectFrom('tracking_latest_metrics').select('key').where('run_id', '=', row.run.id).where('key', '=', key).executeTakeFirst();
        if (latest === undefined) {
          throw new NotFoundError('METRIC_NOT_FOUND', `run ${row.run.id} has no metric "${key}"`, { hint: `see the run's metrics with \`mlctl runs show ${row.run.id}\`` });
        }
      }
      return points.map(pointOf);
    },

    async getMetricHistories(id) {
      const row = await findRow(id);
      const points = await db.selectFrom('tracking_metric_points').select(['key', 'step', 'value', 'special', 'timestamp']).where('run_id', '=', row.run.id).orderBy('key').orderBy('seq').execute();
      const histories = new Map<string, MetricPoint[]>();
      for (const key of Object.keys(row.metrics)) histories.set(key, []);
      for (const point of points) {
        let list = histories.get(point.key);
        if (list === undefined) histories.set(point.key, (list = []));
        list.push(pointOf(point));
      }
      return Object.fromEntries([...histories].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    },

    async queryRuns(query) {
      const { rows, total } = await queryRunRows(db, dialect, query);
      return { runs: rows.map((row) => runRecordOf(row, effectiveStatus)), total };
    },

    setTags,

    async unknownKeys(keys) {
      // One statement: whether there is any run at all, and whether each key is anywhere.
      const tableOf = (kind: string) => sql.table(kind === 'metric' ? 'tracking_latest_metrics' : kind === 'param' ? 'tracking_params' : 'tracking_tags');
      const checks = keys.map((field, i) => sql`EXISTS (SELECT 1 FROM ${tableOf(field.kind)} WHERE key = ${field.key}) AS ${sql.ref(`k${i}`)}`);
      const { rows } = await sql<Record<string, unknown>>`SELECT EXISTS (SELECT 1 FROM tracking_runs) AS any_run, ${sql.join(checks)}`.execute(db);
      const row = rows[0] ?? {};
      // SQLite answers 0 and 1, PostgreSQL false and true.
      if (!truthy(row.any_run)) return [];
      return keys.filter((_, i) => !truthy(row[`k${i}`]));
    },

    async knownKeys(kind) {
      const table = kind === 'metric' ? 'tracking_latest_metrics' : kind === 'param' ? 'tracking_params' : 'tracking_tags';
      return (await db.selectFrom(table).select('key').distinct().execute()).map((r) => r.key).sort();
    },

    async setNote(id, note) {
      const row = await findRow(id);
      if (effectiveStatus(runRecordOf(row, effectiveStatus).info).status === 'RUNNING') {
        throw new UsageError('RUN_STILL_RUNNING', `run ${row.run.id} is still running; set its note once it has ended`);
      }
      await db.updateTable('tracking_runs').set({ note }).where('id', '=', row.run.id).execute();
      return refOf(row);
    },

    async deleteRun(id) {
      const row = await findRow(id);
      await db.updateTable('tracking_runs').set({ deleted_time: new Date(clock()).toISOString() }).where('id', '=', row.run.id).execute();
      return refOf(row);
    },

    async restoreRun(id) {
      const row = await findRow(id);
      await db.updateTable('tracking_runs').set({ deleted_time: null }).where('id', '=', row.run.id).execute();
      return refOf(row);
    },

    async listExperiments() {
      return (await db.selectFrom('tracking_experiments').select('name').execute()).map((e) => e.name).sort();
    },

    async listArtifacts(id) {
      const row = await findRow(id);
      const entries = await (await artifactsOf(row)).list();
      return entries.map((entry) => ({ path: entry.key, size: entry.size }));
    },

    async readArtifact(id, path) {
      const row = await findRow(id);
      try {
        return await readAll(await artifactsOf(row), path);
      } catch (error) {
        if (error instanceof NotFoundError) return null;
        throw error;
      }
    },

    async fetchBundle(id, fetch = {}) {
      // Called by serve on every alias check: one statement for a full id.
      const row = isRunId(id) ? await runOnly(id) : await findRow(id);
      const recorded = row.run.bundle_sha256;
      if (recorded === null) {
        throw new NotFoundError('RUN_HAS_NO_BUNDLE', `run ${row.run.id} has no model bundle${row.run.status === 'RUNNING' ? ' yet: it is still running' : ''}`, {
          hint: `only runs that trained a model to completion have one; see \`mlctl runs show ${row.run.id}\``,
        });
      }
      if (fetch.expectedManifestSha256 !== undefined && fetch.expectedManifestSha256 !== recorded) {
        throw new GateError('BUNDLE_CHANGED', `the model bundle of run ${row.run.id} changed since it was registered`, {
          hint: 'a registered bundle must not be modified; run `mlctl runs verify` and register a new version',
        });
      }
      const dir = join(localArtifactsDir(row.run.experiment, row.run.id), 'model');
      // A run's bundle never changes once stored: a cached copy whose manifest is the recorded
      // one is it (and loading checks every file against that manifest again).
      if ((await sha256File(join(dir, 'manifest.json')).catch(() => undefined)) === recorded) return dir;
      await downloadManifestFolder((await artifactsOf(row)).within('model'), dir, {
        manifestKey: 'manifest.json',
        expectedManifestSha256: recorded,
        what: `the model bundle of run ${row.run.id}`,
        ...(fetch.signal === undefined ? {} : { signal: fetch.signal }),
      });
      return dir;
    },

    verify: (verifyOptions = {}) => verifySqlStore({ db, location: database.target, artifactsOf: (runRow) => artifactsOf(runRow), effectiveStatus, options: verifyOptions }),

    async gc(gcOptions = {}): Promise<GcResult> {
      const referenced = await registry.referencedRunIds();
      const deleted = (await queryRunRows(db, dialect, { lifecycle: 'deleted' })).rows;
      const purged: RunRef[] = [];
      const kept: (RunRef & { reason: string })[] = [];
      for (const row of deleted) {
        const ref = refOf(row);
        if (referenced.has(row.run.id)) {
          kept.push({ ...ref, reason: 'a registered model version uses it' });
          continue;
        }
        if (effectiveStatus(runRecordOf(row, effectiveStatus).info).status === 'RUNNING') {
          kept.push({ ...ref, reason: 'its process is still running' });
          continue;
        }
        if (gcOptions.dryRun !== true) {
          // The artifacts first: a row without artifacts can be purged again, artifacts without a row would be lost to sight.
          const artifacts = await artifactsOf(row);
          await artifacts.delete((await artifacts.list()).map((entry) => entry.key));
          await inTransaction(db, dialect, async (trx) => {
            for (const table of ['tracking_params', 'tracking_tags', 'tracking_metric_points', 'tracking_latest_metrics'] as const) {
              await trx.deleteFrom(table).where('run_id', '=', row.run.id).execute();
            }
            await trx.deleteFrom('tracking_runs').where('id', '=', row.run.id).where('deleted_time', 'is not', null).execute();
          });
        }
        purged.push(ref);
      }
      return { purged, kept, leftovers: [], inUse: [], dryRun: gcOptions.dryRun === true };
    },

    async close() {
      if (closed) return;
      closed = true;
      await database.close();
    },
  };
  return store;
}

function truthy(value: unknown): boolean {
  return value === true || value === 1 || value === '1' || value === 't';
}

function pointOf(point: { step: number | string; value: number | null; special: string | null; timestamp: number }): MetricPoint {
  return { step: Number(point.step), value: point.value === null ? Number(point.special ?? Number.NaN) : Number(point.value), timestamp: Number(point.timestamp) };
}

/**
 * Refuses a database whose tracking tables are missing or older than this build (exit 2),
 * with the command that creates them. One cheap query; no introspection.
 */
async function assertTrackingMigrated(database: Database): Promise<void> {
  let applied: Set<string>;
  try {
    const rows = await sql<{ name: string }>`SELECT name FROM ${sql.table(TRACKING_MIGRATION_TABLES.migrations)}`.execute(database.db);
    applied = new Set(rows.rows.map((row) => row.name));
  } catch {
    applied = new Set();
  }
  const pending = TRACKING_MIGRATIONS.filter((migration) => !applied.has(migration.name));
  if (pending.length > 0) {
    await database.close();
    throw new UsageError('TRACKING_NOT_MIGRATED', `the tracking store at ${database.target} is not ${applied.size === 0 ? 'created' : 'up to date'}: ${pending.length} migration${pending.length === 1 ? '' : 's'} pending`, {
      problems: pending.map((m) => m.name),
      hint: 'run `mlctl tracking migrate` (once per database; safe to run again)',
    });
  }
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
