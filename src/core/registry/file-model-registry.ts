import { appendFile, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, UsageError } from '../errors.js';
import { writeJsonAtomic } from '../fs/atomic.js';
import { sha256File } from '../fs/hash.js';
import { withFileLock } from '../tracking/file-lock.js';
import type { FileRunStore } from '../tracking/file-run-store.js';
import { ARTIFACTS_DIR, readOptionalJson } from '../tracking/run-files.js';
import type { AuditEntry, ModelRegistry, ModelVersion, RegisteredModel, SetAliasOptions, VersionSelector } from './model-registry.js';
import { checkExpectation } from './registry-expectation.js';

/** Under the store root; `models` is therefore not an experiment name (see names.ts). */
export const REGISTRY_DIR = 'models';
const MODEL_FILE = 'model.json';
const AUDIT_FILE = 'audit.jsonl';
const LOCK_FILE = '.lock';

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ALIAS = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
/** `name@latest` always means the highest live version; it cannot be set. */
export const LATEST_ALIAS = 'latest';

export function validateModelName(name: string): string {
  if (!MODEL_NAME.test(name) || name.includes('..')) {
    throw new UsageError('INVALID_MODEL_NAME', `model name "${name}" is not allowed`, {
      hint: 'use up to 64 letters, digits, "_", "." and "-", starting with a letter or digit (e.g. "income")',
    });
  }
  return name;
}

export function validateAlias(alias: string): string {
  if (!ALIAS.test(alias)) {
    throw new UsageError('INVALID_MODEL_ALIAS', `alias "${alias}" is not allowed`, {
      hint: 'use up to 32 letters, digits, "_" and "-", starting with a letter (e.g. "production")',
    });
  }
  return alias;
}

export function validateVersion(version: number, where = 'version'): number {
  if (!Number.isInteger(version) || version < 1) {
    throw new UsageError('INVALID_MODEL_VERSION', `${where} must be a whole number ≥ 1, got ${String(version)}`);
  }
  return version;
}

/** The bundle a run produced, as the trainer writes it. */
export function runBundleDir(runDir: string): string {
  return join(runDir, ARTIFACTS_DIR, 'model');
}

export interface FileModelRegistryOptions {
  readonly store: FileRunStore;
}

/**
 * The registry as files: `<root>/models/<name>/model.json` (RegisteredModel) rewritten
 * atomically under a lock file, and `audit.jsonl` appended for every change.
 */
