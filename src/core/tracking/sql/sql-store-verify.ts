import { sql, type Kysely } from 'kysely';
import { sha256 } from '../../fs/hash.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { readAll } from '../../storage/folder-transfer.js';
import type { RunInfo, RunStatus } from '../run-store.js';
import type { StoreProblem, VerifyOptions, VerifyReport } from '../tracking-store.js';
import { readRunRows, runInfoOf, type RunRow } from './sql-run-query.js';
import type { TrackingSchema } from './tracking-schema.js';

export interface VerifySqlStoreOptions {
  readonly db: Kysely<TrackingSchema>;
  readonly location: string;
  readonly artifactsOf: (row: RunRow) => Promise<ArtifactStore>;
  readonly effectiveStatus: (info: RunInfo) => { status: RunStatus; detail?: string };
  readonly options: VerifyOptions;
}

/** Runs read per batch while verifying. */
const BATCH = 500;

/**
 * `runs verify` on the SQL store. The database keeps its own constraints (one row per run id,
 * per version number); this checks what spans rows and stores:
 * - each metric's last value and point count against its history;
 * - each stored bundle: its manifest.json has the SHA-256 the run recorded, and every file it
 *   lists is in the artifact store with the SHA-256 the manifest says;
 * - the registry: versions 1…next-1 all accounted for (live, deleted, or deleted in the audit
 *   log), each live version's run present with the bundle it was registered with, each alias
 *   on a live version and equal to the last move the audit log records for it.
 */
export async function verifySqlStore(input: VerifySqlStoreOptions): Promise<VerifyReport> {
  const { db } = input;
  const damage: StoreProblem[] = [];
  const warnings: StoreProblem[] = [];

  // Histories against last values, in one pass over the points.
  const summaries = await sql<{ run_id: string; key: string; points: number | string; value: number | null; special: string | null; counted: number | string; last_value: number | null; last_special: string | null }>`
    SELECT l.run_id, l.key, l.points, l.value, l.special, count(p.seq) AS counted,
      (SELECT q.value FROM tracking_metric_points q WHERE q.run_id = l.run_id AND q.key = l.key ORDER BY q.seq DESC LIMIT 1) AS last_value,
      (SELECT q.special FROM tracking_metric_points q WHERE q.run_id = l.run_id AND q.key = l.key ORDER BY q.seq DESC LIMIT 1) AS last_special
    FROM tracking_latest_metrics l LEFT JOIN tracking_metric_points p ON p.run_id = l.run_id AND p.key = l.key
    GROUP BY l.run_id, l.key, l.points, l.value, l.special`.execute(db);
  for (const s of summaries.rows) {
    const where = `run ${s.run_id} metric ${s.key}`;
    if (Number(s.counted) !== Number(s.points)) damage.push({ path: where, problem: `the history holds ${s.counted} points, but ${s.points} were logged` });
    else if (String(s.last_value ?? s.last_special) !== String(s.value ?? s.special)) damage.push({ path: where, problem: `the last value is ${s.value ?? s.special}, but the history ends with ${s.last_value ?? s.last_special}` });
  }
  const orphans = await sql<{ run_id: string; key: string }>`
    SELECT DISTINCT p.run_id, p.key FROM tracking_metric_points p
    WHERE NOT EXISTS (SELECT 1 FROM tracking_latest_metrics l WHERE l.run_id = p.run_id AND l.key = p.key)`.execute(db);
  for (const o of orphans.rows) damage.push({ path: `run ${o.run_id} metric ${o.key}`, problem: 'a history without a last value' });

  // Runs, a batch at a time: status and bundles.
  const ids = (await db.selectFrom('tracking_runs').select('id').orderBy('id').execute()).map((r) => r.id);
  let runs = 0;
  let bundles = 0;
  let artifactFiles = 0;
  const bundleOf = new Map<string, string | null>();
  for (let start = 0; start < ids.length; start += BATCH) {
    for (const row of await readRunRows(db, ids.slice(start, start + BATCH))) {
      runs += 1;
      input.options.onRun?.(runs);
      bundleOf.set(row.run.id, row.run.bundle_sha256);
      const info = runInfoOf(row.run);
      const shown = input.effectiveStatus(info);
      if (info.status === 'RUNNING' && shown.status !== 'RUNNING') warnings.push({ path: `run ${row.run.id}`, problem: shown.detail ?? 'never ended' });
      if (row.run.bundle_sha256 === null) continue;
      bundles += 1;
      const result = await verifyStoredBundle(await input.artifactsOf(row), row.run.bundle_sha256, `run ${row.run.id}`);
      artifactFiles += result.files;
      damage.push(...result.damage);
    }
  }

  // The registry.
  const [models, versions, aliases, audit] = await Promise.all([
    db.selectFrom('registry_models').selectAll().execute(),
    db.selectFrom('registry_versions').selectAll().execute(),
    db.selectFrom('registry_aliases').selectAll().execute(),
    db.selectFrom('registry_audit').select(['model', 'action', 'version', 'alias', 'new_json']).orderBy('id').execute(),
  ]);
  for (const model of models) {
    const mine = versions.filter((v) => v.model === model.name);
    const numbers = new Set(mine.map((v) => Number(v.version)));
    const deletedInLog = new Set(audit.filter((a) => a.model === model.name && a.action === 'version-delete').map((a) => Number(a.version)));
    const missing: number[] = [];
    for (let n = 1; n < Number(model.next_version); n += 1) if (!numbers.has(n) && !deletedInLog.has(n)) missing.push(n);
    if (missing.length > 0) damage.push({ path: `model ${model.name}`, problem: `version${missing.length === 1 ? '' : 's'} ${missing.slice(0, 10).join(', ')} missing below the next version ${model.next_version}` });
    for (const v of mine) {
      if (Number(v.version) >= Number(model.next_version)) damage.push({ path: `model ${model.name} version ${v.version}`, problem: `at or above the next version to hand out (${model.next_version})` });
      if (v.deleted_time !== null) continue;
      const where = `model ${model.name} version ${v.version}`;
      if (!bundleOf.has(v.run_id)) damage.push({ path: where, problem: `points at run ${v.run_id}, which is not in the store` });
      else if (bundleOf.get(v.run_id) !== v.manifest_sha256) damage.push({ path: where, problem: `run ${v.run_id}'s bundle is not the one registered (manifest SHA-256 ${v.manifest_sha256.slice(0, 12)}…)` });
    }
    const registered = new Set(audit.filter((a) => a.model === model.name && a.action === 'register').map((a) => Number(a.version)));
    for (const v of mine) if (!registered.has(Number(v.version))) warnings.push({ path: `model ${model.name} version ${v.version}`, problem: 'no registration in the audit log' });
    for (const alias of aliases.filter((a) => a.model === model.name)) {
      const where = `${model.name}@${alias.alias}`;
      const target = mine.find((v) => Number(v.version) === Number(alias.version));
      if (target === undefined || target.deleted_time !== null) damage.push({ path: where, problem: `points at version ${alias.version}, which is not a live version` });
      const moves = audit.filter((a) => a.model === model.name && a.alias === alias.alias && (a.action === 'alias-set' || a.action === 'alias-delete'));
      const last = moves.at(-1);
      if (last === undefined || last.action !== 'alias-set' || JSON.parse(last.new_json) !== Number(alias.version)) {
        damage.push({ path: where, problem: `is version ${alias.version}, but the audit log's last move of it says ${last === undefined ? 'nothing' : last.action === 'alias-set' ? `version ${last.new_json}` : 'deleted'}` });
      }
    }
  }
  return { root: input.location, runs, metricFiles: summaries.rows.length, bundles, artifactFiles, damage, warnings, leftovers: [] };
}

