import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MlctlError, NotFoundError, UsageError } from '../errors.js';
import { syncDirectory } from '../fs/atomic.js';
import { sha256 } from '../fs/hash.js';
import type { ArtifactEntry, ArtifactStore } from './artifact-store.js';
import { forEachBounded } from './bounded.js';
import { HashCache } from './hash-cache.js';
import { LocalArtifactStore } from './local-artifact-store.js';

/** Transfers in flight at once unless told otherwise. */
export const DEFAULT_SYNC_CONCURRENCY = 8;

export interface SyncChange {
  readonly action: 'transfer' | 'delete';
  readonly key: string;
  readonly bytes: number;
}

export interface SyncProgressEvent {
  readonly phase: 'comparing' | 'transferring' | 'deleting';
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The artifact just finished, if any. */
  readonly key?: string;
}

export interface SyncOptions {
  /** Delete from the destination what the source does not have (rsync --delete). */
  readonly deleteExtraneous?: boolean;
  /** Compare and report, change nothing. */
  readonly dryRun?: boolean;
  /** Transfers (and hash look-ups) in flight at once. */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: SyncProgressEvent) => void;
  /**
   * Folders (key prefixes ending in '/') that must arrive whole, given the source's keys. At
   * a destination that can `replaceFolder`, a folder with anything to change (or holding
   * files the source lacks, such as the leftovers of a killed write) is assembled out of
   * sight and swapped in: a reader never sees part of it. Model bundles travel so.
   */
  readonly atomicFolders?: (sourceKeys: readonly string[]) => readonly string[];
  /** Ownership and conflict rules layered on the plan (see SyncPolicy). */
  readonly policy?: SyncPolicy;
}

/** What a policy may ask about the two sides. */
export interface SyncPolicyContext {
  readonly source: ArtifactStore;
  readonly destination: ArtifactStore;
  /** The SHA-256 of a key on each side (from the listing, else a HEAD); null when absent or unknown. */
  sourceHash(key: string): Promise<string | null>;
  destinationHash(key: string): Promise<string | null>;
  /** The destination's listing entry for a key, if it has one. */
  destinationEntry(key: string): ArtifactEntry | undefined;
}

/**
 * Rules a caller adds to a plain sync (see workspace-sync.ts): which artifacts may be
 * overwritten or deleted, and a record of what the two sides agree on. Consulted before
 * anything changes (also in a dry run) and as artifacts are written.
 */
export interface SyncPolicy {
  /** Reviews the planned transfers; throws (a GateError naming them) to refuse the whole sync. */
  reviewTransfers?(transfers: readonly ArtifactEntry[], context: SyncPolicyContext): Promise<void>;
  /** Why an extraneous destination artifact must not be deleted after all; undefined to delete it. */
  keepReason?(entry: ArtifactEntry, context: SyncPolicyContext): Promise<string | undefined>;
  /** Before an artifact is written to the destination: a write-ahead record, awaited. */
  beforeWrite?(key: string, sha256: string | null): Promise<void>;
  /** The two sides hold the same content for `key` (just copied, or found identical). */
  agreed?(key: string, sha256: string): void;
  /** Artifacts deleted from the destination. */
  deleted?(keys: readonly string[]): void;
}

export interface SyncResult {
  readonly source: string;
  readonly destination: string;
  readonly dryRun: boolean;
  /** Artifacts copied (or, in a dry run, that would be). */
  readonly transferred: number;
  /** Artifacts already at the destination with the same size and SHA-256. */
  readonly skipped: number;
  readonly deleted: number;
  /** Bytes copied (or that would be). */
  readonly bytes: number;
  /** Copied artifacts whose source recorded no SHA-256 (objects written by other tools): size-checked only. */
  readonly unverified: number;
  readonly seconds: number;
  /** Every transfer and delete planned, in key order. */
  readonly changes: readonly SyncChange[];
  /**
   * Source artifacts rewritten or deleted while they were being copied (a running run's
   * metrics): not copied this time, left for the next sync. Not counted in `transferred`.
   */
  readonly changedDuringSync: readonly string[];
  /** Extraneous destination artifacts the policy kept from deletion, with its reason. */
  readonly kept: readonly { readonly key: string; readonly bytes: number; readonly reason: string }[];
}

/** A folder replaced whole: what to copy into it and what to carry over. */
interface FolderPlan {
  readonly folder: string;
  readonly transfers: readonly ArtifactEntry[];
  readonly keep: readonly string[];
  /** Files in the destination folder that the source lacks: dropped by the replacement. */
  readonly extras: readonly string[];
}

