import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GateError, MlctlError } from '../errors.js';
import { describeRegistryDivergence } from '../registry/registry-divergence.js';
import type { ArtifactEntry, ArtifactStore } from './artifact-store.js';
import { SyncState } from './sync-state.js';
import { downloadDirectory, uploadDirectory, type SyncOptions, type SyncPolicy, type SyncPolicyContext, type SyncResult, type TransferOptions } from './sync.js';

/** What `mlctl sync` can move; `all` is every one of them. */
export const SYNC_SCOPES = ['runs', 'models', 'data'] as const;
export type SyncScope = (typeof SYNC_SCOPES)[number];

/** The folders mlctl keeps, as found in the config. */
export interface WorkspaceDirs {
  readonly runsDir: string;
  readonly dataDir: string;
}

/** One synced folder and where it goes under the remote. */
export interface ScopeDefinition {
  readonly scope: SyncScope;
  readonly localDir: string;
  /** Appended to the remote prefix: `<remote>/<scope>/…`. */
  readonly remoteSuffix: string;
  /** Local keys never uploaded nor deleted. */
  readonly exclude: (key: string) => boolean;
  /**
   * Where a pull assembles files and bundles before moving them in (hidden, on the same
   * file system as `localDir`): a pull that is killed leaves nothing half-written among them.
   */
  readonly stagingDir: string;
  /** Folders that arrive whole on a pull, given the remote's keys (model bundles). */
  readonly atomicFolders?: (keys: readonly string[]) => string[];
  /**
   * The registry: a file changed on the destination since this workspace last synced it is
   * not overwritten (nor deleted) without --force, since that would lose a registration.
   */
  readonly guarded: boolean;
}

/** The model registry's folder under the runs directory (see core/registry). */
const REGISTRY_FOLDER = 'models';
/** Sync's own files under the runs directory: staging (`tmp/`) and what it knows of each remote (`remotes/`). */
export const SYNC_STATE_DIR = '.sync';
const BUNDLE_MANIFEST = 'manifest.json';

/** Hidden files and folders anywhere (indexes, locks, temporary files) stay local. */
function isHidden(key: string): boolean {
  return key.split('/').some((part) => part.startsWith('.'));
}

/**
 * The folders behind each scope: `runs` is the runs directory without the registry folder
 * (that is `models`) and without hidden index folders; `data` is `<dataDir>/raw`, the
 * verified downloads (not caches, not the database).
 */
export function defineSyncScopes(which: SyncScope | 'all', dirs: WorkspaceDirs): ScopeDefinition[] {
  const runsStaging = join(dirs.runsDir, SYNC_STATE_DIR, 'tmp');
  const all: ScopeDefinition[] = [
    {
      scope: 'runs',
      localDir: dirs.runsDir,
      remoteSuffix: 'runs',
      exclude: (key) => isHidden(key) || key === REGISTRY_FOLDER || key.startsWith(`${REGISTRY_FOLDER}/`),
      stagingDir: runsStaging,
      atomicFolders: bundleFolders,
      guarded: false,
    },
    { scope: 'models', localDir: join(dirs.runsDir, REGISTRY_FOLDER), remoteSuffix: 'models', exclude: isHidden, stagingDir: runsStaging, guarded: true },
    { scope: 'data', localDir: join(dirs.dataDir, 'raw'), remoteSuffix: 'data', exclude: isHidden, stagingDir: join(dirs.dataDir, 'cache', 'sync', 'tmp'), guarded: false },
  ];
  return which === 'all' ? all : all.filter((definition) => definition.scope === which);
}

/** A folder holding a manifest.json is a model bundle (see core/bundle): it travels whole. */
function bundleFolders(keys: readonly string[]): string[] {
  return keys.filter((key) => key.endsWith(`/${BUNDLE_MANIFEST}`)).map((key) => key.slice(0, -BUNDLE_MANIFEST.length));
}

export interface WorkspaceSyncOptions extends SyncOptions {
  /**
   * Opens the store at a location under the remote (`<remote>/<scope>/`), with its hash
   * cache: `openArtifactStore` with the configuration's S3 settings.
   */
  readonly openRemote: (uri: string) => Promise<ArtifactStore>;
  readonly direction: 'push' | 'pull';
  /** The remote root (s3://bucket/prefix); each scope goes to `<remote>/<scope>/`. */
  readonly remote: string;
  readonly scopes: readonly ScopeDefinition[];
  /** Hash caches between runs. */
  readonly cacheDir?: string;
  /**
   * Where what this workspace knows of each remote is kept (`<runs>/.sync/remotes`): what it
   * pushed, and the registry as both sides last agreed on it (see SyncState). Without it,
   * nothing counts as pushed from here, so --delete deletes nothing without `force`.
   */
  readonly stateDir?: string;
  /**
   * Push: delete remote objects this workspace did not push, and overwrite registry files
   * changed remotely. Pull: overwrite (and with --delete, delete) registry files changed here.
   */
  readonly force?: boolean;
  /** Called before each scope starts. */
  readonly onScope?: (scope: ScopeDefinition, remote: string) => void;
}

