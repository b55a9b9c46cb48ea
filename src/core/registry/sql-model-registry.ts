import type { Kysely } from 'kysely';
import { NotFoundError, UsageError } from '../errors.js';
import type { RunRecord } from '../tracking/run-store.js';
import { inTransaction, type TrackingDialect } from '../tracking/sql/tracking-dialect.js';
import type { RegistryVersionsTable, TrackingSchema } from '../tracking/sql/tracking-schema.js';
import { LATEST_ALIAS, validateAlias, validateModelName, validateVersion } from './file-model-registry.js';
import type { AuditAction, AuditEntry, ModelRegistry, ModelVersion, RegisteredModel, SetAliasOptions, VersionSelector } from './model-registry.js';
import { checkExpectation } from './registry-expectation.js';

export interface SqlModelRegistryOptions {
  readonly db: Kysely<TrackingSchema>;
  readonly dialect: TrackingDialect;
  readonly user: string;
  readonly clock: () => number;
  /** The run a registration names (an id or a prefix), with the SHA-256 of its stored bundle's manifest. */
  readonly getRun: (id: string) => Promise<{ record: RunRecord; bundleSha256: string | null }>;
}

type Transaction = Kysely<TrackingSchema>;

/**
 * The registry in the tracking database. Every change is one transaction that first locks
 * the model's row (an UPDATE of it), so concurrent changes to one model queue up:
 * - a version number comes from the row's `next_version`, incremented in the same
 *   transaction that inserts the version; numbers are never reused (deleted versions keep
 *   their row), and a rolled-back registration gives its number back, so there are no gaps;
 * - an alias move writes the alias and its audit row together, and with `expect` refuses
 *   (exit 4) when the alias no longer points where the caller last saw it.
 */