/**
 * Makes `destination` hold what `source` holds, incrementally: an artifact is skipped when
 * the destination has it with the same size and SHA-256 (hashes come from each store's cache
 * or metadata, so an unchanged tree is compared without reading it). Transfers run in
 * parallel, each verified and atomic; atomic folders (bundles) arrive whole. Nothing is
 * deleted unless `deleteExtraneous`, and deletes happen only after every transfer
 * succeeded; an empty source never deletes everything (UsageError SYNC_SOURCE_EMPTY).
 * A policy may refuse transfers or keep artifacts from deletion. Caches are saved even on failure.
 */
export async function syncStores(source: ArtifactStore, destination: ArtifactStore, options: SyncOptions = {}): Promise<SyncResult> {
  const started = performance.now();
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_SYNC_CONCURRENCY);
  const signal = options.signal;
  const policy = options.policy ?? {};
  try {
    const [sourceEntries, destinationEntries] = await Promise.all([source.list(signal), destination.list(signal)]);
    const existing = new Map(destinationEntries.map((entry) => [entry.key, entry]));
    const sourceByKey = new Map(sourceEntries.map((entry) => [entry.key, entry]));
    options.onProgress?.({ phase: 'comparing', filesDone: 0, filesTotal: sourceEntries.length, bytesDone: 0, bytesTotal: 0 });

    // Same size on both sides: compare hashes, asking a store only when its listing lacked one.
    const transfers: ArtifactEntry[] = [];
    const sameSize: { from: ArtifactEntry; to: ArtifactEntry }[] = [];
    for (const entry of sourceEntries) {
      const other = existing.get(entry.key);
      if (other === undefined || other.size !== entry.size) transfers.push(entry);
      else sameSize.push({ from: entry, to: other });
    }
    const knownHash = new Map<string, string | null>();
    const knownDestinationHash = new Map<string, string | null>();
    const skippedKeys: { key: string; sha256: string }[] = [];
    await forEachBounded(
      sameSize,
      concurrency,
      async ({ from, to }, taskSignal) => {
        const [fromSha, toSha] = await Promise.all([
          from.sha256 ?? source.head(from.key, taskSignal).then((entry) => entry?.sha256 ?? null),
          to.sha256 ?? destination.head(to.key, taskSignal).then((entry) => entry?.sha256 ?? null),
        ]);
        knownHash.set(from.key, fromSha);
        knownDestinationHash.set(to.key, toSha);
        if (fromSha !== null && fromSha === toSha) skippedKeys.push({ key: from.key, sha256: fromSha });
        else transfers.push(from);
      },
      signal,
    );
    const skipped = skippedKeys.length;
    transfers.sort(byKey);
    if (options.deleteExtraneous === true && sourceEntries.length === 0 && destinationEntries.length > 0) {
      // An empty source is far more often a mistyped prefix or folder than a wish to wipe.
      throw new UsageError('SYNC_SOURCE_EMPTY', `${source.location} holds nothing: refusing to delete all ${destinationEntries.length} files of ${destination.location}`, {
        hint: 'check the remote prefix and the folder; drop --delete to sync without deleting',
      });
    }
    const context: SyncPolicyContext = {
      source,
      destination,
      destinationEntry: (key) => existing.get(key),
      sourceHash: async (key) => {
        const known = knownHash.get(key) ?? sourceByKey.get(key)?.sha256;
        if (known !== undefined && known !== null) return known;
        const sha256 = (await source.head(key, signal))?.sha256 ?? null;
        knownHash.set(key, sha256);
        return sha256;
      },
      destinationHash: async (key) => {
        const known = knownDestinationHash.get(key) ?? existing.get(key)?.sha256;
        if (known !== undefined && known !== null) return known;
        if (!existing.has(key)) return null;
        const sha256 = (await destination.head(key, signal))?.sha256 ?? null;
        knownDestinationHash.set(key, sha256);
        return sha256;
      },
    };
    await policy.reviewTransfers?.(transfers, context);

    // Folders that arrive whole: their transfers (and extra files) are taken out of the per-file plan.
    const folderPlans = planFolders(sourceEntries, transfers, destinationEntries, destination, options.atomicFolders);
    const inFolder = new Set(folderPlans.flatMap((plan) => plan.transfers.map((entry) => entry.key)));
    const droppedWithFolder = new Set(folderPlans.flatMap((plan) => plan.extras));
    const fileTransfers = transfers.filter((entry) => !inFolder.has(entry.key));

    const sourceKeys = new Set(sourceEntries.map((entry) => entry.key));
    const extraneous =
      options.deleteExtraneous === true ? destinationEntries.filter((entry) => !sourceKeys.has(entry.key) && !droppedWithFolder.has(entry.key)) : [];
    const deletions: ArtifactEntry[] = [];
    const kept: { key: string; bytes: number; reason: string }[] = [];
    for (const entry of extraneous) {
      const reason = await policy.keepReason?.(entry, context);
      if (reason === undefined) deletions.push(entry);
      else kept.push({ key: entry.key, bytes: entry.size, reason });
    }
    const folderExtras = folderPlans.flatMap((plan) => plan.extras.map((key) => ({ key, bytes: existing.get(key)?.size ?? 0 })));
    const changes: SyncChange[] = [
      ...transfers.map((entry) => ({ action: 'transfer' as const, key: entry.key, bytes: entry.size })),
      ...deletions.map((entry) => ({ action: 'delete' as const, key: entry.key, bytes: entry.size })),
      ...folderExtras.map((extra) => ({ action: 'delete' as const, key: extra.key, bytes: extra.bytes })),
    ].sort((a, b) => (a.action === b.action ? byKey(a, b) : a.action === 'transfer' ? -1 : 1));
    const plannedBytes = transfers.reduce((sum, entry) => sum + entry.size, 0);
    const deletedCount = deletions.length + folderExtras.length;
    const result = (transferred: number, transferredBytes: number, unverified: number, changedDuringSync: string[]): SyncResult => ({
      source: source.location,
      destination: destination.location,
      dryRun: options.dryRun === true,
      transferred,
      skipped,
      deleted: deletedCount,
      bytes: transferredBytes,
      unverified,
      seconds: round((performance.now() - started) / 1000),
      changes,
      changedDuringSync,
      kept,
    });
    if (options.dryRun === true) return result(transfers.length, plannedBytes, 0, []);
    for (const { key, sha256 } of skippedKeys) policy.agreed?.(key, sha256);

    let filesDone = 0;
    let bytesDone = 0;
    let unverified = 0;
    let transferred = 0;
    const changedDuringSync: string[] = [];
    const progress = (key?: string): void =>
      options.onProgress?.({ phase: 'transferring', filesDone, filesTotal: transfers.length, bytesDone, bytesTotal: plannedBytes, ...(key === undefined ? {} : { key }) });
    /** Copies one artifact with `put`; false when the source changed meanwhile (left for next time). */
    const copy = async (entry: ArtifactEntry, put: ArtifactStore['put'], taskSignal: AbortSignal, agreedNow: boolean): Promise<string | null | false> => {
      let counted = 0;
      try {
        const body = await source.get(entry.key, taskSignal);
        const expected = knownHash.get(entry.key) ?? entry.sha256 ?? body.sha256;
        await policy.beforeWrite?.(entry.key, expected);
        let written: ArtifactEntry;
        try {
          written = await put(entry.key, body.chunks, {
            size: body.size,
            sha256: expected,
            signal: taskSignal,
            onBytes: (bytes) => {
              bytesDone += bytes - counted;
              counted = bytes;
            },
          });
        } catch (error) {
          if (!(error instanceof MlctlError && error.code === 'ARTIFACT_CHECKSUM_MISMATCH')) throw error;
          // A file rewritten while it was read (metrics of a running run) is left for the
          // next sync; bytes that do not match an unchanged source are corruption: fail.
          const now = await source.head(entry.key, taskSignal);
          if (now !== null && now.size === body.size && (expected === null || now.sha256 === expected)) throw error;
          changedDuringSync.push(entry.key);
          bytesDone -= counted;
          return false;
        }
        if (expected === null) unverified += 1;
        bytesDone += body.size - counted;
        const sha256 = written.sha256 ?? expected;
        if (agreedNow && sha256 !== null) policy.agreed?.(entry.key, sha256);
        filesDone += 1;
        progress(entry.key);
        return sha256;
      } catch (error) {
        if (!(error instanceof NotFoundError) || error.code !== 'ARTIFACT_NOT_FOUND') throw error;
        changedDuringSync.push(entry.key); // deleted since the listing
        return false;
      }
    };

    progress();
    await forEachBounded(
      fileTransfers,
      concurrency,
      async (entry, taskSignal) => {
        if ((await copy(entry, (key, body, putOptions) => destination.put(key, body, putOptions), taskSignal, true)) !== false) transferred += 1;
      },
      signal,
    );
    for (const plan of folderPlans) transferred += await replaceFolderWhole(plan, destination, copy, concurrency, signal, policy);
    if (deletions.length > 0) {
      options.onProgress?.({ phase: 'deleting', filesDone: 0, filesTotal: deletions.length, bytesDone, bytesTotal: plannedBytes });
      await destination.delete(
        deletions.map((entry) => entry.key),
        signal,
      );
      policy.deleted?.(deletions.map((entry) => entry.key));
    }
    changedDuringSync.sort();
    return result(transferred, bytesDone, unverified, changedDuringSync);
  } finally {
    await Promise.all([source.flush(), destination.flush()]);
  }
}

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * The atomic folders with something to change: a transfer, or a file the source lacks
 * (listed, or passed over by the destination's listing: the leftovers of a killed write).
 * Keys are grouped by walking up their paths, so the cost grows with the number of keys.
 */
function planFolders(
  sourceEntries: readonly ArtifactEntry[],
  transfers: readonly ArtifactEntry[],
  destinationEntries: readonly ArtifactEntry[],
  destination: ArtifactStore,
  atomicFolders: SyncOptions['atomicFolders'],
): FolderPlan[] {
  if (atomicFolders === undefined || destination.replaceFolder === undefined) return [];
  const folders = new Set(atomicFolders(sourceEntries.map((entry) => entry.key)));
  if (folders.size === 0) return [];
  // The outermost atomic folder holding a key: a folder inside another one travels with it.
  const folderOf = (key: string): string | undefined => {
    for (let slash = key.indexOf('/'); slash >= 0; slash = key.indexOf('/', slash + 1)) {
      const prefix = key.slice(0, slash + 1);
      if (folders.has(prefix)) return prefix;
    }
    return undefined;
  };
  const groups = new Map<string, { keys: string[]; transfers: ArtifactEntry[]; extras: string[] }>();
  for (const entry of sourceEntries) {
    const folder = folderOf(entry.key);
    if (folder === undefined) continue;
    const group = groups.get(folder) ?? { keys: [], transfers: [], extras: [] };
    group.keys.push(entry.key);
    groups.set(folder, group);
  }
  for (const entry of transfers) {
    const folder = folderOf(entry.key);
    if (folder !== undefined) groups.get(folder)?.transfers.push(entry);
  }
  const sourceKeys = new Set(sourceEntries.map((entry) => entry.key));
  const extra = [...destinationEntries.map((entry) => entry.key).filter((key) => !sourceKeys.has(key)), ...(destination.unlistedFiles?.() ?? [])];
  for (const key of extra) {
    const folder = folderOf(key);
    if (folder !== undefined) groups.get(folder)?.extras.push(key);
  }
  const plans: FolderPlan[] = [];
  for (const [folder, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (group.transfers.length === 0 && group.extras.length === 0) continue;
    const moving = new Set(group.transfers.map((entry) => entry.key));
    plans.push({ folder, transfers: group.transfers, keep: group.keys.filter((key) => !moving.has(key)), extras: group.extras.sort() });
  }
  return plans;
}

/**
 * Assembles a folder out of sight (its transfers copied in, the rest carried over) and swaps
 * it in. If any source file changed while it was copied, the folder is left as it was, for
 * the next sync. Returns the number of artifacts transferred.
 */
async function replaceFolderWhole(
  plan: FolderPlan,
  destination: ArtifactStore,
  copy: (entry: ArtifactEntry, put: ArtifactStore['put'], signal: AbortSignal, agreedNow: boolean) => Promise<string | null | false>,
  concurrency: number,
  signal: AbortSignal | undefined,
  policy: SyncPolicy,
): Promise<number> {
  const replacement = await (destination.replaceFolder as NonNullable<ArtifactStore['replaceFolder']>)(plan.folder);
  try {
    const copied: { key: string; sha256: string | null }[] = [];
    let changed = false;
    await forEachBounded(
      plan.transfers,
      concurrency,
      async (entry, taskSignal) => {
        const sha256 = await copy(entry, (key, body, putOptions) => replacement.put(key, body, putOptions), taskSignal, false);
        if (sha256 === false) changed = true;
        else copied.push({ key: entry.key, sha256 });
      },
      signal,
    );
    if (changed) {
      await replacement.discard();
      return 0;
    }
    for (const key of plan.keep) await replacement.keep(key);
    await replacement.commit();
    for (const { key, sha256 } of copied) if (sha256 !== null) policy.agreed?.(key, sha256);
    return copied.length;
  } catch (error) {
    await replacement.discard();
    throw error;
  }
}

export interface TransferOptions extends SyncOptions {
  /**
   * Where the local folder's hash cache lives between runs (one small JSON file per folder).
   * Without it hashes are cached for this call only. A remote store keeps its own (see
   * `openArtifactStore`'s `hashCacheDir`).
   */
  readonly cacheDir?: string;
  /** Local keys to leave alone (never uploaded, never deleted). */
  readonly exclude?: (key: string) => boolean;
  /** Where local writes are assembled before they are moved in (see LocalArtifactStoreOptions). */
  readonly stagingDir?: string;
}

/** A local folder as a store, with its persisted hash cache. */
export async function openLocalFolder(localDir: string, options: Pick<TransferOptions, 'cacheDir' | 'exclude' | 'stagingDir'> = {}): Promise<LocalArtifactStore> {
  const cacheFile = options.cacheDir === undefined ? undefined : join(options.cacheDir, `local-${sha256(localDir).slice(0, 16)}.json`);
  return new LocalArtifactStore({
    root: localDir,
    hashCache: await HashCache.load(cacheFile),
    ...(options.exclude === undefined ? {} : { exclude: options.exclude }),
    ...(options.stagingDir === undefined ? {} : { stagingDir: options.stagingDir }),
  });
}

/** Uploads a local folder to a store (an S3 prefix) incrementally (see `syncStores`). */
export async function uploadDirectory(localDir: string, remote: ArtifactStore, options: TransferOptions = {}): Promise<SyncResult> {
  return syncStores(await openLocalFolder(localDir, options), remote, options);
}

/** Downloads a store (an S3 prefix) into a local folder incrementally, verifying every SHA-256. */
export async function downloadDirectory(remote: ArtifactStore, localDir: string, options: TransferOptions = {}): Promise<SyncResult> {
  const local = await openLocalFolder(localDir, options);
  // What an earlier pull, killed midway, left in the staging folder.
  if (options.dryRun !== true) await local.removeStaleStaging();
  return syncStores(remote, local, options);
}

export interface DownloadFolderResult {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
  /** True when `dir` already held exactly these objects and nothing was downloaded. */
  readonly cached: boolean;
}

/**
 * Downloads everything in `remote` (a model bundle at an S3 prefix) into `localDir`, which
 * then holds exactly those objects. Each object's SHA-256 (from `x-amz-meta-sha256`) is
 * verified. The folder is replaced atomically: it is built beside `localDir` and renamed into
 * place, so a reader never sees a half-downloaded bundle and a failure leaves the old folder
 * (or none). When `localDir` already matches the remote, nothing is downloaded.
 * NotFoundError S3_PREFIX_EMPTY when the remote holds nothing.
 */
export async function downloadFolder(
  remote: ArtifactStore,
  localDir: string,
  options: Pick<SyncOptions, 'signal' | 'concurrency' | 'onProgress'> = {},
): Promise<DownloadFolderResult> {
  const local = new LocalArtifactStore({ root: localDir });
  const remoteEntries = await remote.list(options.signal);
  if (remoteEntries.length === 0) {
    throw new NotFoundError('S3_PREFIX_EMPTY', `nothing is stored under ${remote.location}`, {
      hint: `list what is there with: mlctl storage ls ${remote.location}`,
    });
  }
  const bytes = remoteEntries.reduce((sum, entry) => sum + entry.size, 0);
  if (await isDirectory(localDir)) {
    const check = await syncStores(remote, local, { ...options, dryRun: true, deleteExtraneous: true });
    if (check.changes.length === 0) return { dir: localDir, files: remoteEntries.length, bytes, cached: true };
  }
  const staging = join(dirname(localDir), `.${basename(localDir)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
  try {
    await syncStores(remote, new LocalArtifactStore({ root: staging }), options);
    const previous = `${staging}.old`;
    const hadPrevious = await isDirectory(localDir);
    if (hadPrevious) await rename(localDir, previous);
    try {
      await rename(staging, localDir);
    } catch (error) {
      if (hadPrevious) await rename(previous, localDir);
      throw error;
    }
    if (hadPrevious) await rm(previous, { recursive: true, force: true });
    await syncDirectory(dirname(localDir));
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { dir: localDir, files: remoteEntries.length, bytes, cached: false };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