export interface ScopeSyncResult extends SyncResult {
  readonly scope: SyncScope;
  /** Set when the scope was passed over, saying why (no local folder to push). */
  readonly note?: string;
}

export interface WorkspaceSyncResult {
  readonly direction: 'push' | 'pull';
  readonly remote: string;
  readonly dryRun: boolean;
  readonly scopes: readonly ScopeSyncResult[];
  readonly totals: Readonly<{ transferred: number; skipped: number; deleted: number; bytes: number; unverified: number; seconds: number }>;
}

/**
 * Pushes or pulls each scope in turn. Pushing a scope whose local folder does not exist is
 * passed over rather than read as "empty" (which with --delete would empty the remote);
 * pulling with --delete from an empty remote scope keeps the local files, likewise.
 */
export async function syncWorkspace(options: WorkspaceSyncOptions): Promise<WorkspaceSyncResult> {
  const started = performance.now();
  const base = options.remote.replace(/\/+$/, '');
  const results: ScopeSyncResult[] = [];
  for (const definition of options.scopes) {
    const remoteStore = await options.openRemote(`${base}/${definition.remoteSuffix}/`);
    const remote = remoteStore.location;
    options.onScope?.(definition, remote);
    if (options.direction === 'push' && !(await isDirectory(definition.localDir))) {
      results.push({ ...emptyResult(definition.localDir, remote, options.dryRun === true), scope: definition.scope, note: `${definition.localDir} does not exist` });
      continue;
    }
    const state = options.stateDir === undefined ? undefined : await SyncState.open(options.stateDir, remote, remoteStore.endpoint ?? 'local');
    const transfer: TransferOptions = {
      ...options,
      exclude: definition.exclude,
      stagingDir: definition.stagingDir,
      ...(definition.atomicFolders === undefined ? {} : { atomicFolders: definition.atomicFolders }),
      policy: scopePolicy(options.direction, definition, state, options.force === true, remote),
    };
    let failed = false;
    try {
      const result =
        options.direction === 'push'
          ? await uploadDirectory(definition.localDir, remoteStore, transfer)
          : await downloadDirectory(remoteStore, definition.localDir, transfer);
      results.push({ ...result, scope: definition.scope });
    } catch (error) {
      // With --delete, an empty remote scope (nothing pushed there yet) keeps the local files.
      failed = !(error instanceof MlctlError && error.code === 'SYNC_SOURCE_EMPTY' && options.direction === 'pull');
      if (failed) throw error;
      results.push({ ...emptyResult(remote, definition.localDir, options.dryRun === true), scope: definition.scope, note: `nothing under ${remote}; local files kept` });
    } finally {
      // Saved even when the sync failed: what was pushed before the failure is ours. A failure
      // to save must not hide the sync's own error (the journal still holds the pushes).
      if (options.dryRun !== true) await state?.save().catch((error: unknown) => {
        if (!failed) throw error;
      });
    }
  }
  const sum = (pick: (result: ScopeSyncResult) => number): number => results.reduce((total, result) => total + pick(result), 0);
  return {
    direction: options.direction,
    remote: options.remote,
    dryRun: options.dryRun === true,
    scopes: results,
    totals: {
      transferred: sum((r) => r.transferred),
      skipped: sum((r) => r.skipped),
      deleted: sum((r) => r.deleted),
      bytes: sum((r) => r.bytes),
      unverified: sum((r) => r.unverified),
      seconds: Math.round(performance.now() - started) / 1000,
    },
  };
}

function emptyResult(source: string, destination: string, dryRun: boolean): SyncResult {
  return { source, destination, dryRun, transferred: 0, skipped: 0, deleted: 0, bytes: 0, unverified: 0, seconds: 0, changes: [], changedDuringSync: [], kept: [] };
}

/**
 * The rules of a workspace sync, over the plain one (see SyncPolicy):
 * - push records each upload before it starts, and with --delete deletes only remote objects
 *   this workspace pushed that still hold what it pushed (teammates' objects stay);
 * - for the registry, a file changed on the destination since both sides last agreed on it
 *   is neither overwritten nor deleted: the sync is refused naming the model and versions.
 * `force` lifts both.
 */