export function createFileModelRegistry(options: FileModelRegistryOptions): ModelRegistry {
  const { store } = options;
  const base = join(store.root, REGISTRY_DIR);
  const modelDir = (name: string): string => join(base, validateModelName(name));
  const now = (): string => new Date(store.clock()).toISOString();

  async function read(name: string): Promise<RegisteredModel | undefined> {
    const file = join(modelDir(name), MODEL_FILE);
    return (await readOptionalJson(file)) as RegisteredModel | undefined;
  }

  async function mustRead(name: string): Promise<RegisteredModel> {
    const model = await read(name);
    if (model === undefined) {
      throw new NotFoundError('MODEL_NOT_FOUND', `no registered model named "${name}"`, {
        hint: 'list models with `mlctl models list`; register a run with `mlctl models register <run> --name <name>`',
      });
    }
    return model;
  }

  /** Read-modify-write of one model under its lock, with its audit entries appended. */
  async function change<T>(
    name: string,
    fn: (model: RegisteredModel | undefined) => { model: RegisteredModel; result: T; audit: Omit<AuditEntry, 'time' | 'user' | 'model'>[] },
  ): Promise<T> {
    const dir = modelDir(name);
    await mkdir(dir, { recursive: true });
    return withFileLock(join(dir, LOCK_FILE), async () => {
      const { model, result, audit } = fn(await read(name));
      await writeJsonAtomic(join(dir, MODEL_FILE), model);
      const time = now();
      const lines = audit.map((entry) => JSON.stringify({ time, user: store.user, model: name, ...entry })).join('\n');
      if (lines !== '') await appendFile(join(dir, AUDIT_FILE), `${lines}\n`);
      return result;
    });
  }

  function findVersion(model: RegisteredModel, version: number): ModelVersion {
    const found = model.versions.find((v) => v.version === version);
    if (found === undefined) {
      throw new NotFoundError('MODEL_VERSION_NOT_FOUND', `model "${model.name}" has no version ${version}`, {
        hint: `versions: ${model.versions.map((v) => v.version).join(', ') || 'none'}`,
      });
    }
    return found;
  }

  async function list(): Promise<readonly RegisteredModel[]> {
    const names = await readdir(base).catch(() => [] as string[]);
    const models = await Promise.all(names.filter((n) => MODEL_NAME.test(n)).sort().map((n) => read(n)));
    return models.filter((m): m is RegisteredModel => m !== undefined);
  }

  return {
    list,

    async register({ runId, name, description }) {
      validateModelName(name);
      const run = await store.getRun(runId);
      if (run.deleted) throw new UsageError('RUN_DELETED', `run ${run.info.id} is deleted; restore it first with \`mlctl runs restore ${run.info.id}\``);
      if (run.info.status === 'RUNNING') throw new UsageError('RUN_NOT_FINISHED', `run ${run.info.id} is still running; register it once it has finished`);
      const manifest = join(runBundleDir(run.dir), 'manifest.json');
      let manifestSha256: string;
      try {
        manifestSha256 = await sha256File(manifest);
      } catch {
        throw new NotFoundError('RUN_HAS_NO_BUNDLE', `run ${run.info.id} has no model bundle (${manifest} is missing)`, {
          hint: 'only runs that trained a model to completion can be registered',
        });
      }
      return change(name, (existing) => {
        const time = now();
        const version: ModelVersion = {
          version: existing?.nextVersion ?? 1,
          runId: run.info.id,
          experiment: run.info.experiment,
          source: `runs:/${run.info.id}`,
          manifestSha256,
          description: description ?? null,
          createdTime: time,
          user: store.user,
        };
        const model: RegisteredModel = {
          name,
          description: existing === undefined ? (description ?? null) : existing.description,
          createdTime: existing?.createdTime ?? time,
          updatedTime: time,
          versions: [...(existing?.versions ?? []), version],
          aliases: existing?.aliases ?? {},
          nextVersion: version.version + 1,
        };
        return { model, result: version, audit: [{ action: 'register', version: version.version, old: null, new: version.source }] };
      });
    },

    get: mustRead,

    async resolve(name, selector: VersionSelector) {
      const model = await mustRead(name);
      if ('version' in selector) return findVersion(model, validateVersion(selector.version));
      if (selector.alias === LATEST_ALIAS) {
        const latest = model.versions.at(-1);
        if (latest === undefined) throw new NotFoundError('MODEL_VERSION_NOT_FOUND', `model "${name}" has no versions`);
        return latest;
      }
      const version = model.aliases[validateAlias(selector.alias)];
      if (version === undefined) {
        throw new NotFoundError('MODEL_ALIAS_NOT_FOUND', `model "${name}" has no alias "${selector.alias}"`, {
          hint: `aliases: ${Object.keys(model.aliases).join(', ') || 'none'}; set one with \`mlctl models alias set ${name} ${selector.alias} <version>\``,
        });
      }
      return findVersion(model, version);
    },

    async setAlias(name, alias, version, setOptions: SetAliasOptions = {}) {
      validateAlias(alias);
      validateVersion(version);
      if (alias === LATEST_ALIAS) throw new UsageError('RESERVED_MODEL_ALIAS', `"${LATEST_ALIAS}" always means the newest version and cannot be set`);
      await mustRead(name);
      return change(name, (model) => {
        const current = model!;
        findVersion(current, version);
        const previous = current.aliases[alias] ?? null;
        checkExpectation(name, alias, previous, setOptions);
        return {
          model: { ...current, updatedTime: now(), aliases: sortRecord({ ...current.aliases, [alias]: version }) },
          result: { previous },
          audit: [{ action: 'alias-set', alias, old: previous, new: version }],
        };
      });
    },

    async deleteAlias(name, alias) {
      validateAlias(alias);
      await mustRead(name);
      return change(name, (model) => {
        const current = model!;
        const previous = current.aliases[alias];
        if (previous === undefined) throw new NotFoundError('MODEL_ALIAS_NOT_FOUND', `model "${name}" has no alias "${alias}"`);
        const aliases = { ...current.aliases };
        delete aliases[alias];
        return { model: { ...current, updatedTime: now(), aliases }, result: { previous }, audit: [{ action: 'alias-delete', alias, old: previous, new: null }] };
      });
    },

    async deleteVersion(name, version) {
      validateVersion(version);
      await mustRead(name);
      return change(name, (model) => {
        const current = model!;
        const removed = findVersion(current, version);
        const pointing = Object.entries(current.aliases).filter(([, v]) => v === version).map(([a]) => a);
        if (pointing.length > 0) {
          throw new UsageError('MODEL_VERSION_HAS_ALIASES', `version ${version} of "${name}" is aliased as ${pointing.join(', ')}`, {
            hint: `move or delete the alias first: \`mlctl models alias delete ${name} ${pointing[0]}\``,
          });
        }
        return {
          model: { ...current, updatedTime: now(), versions: current.versions.filter((v) => v.version !== version) },
          result: removed,
          audit: [{ action: 'version-delete', version, old: removed.source, new: null }],
        };
      });
    },

    async auditLog(name) {
      validateModelName(name);
      let text: string;
      try {
        text = await readFile(join(modelDir(name), AUDIT_FILE), 'utf8');
      } catch {
        return [];
      }
      const entries: AuditEntry[] = [];
      for (const line of text.split('\n')) {
        if (line === '') continue;
        try {
          entries.push(JSON.parse(line) as AuditEntry);
        } catch {
          // A torn last line from a crash mid-append: the change itself is in model.json.
        }
      }
      return entries;
    },

    async referencedRunIds() {
      const ids = new Set<string>();
      for (const model of await list()) for (const v of model.versions) ids.add(v.runId);
      return ids;
    },
  };
}

function sortRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
