import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { MlctlError } from '../errors.js';
import { downloadDirectory, uploadDirectory, type SyncOptions, type SyncResult } from './sync.js';
import { formatS3Uri, joinKey, parseS3Uri } from './s3-uri.js';

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
}

/** The model registry's folder under the runs directory (see core/registry). */
const REGISTRY_FOLDER = 'models';

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
  const all: ScopeDefinition[] = [
    {
      scope: 'runs',
      localDir: dirs.runsDir,
      remoteSuffix: 'runs',
      exclude: (key) => isHidden(key) || key === REGISTRY_FOLDER || key.startsWith(`${REGISTRY_FOLDER}/`),
    },
    { scope: 'models', localDir: join(dirs.runsDir, REGISTRY_FOLDER), remoteSuffix: 'models', exclude: isHidden },
    { scope: 'data', localDir: join(dirs.dataDir, 'raw'), remoteSuffix: 'data', exclude: isHidden },
  ];
  return which === 'all' ? all : all.filter((definition) => definition.scope === which);
}

export interface WorkspaceSyncOptions extends SyncOptions {
  readonly client: S3Client;
  readonly direction: 'push' | 'pull';
  /** s3://bucket/prefix; each scope goes to `<remote>/<scope>/`. */
  readonly remote: string;
  readonly scopes: readonly ScopeDefinition[];
  /** Hash caches between runs. */
  readonly cacheDir?: string;
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
  const base = parseS3Uri(options.remote);
  const results: ScopeSyncResult[] = [];
  for (const definition of options.scopes) {
    const remote = formatS3Uri({ bucket: base.bucket, key: `${joinKey(base.key, definition.remoteSuffix)}/` });
    options.onScope?.(definition, remote);
    if (options.direction === 'push' && !(await isDirectory(definition.localDir))) {
      results.push({ ...emptyResult(definition.localDir, remote, options.dryRun === true), scope: definition.scope, note: `${definition.localDir} does not exist` });
      continue;
    }
    const transfer = { ...options, exclude: definition.exclude };
    try {
      const result =
        options.direction === 'push'
          ? await uploadDirectory(options.client, definition.localDir, remote, transfer)
          : await downloadDirectory(options.client, remote, definition.localDir, transfer);
      results.push({ ...result, scope: definition.scope });
    } catch (error) {
      // With --delete, an empty remote scope (nothing pushed there yet) keeps the local files.
      if (!(error instanceof MlctlError && error.code === 'SYNC_SOURCE_EMPTY' && options.direction === 'pull')) throw error;
      results.push({ ...emptyResult(remote, definition.localDir, options.dryRun === true), scope: definition.scope, note: `nothing under ${remote}; local files kept` });
    }
  }
  const sum = (pick: (result: ScopeSyncResult) => number): number => results.reduce((total, result) => total + pick(result), 0);
  return {
    direction: options.direction,
    remote: formatS3Uri(base),
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
  return { source, destination, dryRun, transferred: 0, skipped: 0, deleted: 0, bytes: 0, unverified: 0, seconds: 0, changes: [], changedDuringSync: [] };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
