import type { Kysely } from 'kysely';
import { GateError } from '../../errors.js';
import { describeRegistryDivergence } from '../../registry/registry-divergence.js';
import type { AuditEntry, RegisteredModel } from '../../registry/model-registry.js';
import { versionRow } from '../../registry/sql-model-registry.js';
import type { ArtifactStore } from '../../storage/artifact-store.js';
import { uploadFolder } from '../../storage/folder-transfer.js';
import type { ImportedRun, TrackingImporter } from '../tracking-store.js';
import { metricValue, paramRow, tagRow } from './sql-run-writer.js';
import { inTransaction, type TrackingDialect } from './tracking-dialect.js';
import type { TrackingSchema } from './tracking-schema.js';

export interface SqlImporterOptions {
  readonly db: Kysely<TrackingSchema>;
  readonly dialect: TrackingDialect;
  /** Where imported runs' artifacts go, and the URI recorded for them. */
  readonly artifactsFor: (experiment: string, id: string) => { store: ArtifactStore; uri: string };
  readonly readModel: (name: string) => Promise<RegisteredModel | undefined>;
}

/**
 * `mlctl tracking import` into the SQL store: each run keeps its id, times, params, tags,
 * whole metric histories and artifacts; each model its version numbers, aliases and audit log.
 * Idempotent: a run or model already there is passed over (a model that differs is refused).
 */
export function createSqlImporter(options: SqlImporterOptions): TrackingImporter {
  const { db, dialect } = options;
  return {
    async importRun(run: ImportedRun, importOptions = {}) {
      const { info } = run;
      if ((await db.selectFrom('tracking_runs').select('id').where('id', '=', info.id).executeTakeFirst()) !== undefined) return false;
      const { store, uri } = options.artifactsFor(info.experiment, info.id);
      let bundleSha256: string | null = null;
      if (run.artifactsDir !== null) {
        // Artifacts before rows, the manifest last: the row names a bundle only once it is whole.
        const uploaded = await uploadFolder(run.artifactsDir, store, {
          last: ['model/manifest.json'],
          skipUnchanged: true,
          ...(importOptions.signal === undefined ? {} : { signal: importOptions.signal }),
        });
        bundleSha256 = uploaded.hashes.get('model/manifest.json') ?? null;
      }
      const startMs = Date.parse(info.startTime);
      const endMs = info.endTime === null ? null : Date.parse(info.endTime);
      return inTransaction(db, dialect, async (trx) => {
        await trx
          .insertInto('tracking_experiments')
          .values({ name: info.experiment, created_time: run.experimentCreated ?? info.startTime })
          .onConflict((oc) => oc.column('name').doNothing())
          .execute();
        const inserted = await trx
          .insertInto('tracking_runs')
          .values({
            id: info.id,
            experiment: info.experiment,
            name: info.name,
            status: info.status,
            start_ms: startMs,
            start_text: info.startTime,
            end_ms: endMs === null || Number.isNaN(endMs) ? null : endMs,
            end_text: info.endTime,
            duration: endMs === null || Number.isNaN(endMs) || Number.isNaN(startMs) ? null : (endMs - startMs) / 1000,
            pid: info.pid,
            host: info.host,
            user_name: info.user,
            git_commit: info.gitCommit,
            command_line: info.commandLine,
            task: info.task,
            dataset: info.datasetSha256,
            backend: info.backend,
            note: info.note,
            deleted_time: run.deletedTime,
            artifact_uri: uri,
            bundle_sha256: bundleSha256,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .executeTakeFirst();
        // Another import got there first: nothing of ours is written.
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
        const params = Object.entries(run.params);
        if (params.length > 0) await trx.insertInto('tracking_params').values(params.map(([key, value]) => paramRow(info.id, key, value))).execute();
        const tags = Object.entries(run.tags);
        if (tags.length > 0) await trx.insertInto('tracking_tags').values(tags.map(([key, value]) => tagRow(info.id, key, value))).execute();
        const points = Object.entries(run.histories).flatMap(([key, history]) =>
          history.map((point, seq) => ({ run_id: info.id, key, seq, step: point.step, ...metricValue(point.value), timestamp: point.timestamp })),
        );
        await dialect.insertPoints(trx, points);
        const latest = Object.entries(run.metrics).map(([key, value]) => {
          const history = run.histories[key] ?? [];
          const last = history.at(-1);
          // The file store's index keeps a value that is not finite as NaN; its history says which.
          const exact = !Number.isFinite(value) && last !== undefined && !Number.isFinite(last.value) ? last.value : value;
          return { run_id: info.id, key, ...metricValue(exact), step: last?.step ?? 0, timestamp: last?.timestamp ?? startMs, points: history.length };
        });
        if (latest.length > 0) await trx.insertInto('tracking_latest_metrics').values(latest).execute();
        return true;
      });
    },

    async importModel(model: RegisteredModel, audit: readonly AuditEntry[]) {
      const existing = await options.readModel(model.name);
      if (existing !== undefined) {
        const same =
          JSON.stringify(existing.versions.map((v) => [v.version, v.runId])) === JSON.stringify(model.versions.map((v) => [v.version, v.runId])) &&
          JSON.stringify(existing.aliases) === JSON.stringify(model.aliases);
        if (same) return 'present';
        throw new GateError('TRACKING_IMPORT_CONFLICT', `model "${model.name}" is registered differently in the target store; it was not imported`, {
          problems: describeRegistryDivergence(model.name, model, existing, 'in the file store', 'in the target store').problems,
          hint: 'nothing of this model was changed; register the missing versions by hand (`mlctl models register <run-id> --name <name>`) or import into an empty store',
        });
      }
      await inTransaction(db, dialect, async (trx) => {
        await trx
          .insertInto('registry_models')
          .values({ name: model.name, description: model.description, created_time: model.createdTime, updated_time: model.updatedTime, next_version: model.nextVersion })
          .execute();
        if (model.versions.length > 0) await trx.insertInto('registry_versions').values(model.versions.map((v) => versionRow(model.name, v))).execute();
        const aliases = Object.entries(model.aliases);
        if (aliases.length > 0) await trx.insertInto('registry_aliases').values(aliases.map(([alias, version]) => ({ model: model.name, alias, version }))).execute();
        for (const entry of audit) {
          await trx
            .insertInto('registry_audit')
            .values({
              model: model.name,
              time: entry.time,
              user_name: entry.user,
              action: entry.action,
              version: entry.version ?? null,
              alias: entry.alias ?? null,
              old_json: JSON.stringify(entry.old ?? null),
              new_json: JSON.stringify(entry.new ?? null),
            })
            .execute();
        }
      });
      return 'imported';
    },
  };
}