/**
 * A stored bundle against the SHA-256 its run recorded: the manifest's own hash, then each
 * listed file's size-and-hash as the store knows it (S3's x-amz-meta-sha256, checked on upload;
 * a local file is hashed).
 */
async function verifyStoredBundle(store: ArtifactStore, recorded: string, what: string): Promise<{ files: number; damage: StoreProblem[] }> {
  const damage: StoreProblem[] = [];
  const where = `${what} bundle (${store.location}model/)`;
  let manifest: Uint8Array;
  try {
    manifest = await readAll(store, 'model/manifest.json');
  } catch (error) {
    return { files: 0, damage: [{ path: where, problem: `manifest.json cannot be read: ${(error as Error).message}` }] };
  }
  if (sha256(manifest) !== recorded) return { files: 1, damage: [{ path: where, problem: 'manifest.json is not the one the run recorded' }] };
  let files: Record<string, string>;
  try {
    files = (JSON.parse(Buffer.from(manifest).toString('utf8')) as { files?: Record<string, string> }).files ?? {};
  } catch {
    return { files: 1, damage: [{ path: where, problem: 'manifest.json is not valid JSON' }] };
  }
  const listed = new Map((await store.within('model').list()).map((entry) => [entry.key, entry]));
  for (const [path, expected] of Object.entries(files)) {
    const entry = listed.get(path);
    if (entry === undefined) {
      damage.push({ path: where, problem: `${path} is missing` });
      continue;
    }
    const actual = entry.sha256 ?? (await store.within('model').head(path))?.sha256 ?? null;
    if (actual === null) damage.push({ path: where, problem: `${path} has no recorded SHA-256 to check` });
    else if (actual !== expected) damage.push({ path: where, problem: `${path} has SHA-256 ${actual.slice(0, 12)}…, the manifest says ${expected.slice(0, 12)}…` });
  }
  return { files: Object.keys(files).length + 1, damage };
}
