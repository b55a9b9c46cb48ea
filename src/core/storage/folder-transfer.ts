import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { GateError } from '../errors.js';
import { syncDirectory } from '../fs/atomic.js';
import { fileChunks } from '../fs/file-chunks.js';
import { sha256, sha256File } from '../fs/hash.js';
import { isTemporaryName } from '../fs/temporary-names.js';
import type { ArtifactStore } from './artifact-store.js';
import { forEachBounded } from './bounded.js';

export interface UploadFolderOptions {
  /** Keys written after every other one, in this order (a bundle's manifest.json: it says the bundle is whole). */
  readonly last?: readonly string[];
  /** Leave out an artifact the store already holds with the same size and SHA-256 (a repeated import). */
  readonly skipUnchanged?: boolean;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
}

export interface UploadFolderResult {
  readonly files: number;
  readonly uploaded: number;
  readonly bytes: number;
  /** SHA-256 of each file, by key. */
  readonly hashes: ReadonlyMap<string, string>;
}

/**
 * Copies every file under `dir` into `store` (keys relative to `dir`), each verified and
 * atomic as the store's put is; the keys in `last` go after all others, so a reader that
 * waits for them never sees a part. Temporary files of interrupted writes are left out.
 */
export async function uploadFolder(dir: string, store: ArtifactStore, options: UploadFolderOptions = {}): Promise<UploadFolderResult> {
  const keys = await listFiles(dir);
  const last = (options.last ?? []).filter((key) => keys.includes(key));
  const first = keys.filter((key) => !last.includes(key));
  const present = options.skipUnchanged === true ? new Map((await store.list(options.signal)).map((entry) => [entry.key, entry])) : new Map();
  const hashes = new Map<string, string>();
  let uploaded = 0;
  let bytes = 0;
  const put = async (key: string, signal?: AbortSignal): Promise<void> => {
    const path = join(dir, ...key.split('/'));
    const [info, hash] = await Promise.all([stat(path), sha256File(path)]);
    hashes.set(key, hash);
    const existing = present.get(key);
    if (existing !== undefined && existing.size === info.size) {
      const known = existing.sha256 ?? (await store.head(key, signal))?.sha256 ?? null;
      if (known === hash) return;
    }
    await store.put(key, fileChunks(path, signal), { size: info.size, sha256: hash, ...(signal === undefined ? {} : { signal }) });
    uploaded += 1;
    bytes += info.size;
  };
  await forEachBounded(first, options.concurrency ?? 8, (key, signal) => put(key, signal), options.signal);
  for (const key of last) await put(key, options.signal);
  await store.flush();
  return { files: keys.length, uploaded, bytes, hashes };
}

/** Every regular file under `dir` as a '/'-separated key, sorted; none when `dir` is absent. */
export async function listFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isFile() && !isTemporaryName(entry.name))
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
}

export interface DownloadManifestFolderOptions {
  /** The manifest's key in `store` ("manifest.json"). */
  readonly manifestKey: string;
  /** The SHA-256 the manifest must have: anything else is refused before a byte more is read. */
  readonly expectedManifestSha256?: string;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Names what is downloaded in messages ("the bundle of run 01ab…"). */
  readonly what: string;
}

/**
 * Downloads a folder whose manifest lists every other file with its SHA-256 (a model bundle)
 * from `store` into `localDir`, checking each file against the manifest as it arrives. The
 * folder is assembled beside `localDir` and renamed into place only once whole, so a reader
 * never sees a part and a half-uploaded folder (a file missing or different) is refused
 * (GateError BUNDLE_INCOMPLETE, exit 4) and leaves nothing behind.
 */
export async function downloadManifestFolder(store: ArtifactStore, localDir: string, options: DownloadManifestFolderOptions): Promise<void> {
  const manifestBytes = await readAll(store, options.manifestKey, options.signal);
  const manifestSha = sha256(manifestBytes);
  if (options.expectedManifestSha256 !== undefined && manifestSha !== options.expectedManifestSha256) {
    throw new GateError('BUNDLE_CHANGED', `${options.what} at ${store.location} changed since it was recorded: its manifest.json has SHA-256 ${manifestSha.slice(0, 12)}…, not ${options.expectedManifestSha256.slice(0, 12)}…`, {
      hint: 'a stored bundle must not be modified; run `mlctl runs verify`',
    });
  }
  let files: Record<string, string>;
  try {
    files = (JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as { files?: Record<string, string> }).files ?? {};
  } catch {
    throw new GateError('BUNDLE_INCOMPLETE', `${options.what} at ${store.location}: manifest.json is not valid JSON`);
  }
  const prefix = options.manifestKey.includes('/') ? options.manifestKey.slice(0, options.manifestKey.lastIndexOf('/') + 1) : '';
  const staging = join(dirname(localDir), `.${basename(localDir)}.${process.pid}.${randomBytes(4).toString('hex')}.partial`);
  try {
    const problems: string[] = [];
    await forEachBounded(
      Object.entries(files),
      options.concurrency ?? 8,
      async ([path, expected], signal) => {
        if (path.split('/').some((part) => part === '..' || part === '') || path.startsWith('/')) {
          problems.push(`${path}: path escapes the bundle`);
          return;
        }
        let data: Uint8Array;
        try {
          data = await readAll(store, `${prefix}${path}`, signal);
        } catch (error) {
          if ((error as { category?: string }).category !== 'not-found') throw error;
          problems.push(`${path}: missing`);
          return;
        }
        const actual = sha256(data);
        if (actual !== expected) {
          problems.push(`${path}: SHA-256 is ${actual.slice(0, 12)}…, the manifest says ${String(expected).slice(0, 12)}…`);
          return;
        }
        const target = join(staging, ...path.split('/'));
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, data);
      },
      options.signal,
    );
    if (problems.length > 0) {
      throw new GateError('BUNDLE_INCOMPLETE', `${options.what} at ${store.location} is incomplete or damaged and was not used`, {
        problems,
        hint: 'an upload may still be under way or was interrupted; run `mlctl runs verify`',
      });
    }
    const manifestPath = join(staging, basename(options.manifestKey));
    await mkdir(dirname(manifestPath), { recursive: true });
    await writeFile(manifestPath, manifestBytes);
    await mkdir(dirname(localDir), { recursive: true });
    const previous = `${staging}.old`;
    const replaced = await rename(localDir, previous).then(
      () => true,
      () => false,
    );
    try {
      await rename(staging, localDir);
    } catch (error) {
      if (replaced) await rename(previous, localDir).catch(() => undefined);
      // Another process put the same folder in place first: theirs is as good as ours.
      if (!replaced && ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY' || (error as NodeJS.ErrnoException).code === 'EEXIST')) return;
      throw error;
    }
    if (replaced) await rm(previous, { recursive: true, force: true });
    await syncDirectory(dirname(localDir));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** An artifact's bytes. NotFoundError from the store when it is absent. */
export async function readAll(store: ArtifactStore, key: string, signal?: AbortSignal): Promise<Uint8Array> {
  const body = await store.get(key, signal);
  const chunks: Uint8Array[] = [];
  for await (const chunk of body.chunks) chunks.push(chunk);
  return Buffer.concat(chunks);
}