function scopePolicy(direction: 'push' | 'pull', definition: ScopeDefinition, state: SyncState | undefined, force: boolean, remote: string): SyncPolicy {
  const guarded = definition.guarded && !force;
  const policy: SyncPolicy = {
    agreed: (key, sha256) => {
      if (definition.guarded) state?.agreed(key, sha256);
    },
    deleted: (keys) => {
      for (const key of keys) if (direction === 'push' || definition.guarded) state?.forget(key);
    },
  };
  if (direction === 'push') {
    policy.beforeWrite = async (key, sha256) => {
      if (sha256 !== null) await state?.recordPush(key, sha256);
    };
    if (!force) {
      policy.keepReason = async (entry, context) => {
        const pushed = state?.pushed.get(entry.key);
        if (pushed === undefined) return 'not pushed from this workspace';
        return (await context.destinationHash(entry.key)) === pushed ? undefined : 'changed on the remote since this workspace pushed it';
      };
    }
  } else if (guarded) {
    policy.keepReason = async (entry, context) => {
      const base = state?.base.get(entry.key);
      if (base === undefined) return 'made here and never pushed';
      return (await context.destinationHash(entry.key)) === base ? undefined : 'changed here since the last sync';
    };
  }
  if (guarded) policy.reviewTransfers = (transfers, context) => refuseRegistryConflicts(direction, transfers, context, state, remote);
  return policy;
}

/**
 * Throws SYNC_REGISTRY_CONFLICT (exit 4) when a transfer would overwrite a registry file that
 * changed on the destination since both sides last agreed on it (or that the destination has
 * and this workspace never synced), unless the overwrite is a fast-forward: the other side
 * registered a version or moved an alias that would be lost. Names each model and how the
 * two copies differ.
 */
async function refuseRegistryConflicts(
  direction: 'push' | 'pull',
  transfers: readonly ArtifactEntry[],
  context: SyncPolicyContext,
  state: SyncState | undefined,
  remote: string,
): Promise<void> {
  const conflicting = new Map<string, { localChanged: boolean }>();
  for (const entry of transfers) {
    if (context.destinationEntry(entry.key) === undefined) continue;
    const base = state?.base.get(entry.key);
    if ((await context.destinationHash(entry.key)) === base) continue;
    const name = entry.key.split('/')[0] as string;
    const localHash = direction === 'push' ? await context.sourceHash(entry.key) : await context.destinationHash(entry.key);
    const previous = conflicting.get(name);
    conflicting.set(name, { localChanged: (previous?.localChanged ?? false) || base === undefined || localHash !== base });
  }
  // A fast-forward loses nothing: the destination's audit log (appended on every registry
  // change) is where the source's begins, so every change made there is in the source too.
  // It also covers a workspace that has no record of the remote yet (synced by an older mlctl).
  for (const name of [...conflicting.keys()]) {
    const key = `${name}/${REGISTRY_AUDIT_FILE}`;
    const [theirs, ours] = await Promise.all([readText(context.destination, key), readText(context.source, key)]);
    if (theirs !== undefined && theirs !== '' && ours !== undefined && ours.startsWith(theirs)) conflicting.delete(name);
  }
  if (conflicting.size === 0) return;
  const problems: string[] = [];
  const reregister: string[] = [];
  const local = direction === 'push' ? context.source : context.destination;
  const other = direction === 'push' ? context.destination : context.source;
  for (const name of [...conflicting.keys()].sort()) {
    const key = `${name}/${REGISTRY_MODEL_FILE}`;
    const divergence = describeRegistryDivergence(name, await readJson(local, key), await readJson(other, key), 'here', `on ${remote}`);
    problems.push(...divergence.problems);
    for (const version of divergence.localOnly) reregister.push(`mlctl models register ${version.runId} --name ${name}`);
  }
  const names = [...conflicting.keys()].sort();
  const models = `${names.length === 1 ? 'model' : 'models'} ${names.map((n) => `"${n}"`).join(', ')}`;
  const diverged = direction === 'pull' || [...conflicting.values()].some((c) => c.localChanged);
  const takeTheirs = `\`mlctl sync pull models --force\` takes the remote's registry${reregister.length === 0 ? '' : ` (then register yours again: ${reregister.slice(0, 3).join('; ')}${reregister.length > 3 ? '; …' : ''})`}`;
  throw new GateError(
    'SYNC_REGISTRY_CONFLICT',
    direction === 'push'
      ? `refusing to overwrite the registry of ${models} on ${remote}: it changed there since this workspace last pulled it`
      : `refusing to overwrite the registry of ${models} here: it changed here since the last sync, and on ${remote} too`,
    {
      problems,
      hint: diverged
        ? `both sides changed it: ${takeTheirs}, or \`mlctl sync push models --force\` replaces the remote's with this workspace's`
        : 'run `mlctl sync pull models` first to take the remote\'s changes, then push again',
      details: { models: names },
    },
  );
}

/** A registered model's files in the registry folder (see core/registry). */
const REGISTRY_MODEL_FILE = 'model.json';
const REGISTRY_AUDIT_FILE = 'audit.jsonl';

/** An artifact's text, or undefined when it is absent or cannot be read. */
async function readText(store: ArtifactStore, key: string): Promise<string | undefined> {
  try {
    const body = await store.get(key);
    const chunks: Uint8Array[] = [];
    for await (const chunk of body.chunks) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  } catch {
    return undefined;
  }
}

async function readJson(store: ArtifactStore, key: string): Promise<unknown> {
  const text = await readText(store, key);
  try {
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