export function createSqlModelRegistry(options: SqlModelRegistryOptions): ModelRegistry {
  const { db, dialect } = options;
  const now = (): string => new Date(options.clock()).toISOString();

  /** Locks the model's row for this transaction and returns it; NotFoundError when there is none. */
  async function lockModel(trx: Transaction, name: string, time: string): Promise<void> {
    const locked = await trx.updateTable('registry_models').set({ updated_time: time }).where('name', '=', name).returning('name').executeTakeFirst();
    if (locked === undefined) throw modelNotFound(name);
  }

  async function audit(trx: Transaction, name: string, time: string, entry: { action: AuditAction; version?: number; alias?: string; old: string | number | null; new: string | number | null }): Promise<void> {
    await trx
      .insertInto('registry_audit')
      .values({
        model: name,
        time,
        user_name: options.user,
        action: entry.action,
        version: entry.version ?? null,
        alias: entry.alias ?? null,
        old_json: JSON.stringify(entry.old),
        new_json: JSON.stringify(entry.new),
      })
      .execute();
  }

  async function readModels(names?: readonly string[]): Promise<RegisteredModel[]> {
    let modelQuery = db.selectFrom('registry_models').selectAll();
    let versionQuery = db.selectFrom('registry_versions').selectAll().where('deleted_time', 'is', null);
    let aliasQuery = db.selectFrom('registry_aliases').selectAll();
    if (names !== undefined) {
      modelQuery = modelQuery.where('name', 'in', names);
      versionQuery = versionQuery.where('model', 'in', names);
      aliasQuery = aliasQuery.where('model', 'in', names);
    }
    const [models, versions, aliases] = await Promise.all([modelQuery.execute(), versionQuery.execute(), aliasQuery.execute()]);
    return models
      .map((model): RegisteredModel => ({
        name: model.name,
        description: model.description,
        createdTime: model.created_time,
        updatedTime: model.updated_time,
        versions: versions.filter((v) => v.model === model.name).map(versionOf).sort((a, b) => a.version - b.version),
        aliases: Object.fromEntries(
          aliases
            .filter((a) => a.model === model.name)
            .map((a) => [a.alias, Number(a.version)] as const)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        ),
        nextVersion: Number(model.next_version),
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async function mustRead(name: string): Promise<RegisteredModel> {
    validateModelName(name);
    const [model] = await readModels([name]);
    if (model === undefined) throw modelNotFound(name);
    return model;
  }

  async function liveVersion(trx: Transaction, name: string, version: number): Promise<RegistryVersionsTable> {
    const row = await trx.selectFrom('registry_versions').selectAll().where('model', '=', name).where('version', '=', version).where('deleted_time', 'is', null).executeTakeFirst();
    if (row === undefined) {
      const live = await trx.selectFrom('registry_versions').select('version').where('model', '=', name).where('deleted_time', 'is', null).orderBy('version').execute();
      throw new NotFoundError('MODEL_VERSION_NOT_FOUND', `model "${name}" has no version ${version}`, { hint: `versions: ${live.map((v) => v.version).join(', ') || 'none'}` });
    }
    return row;
  }

  return {
    list: () => readModels(),

    async register({ runId, name, description }) {
      validateModelName(name);
      const { record: run, bundleSha256 } = await options.getRun(runId);
      if (run.deleted) throw new UsageError('RUN_DELETED', `run ${run.info.id} is deleted; restore it first with \`mlctl runs restore ${run.info.id}\``);
      if (run.info.status === 'RUNNING') throw new UsageError('RUN_NOT_FINISHED', `run ${run.info.id} is still running; register it once it has finished`);
      if (bundleSha256 === null) {
        throw new NotFoundError('RUN_HAS_NO_BUNDLE', `run ${run.info.id} has no model bundle`, { hint: 'only runs that trained a model to completion can be registered' });
      }
      return inTransaction(db, dialect, async (trx) => {
        const time = now();
        await trx
          .insertInto('registry_models')
          .values({ name, description: description ?? null, created_time: time, updated_time: time, next_version: 1 })
          .onConflict((oc) => oc.column('name').doNothing())
          .execute();
        // The row lock this UPDATE takes makes concurrent registrations of the model queue here.
        const allocated = await trx
          .updateTable('registry_models')
          .set((eb) => ({ next_version: eb('next_version', '+', 1), updated_time: time }))
          .where('name', '=', name)
          .returning('next_version')
          .executeTakeFirstOrThrow();
        const version: ModelVersion = {
          version: Number(allocated.next_version) - 1,
          runId: run.info.id,
          experiment: run.info.experiment,
          source: `runs:/${run.info.id}`,
          manifestSha256: bundleSha256,
          description: description ?? null,
          createdTime: time,
          user: options.user,
        };
        await trx.insertInto('registry_versions').values(versionRow(name, version)).execute();
        await audit(trx, name, time, { action: 'register', version: version.version, old: null, new: version.source });
        return version;
      });
    },

    get: mustRead,

    async resolve(name, selector: VersionSelector) {
      validateModelName(name);
      if ('version' in selector) {
        validateVersion(selector.version);
        const row = await db.selectFrom('registry_versions').selectAll().where('model', '=', name).where('version', '=', selector.version).where('deleted_time', 'is', null).executeTakeFirst();
        if (row !== undefined) return versionOf(row);
        const model = await mustRead(name);
        throw new NotFoundError('MODEL_VERSION_NOT_FOUND', `model "${name}" has no version ${selector.version}`, { hint: `versions: ${model.versions.map((v) => v.version).join(', ') || 'none'}` });
      }
      if (selector.alias === LATEST_ALIAS) {
        const row = await db.selectFrom('registry_versions').selectAll().where('model', '=', name).where('deleted_time', 'is', null).orderBy('version', 'desc').limit(1).executeTakeFirst();
        if (row !== undefined) return versionOf(row);
        await mustRead(name);
        throw new NotFoundError('MODEL_VERSION_NOT_FOUND', `model "${name}" has no versions`);
      }
      validateAlias(selector.alias);
      // One statement: the alias and the version it points at are read together.
      const row = await db
        .selectFrom('registry_aliases as a')
        .innerJoin('registry_versions as v', (join) => join.onRef('v.model', '=', 'a.model').onRef('v.version', '=', 'a.version'))
        .selectAll('v')
        .where('a.model', '=', name)
        .where('a.alias', '=', selector.alias)
        .executeTakeFirst();
      if (row !== undefined && row.deleted_time === null) return versionOf(row);
      const model = await mustRead(name);
      throw new NotFoundError('MODEL_ALIAS_NOT_FOUND', `model "${name}" has no alias "${selector.alias}"`, {
        hint: `aliases: ${Object.keys(model.aliases).join(', ') || 'none'}; set one with \`mlctl models alias set ${name} ${selector.alias} <version>\``,
      });
    },

    async setAlias(name, alias, version, setOptions: SetAliasOptions = {}) {
      validateModelName(name);
      validateAlias(alias);
      validateVersion(version);
      if (alias === LATEST_ALIAS) throw new UsageError('RESERVED_MODEL_ALIAS', `"${LATEST_ALIAS}" always means the newest version and cannot be set`);
      return inTransaction(db, dialect, async (trx) => {
        const time = now();
        await lockModel(trx, name, time);
        await liveVersion(trx, name, version);
        const current = await trx.selectFrom('registry_aliases').select('version').where('model', '=', name).where('alias', '=', alias).executeTakeFirst();
        const previous = current === undefined ? null : Number(current.version);
        checkExpectation(name, alias, previous, setOptions);
        await trx
          .insertInto('registry_aliases')
          .values({ model: name, alias, version })
          .onConflict((oc) => oc.columns(['model', 'alias']).doUpdateSet({ version }))
          .execute();
        await audit(trx, name, time, { action: 'alias-set', alias, old: previous, new: version });
        return { previous };
      });
    },

    async deleteAlias(name, alias) {
      validateModelName(name);
      validateAlias(alias);
      return inTransaction(db, dialect, async (trx) => {
        const time = now();
        await lockModel(trx, name, time);
        const removed = await trx.deleteFrom('registry_aliases').where('model', '=', name).where('alias', '=', alias).returning('version').executeTakeFirst();
        if (removed === undefined) throw new NotFoundError('MODEL_ALIAS_NOT_FOUND', `model "${name}" has no alias "${alias}"`);
        const previous = Number(removed.version);
        await audit(trx, name, time, { action: 'alias-delete', alias, old: previous, new: null });
        return { previous };
      });
    },

    async deleteVersion(name, version) {
      validateModelName(name);
      validateVersion(version);
      return inTransaction(db, dialect, async (trx) => {
        const time = now();
        await lockModel(trx, name, time);
        const removed = versionOf(await liveVersion(trx, name, version));
        const pointing = (await trx.selectFrom('registry_aliases').select('alias').where('model', '=', name).where('version', '=', version).orderBy('alias').execute()).map((a) => a.alias);
        if (pointing.length > 0) {
          throw new UsageError('MODEL_VERSION_HAS_ALIASES', `version ${version} of "${name}" is aliased as ${pointing.join(', ')}`, {
            hint: `move or delete the alias first: \`mlctl models alias delete ${name} ${pointing[0]}\``,
          });
        }
        await trx.updateTable('registry_versions').set({ deleted_time: time }).where('model', '=', name).where('version', '=', version).execute();
        await audit(trx, name, time, { action: 'version-delete', version, old: removed.source, new: null });
        return removed;
      });
    },

    async auditLog(name) {
      validateModelName(name);
      const rows = await db.selectFrom('registry_audit').selectAll().where('model', '=', name).orderBy('id').execute();
      return rows.map(auditEntryOf);
    },

    async referencedRunIds() {
      const rows = await db.selectFrom('registry_versions').select('run_id').distinct().where('deleted_time', 'is', null).execute();
      return new Set(rows.map((r) => r.run_id));
    },
  };
}

function modelNotFound(name: string): NotFoundError {
  return new NotFoundError('MODEL_NOT_FOUND', `no registered model named "${name}"`, {
    hint: 'list models with `mlctl models list`; register one with `mlctl models register <run-id> --name <name>`',
  });
}

function versionOf(row: RegistryVersionsTable): ModelVersion {
  return {
    version: Number(row.version),
    runId: row.run_id,
    experiment: row.experiment,
    source: row.source,
    manifestSha256: row.manifest_sha256,
    description: row.description,
    createdTime: row.created_time,
    user: row.user_name,
  };
}

/** A version as stored (live). */
export function versionRow(model: string, version: ModelVersion): RegistryVersionsTable {
  return {
    model,
    version: version.version,
    run_id: version.runId,
    experiment: version.experiment,
    source: version.source,
    manifest_sha256: version.manifestSha256,
    description: version.description,
    created_time: version.createdTime,
    user_name: version.user,
    deleted_time: null,
  };
}

function auditEntryOf(row: Omit<TrackingSchema['registry_audit'], 'id'>): AuditEntry {
  return {
    time: row.time,
    user: row.user_name,
    model: row.model,
    action: row.action as AuditAction,
    ...(row.version === null ? {} : { version: Number(row.version) }),
    ...(row.alias === null ? {} : { alias: row.alias }),
    old: JSON.parse(row.old_json) as string | number | null,
    new: JSON.parse(row.new_json) as string | number | null,
  };
}
