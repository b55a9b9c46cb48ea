import { randomBytes } from 'node:crypto';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { MlctlError, NotFoundError, UsageError } from '../errors.js';
import { syncDirectory } from '../fs/atomic.js';
import { sha256 } from '../fs/hash.js';
import type { ArtifactEntry, ArtifactStore } from './artifact-store.js';
import { forEachBounded } from './bounded.js';
import { HashCache } from './hash-cache.js';
import { LocalArtifactStore } from './local-artifact-store.js';
import { S3ArtifactStore } from './s3-artifact-store.js';
import { endpointOf } from './s3-client.js';
import { formatS3Uri, parseS3Uri } from './s3-uri.js';

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
}

/**
 * Makes `destination` hold what `source` holds, incrementally: an artifact is skipped when
 * the destination has it with the same size and SHA-256 (hashes come from each store's cache
 * or metadata, so an unchanged tree is compared without reading it). Transfers run in
 * parallel, each verified and atomic. Nothing is deleted unless `deleteExtraneous`, and
 * deletes happen only after every transfer succeeded; an empty source never deletes
 * everything (UsageError SYNC_SOURCE_EMPTY). Caches are saved even on failure.
 */
export async function syncStores(source: ArtifactStore, destination: ArtifactStore, options: SyncOptions = {}): Promise<SyncResult> {
  const started = performance.now();
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_SYNC_CONCURRENCY);
  const signal = options.signal;
  try {
    const [sourceEntries, destinationEntries] = await Promise.all([source.list(signal), destination.list(signal)]);
    const existing = new Map(destinationEntries.map((entry) => [entry.key, entry]));
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
    let skipped = 0;
    await forEachBounded(
      sameSize,
      concurrency,
      async ({ from, to }, taskSignal) => {
        const [fromSha, toSha] = await Promise.all([
          from.sha256 ?? source.head(from.key, taskSignal).then((entry) => entry?.sha256 ?? null),
          to.sha256 ?? destination.head(to.key, taskSignal).then((entry) => entry?.sha256 ?? null),
        ]);
        knownHash.set(from.key, fromSha);
        if (fromSha !== null && fromSha === toSha) skipped += 1;
        else transfers.push(from);
      },
      signal,
    );
    transfers.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    if (options.deleteExtraneous === true && sourceEntries.length === 0 && destinationEntries.length > 0) {
      // An empty source is far more often a mistyped prefix or folder than a wish to wipe.
      throw new UsageError('SYNC_SOURCE_EMPTY', `${source.location} holds nothing: refusing to delete all ${destinationEntries.length} files of ${destination.location}`, {
        hint: 'check the remote prefix and the folder; drop --delete to sync without deleting',
      });
    }
    const sourceKeys = new Set(sourceEntries.map((entry) => entry.key));
    const deletions = options.deleteExtraneous === true ? destinationEntries.filter((entry) => !sourceKeys.has(entry.key)) : [];
    const changes: SyncChange[] = [
      ...transfers.map((entry) => ({ action: 'transfer' as const, key: entry.key, bytes: entry.size })),
      ...deletions.map((entry) => ({ action: 'delete' as const, key: entry.key, bytes: entry.size })),
    ];
    const plannedBytes = transfers.reduce((sum, entry) => sum + entry.size, 0);
    const result = (transferredBytes: number, unverified: number): Omit<SyncResult, 'changedDuringSync'> => ({
      source: source.location,
      destination: destination.location,
      dryRun: options.dryRun === true,
      transferred: transfers.length,
      skipped,
      deleted: deletions.length,
      bytes: transferredBytes,
      unverified,
      seconds: round((performance.now() - started) / 1000),
      changes,
    });
    if (options.dryRun === true) return { ...result(plannedBytes, 0), changedDuringSync: [] };

    let filesDone = 0;
    let bytesDone = 0;
    let unverified = 0;
    const changedDuringSync: string[] = [];
    const progress = (key?: string): void =>
      options.onProgress?.({ phase: 'transferring', filesDone, filesTotal: transfers.length, bytesDone, bytesTotal: plannedBytes, ...(key === undefined ? {} : { key }) });
    progress();
    await forEachBounded(
      transfers,
      concurrency,
      async (entry, taskSignal) => {
        let counted = 0;
        try {
          const body = await source.get(entry.key, taskSignal);
          const expected = knownHash.get(entry.key) ?? entry.sha256 ?? body.sha256;
          try {
            await destination.put(entry.key, body.chunks, {
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
            return;
          }
          if (expected === null) unverified += 1;
          bytesDone += body.size - counted;
        } catch (error) {
          if (!(error instanceof NotFoundError) || error.code !== 'ARTIFACT_NOT_FOUND') throw error;
          changedDuringSync.push(entry.key); // deleted since the listing
          return;
        }
        filesDone += 1;
        progress(entry.key);
      },
      signal,
    );
    if (deletions.length > 0) {
      options.onProgress?.({ phase: 'deleting', filesDone: 0, filesTotal: deletions.length, bytesDone, bytesTotal: plannedBytes });
      await destination.delete(
        deletions.map((entry) => entry.key),
        signal,
      );
    }
    changedDuringSync.sort();
    return { ...result(bytesDone, unverified), transferred: transfers.length - changedDuringSync.length, changedDuringSync };
  } finally {
    await Promise.all([source.flush(), destination.flush()]);
  }
}

export interface TransferOptions extends SyncOptions {
  /**
   * Where hash caches live between runs (one small JSON file per local folder and per
   * remote prefix). Without it hashes are cached for this call only.
   */
  readonly cacheDir?: string;
  /** Local keys to leave alone (never uploaded, never deleted). */
  readonly exclude?: (key: string) => boolean;
}

/** A local folder and an S3 prefix as a pair of stores, each with its persisted hash cache. */
export async function openStorePair(
  client: S3Client,
  localDir: string,
  uri: string,
  options: Pick<TransferOptions, 'cacheDir' | 'exclude' | 'concurrency'> = {},
): Promise<{ local: LocalArtifactStore; remote: S3ArtifactStore }> {
  const location = parseS3Uri(uri);
  const endpoint = endpointOf(client) ?? 'aws';
  const cacheFile = (kind: string, identity: string): string | undefined =>
    options.cacheDir === undefined ? undefined : join(options.cacheDir, `${kind}-${sha256(identity).slice(0, 16)}.json`);
  const [localCache, remoteCache] = await Promise.all([
    HashCache.load(cacheFile('local', localDir)),
    HashCache.load(cacheFile('s3', `${endpoint} ${formatS3Uri(location)}`)),
  ]);
  return {
    local: new LocalArtifactStore({ root: localDir, hashCache: localCache, ...(options.exclude === undefined ? {} : { exclude: options.exclude }) }),
    remote: new S3ArtifactStore({
      client,
      bucket: location.bucket,
      prefix: location.key,
      hashCache: remoteCache,
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    }),
  };
}

/** Uploads a local folder to `s3://bucket/prefix` incrementally (see `syncStores`). */
export async function uploadDirectory(client: S3Client, localDir: string, uri: string, options: TransferOptions = {}): Promise<SyncResult> {
  const { local, remote } = await openStorePair(client, localDir, uri, options);
  return syncStores(local, remote, options);
}

/** Downloads `s3://bucket/prefix` into a local folder incrementally, verifying every SHA-256. */
export async function downloadDirectory(client: S3Client, uri: string, localDir: string, options: TransferOptions = {}): Promise<SyncResult> {
  const { local, remote } = await openStorePair(client, localDir, uri, options);
  return syncStores(remote, local, options);
}

export interface DownloadPrefixResult {
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
  /** True when `dir` already held exactly these objects and nothing was downloaded. */
  readonly cached: boolean;
}

/**
 * Downloads everything under `s3://bucket/prefix` (a model bundle) into `localDir`, which
 * then holds exactly those objects. Each object's SHA-256 (from `x-amz-meta-sha256`) is
 * verified. The folder is replaced atomically: it is built beside `localDir` and renamed into
 * place, so a reader never sees a half-downloaded bundle and a failure leaves the old folder
 * (or none). When `localDir` already matches the remote, nothing is downloaded.
 * NotFoundError S3_PREFIX_EMPTY when no object lies under the prefix.
 */
export async function downloadS3Prefix(
  client: S3Client,
  uri: string,
  localDir: string,
  options: Pick<SyncOptions, 'signal' | 'concurrency' | 'onProgress'> = {},
): Promise<DownloadPrefixResult> {
  const { local, remote } = await openStorePair(client, localDir, uri);
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
