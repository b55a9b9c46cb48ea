import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { GateError, NotFoundError, UsageError } from '../errors.js';
import { syncDirectory, temporaryPathFor } from '../fs/atomic.js';
import { ignoreFolderInGit } from '../fs/git-ignore.js';
import { fileChunks } from '../fs/file-chunks.js';
import { sha256File } from '../fs/hash.js';
import { stagingEntryName, temporaryWriterPid } from '../fs/temporary-names.js';
import { isProcessAlive } from '../tracking/process-liveness.js';
import type { ArtifactBody, ArtifactEntry, ArtifactStore, FolderReplacement, PutArtifactOptions } from './artifact-store.js';
import type { HashCache } from './hash-cache.js';

export interface LocalArtifactStoreOptions {
  /** The folder the keys are relative to; need not exist yet. */
  readonly root: string;
  /** Remembers hashes by size and mtime, so unchanged files are not read again. */
  readonly hashCache?: HashCache;
  /**
   * Keys to leave out of listings, hence out of sync and of `--delete` (hidden index
   * folders). Temporary files of atomic writes (`.<name>.<pid>.<hex>.tmp`) are always left out.
   */
  readonly exclude?: (key: string) => boolean;
  /**
   * A folder on the same file system, out of the listed keys (excluded), where writes are
   * assembled before they are renamed into place: a file, or a whole folder
   * (`replaceFolder`). Without it a file is written beside its final name. With it, a write
   * that is killed leaves nothing among the store's files, only an entry here, named after
   * its process (see fs/temporary-names.ts), that `removeStaleStaging` clears.
   */
  readonly stagingDir?: string;
}

const TEMPORARY_FILE = /^\..+\.tmp$/;
/** Files up to this size are read into memory whole when copied (see `readSmall`). */
const SMALL_FILE_BYTES = 8 * 1024 * 1024;

/** Artifacts as plain files under a folder. Writes are atomic (temp file, fsync, rename). */
export class LocalArtifactStore implements ArtifactStore {
  readonly location: string;
  private readonly root: string;
  private readonly hashCache: HashCache | undefined;
  private readonly exclude: (key: string) => boolean;
  private readonly stagingDir: string | undefined;
  /** Files the last list() passed over (temporary or excluded), by key. */
  private unlisted: string[] = [];

  constructor(options: LocalArtifactStoreOptions) {
    this.root = resolve(options.root);
    this.location = this.root;
    this.hashCache = options.hashCache;
    this.exclude = options.exclude ?? (() => false);
    this.stagingDir = options.stagingDir === undefined ? undefined : resolve(options.stagingDir);
  }

  within(prefix: string): LocalArtifactStore {
    const trimmed = prefix.replace(/\/+$/, '');
    if (trimmed === '') return this;
    return new LocalArtifactStore({ root: this.pathOf(trimmed), exclude: (key) => this.exclude(`${trimmed}/${key}`) });
  }

  /**
   * Removes what killed writers left in the staging folder: entries whose process is gone
   * (a younger process with the same pid is not the writer). Returns how many.
   */
  async removeStaleStaging(): Promise<number> {
    if (this.stagingDir === undefined) return 0;
    let names: string[];
    try {
      names = await readdir(this.stagingDir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const pid = temporaryWriterPid(name);
      const path = join(this.stagingDir, name);
      const info = await stat(path).catch(() => undefined);
      if (pid === undefined || info === undefined || isProcessAlive(pid, info.mtimeMs)) continue;
      await rm(path, { recursive: true, force: true });
      removed += 1;
    }
    return removed;
  }

  async list(): Promise<ArtifactEntry[]> {
    const entries: ArtifactEntry[] = [];
    this.unlisted = [];
    await this.walk(this.root, entries);
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.hashCache?.retainOnly(new Set(entries.map((entry) => entry.key)));
    return entries;
  }

  private async walk(dir: string, into: ArtifactEntry[]): Promise<void> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error) && dir === this.root) return;
      throw error;
    }
    await Promise.all(
      dirents.map(async (dirent) => {
        const path = join(dir, dirent.name);
        const key = relative(this.root, path).split(sep).join('/');
        if (dirent.isDirectory()) return this.exclude(key) ? undefined : this.walk(path, into);
        if (this.exclude(key) || TEMPORARY_FILE.test(dirent.name)) {
          this.unlisted.push(key);
          return;
        }
        if (!dirent.isFile()) return;
        const info = await stat(path);
        const sha256 = this.hashCache?.lookup(key, fingerprint(info.size, info.mtimeMs)) ?? null;
        into.push({ key, size: info.size, sha256, modified: info.mtime.toISOString() });
      }),
    );
  }

  async head(key: string): Promise<ArtifactEntry | null> {
    const path = this.pathOf(key);
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    if (!info.isFile()) return null;
    const print = fingerprint(info.size, info.mtimeMs);
    let sha256 = this.hashCache?.lookup(key, print);
    if (sha256 === undefined) {
      sha256 = await sha256File(path);
      // Only trust the hash if the file did not change while it was read.
      const after = await stat(path);
      if (fingerprint(after.size, after.mtimeMs) === print) this.hashCache?.record(key, print, sha256);
    }
    return { key, size: info.size, sha256, modified: info.mtime.toISOString() };
  }

  async get(key: string, signal?: AbortSignal): Promise<ArtifactBody> {
    const path = this.pathOf(key);
    const small = await this.readSmall(key, path, signal);
    if (small !== undefined) return small;
    const entry = await this.head(key);
    if (entry === null) throw notFound(path);
    return { size: entry.size, sha256: entry.sha256, chunks: fileChunks(path, signal) };
  }

  /**
   * A file of at most SMALL_FILE_BYTES whose hash is not cached is read once, hashed from
   * memory and served from that buffer, rather than read once to hash and again to copy.
   * undefined when the file is larger or its hash is cached (then it is streamed).
   */
  private async readSmall(key: string, path: string, signal: AbortSignal | undefined): Promise<ArtifactBody | undefined> {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (isMissing(error)) throw notFound(path);
      throw error;
    }
    if (!info.isFile()) throw notFound(path);
    const print = fingerprint(info.size, info.mtimeMs);
    if (info.size > SMALL_FILE_BYTES || this.hashCache?.lookup(key, print) !== undefined) return undefined;
    const data = await readFile(path, signal === undefined ? {} : { signal });
    const sha256 = createHash('sha256').update(data).digest('hex');
    const after = await stat(path);
    if (fingerprint(after.size, after.mtimeMs) === print && after.size === data.byteLength) this.hashCache?.record(key, print, sha256);
    return { size: data.byteLength, sha256, chunks: once(data) };
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, options: PutArtifactOptions): Promise<ArtifactEntry> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    let tmp: string;
    if (this.stagingDir === undefined) tmp = temporaryPathFor(path);
    else {
      await this.ensureStagingDir();
      tmp = join(this.stagingDir, stagingEntryName('tmp'));
    }
    let sha256: string;
    try {
      sha256 = await writeVerified(key, tmp, body, options);
      await renameAcrossDevices(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    await syncDirectory(dirname(path));
    return this.recordWritten(key, path, sha256);
  }

  private stagingReady = false;

  private async ensureStagingDir(): Promise<void> {
    if (this.stagingReady || this.stagingDir === undefined) return;
    await mkdir(this.stagingDir, { recursive: true });
    await ignoreFolderInGit(this.stagingDir);
    this.stagingReady = true;
  }

  private async recordWritten(key: string, path: string, sha256: string): Promise<ArtifactEntry> {
    const info = await stat(path);
    this.hashCache?.record(key, fingerprint(info.size, info.mtimeMs), sha256);
    return { key, size: info.size, sha256, modified: info.mtime.toISOString() };
  }

  unlistedFiles(): readonly string[] {
    return this.unlisted;
  }

  async replaceFolder(folder: string): Promise<FolderReplacement> {
    const prefix = folder.endsWith('/') ? folder : `${folder}/`;
    const target = this.pathOf(prefix.slice(0, -1));
    const stagingDir = this.stagingDir ?? dirname(target);
    if (this.stagingDir === undefined) await mkdir(stagingDir, { recursive: true });
    else await this.ensureStagingDir();
    // Without a staging folder, a hidden temporary sibling (as a bundle is saved).
    const staged = this.stagingDir === undefined ? `${temporaryPathFor(target)}` : join(stagingDir, stagingEntryName('dir'));
    await mkdir(staged);
    const written = new Map<string, string>();
    const stagedPathOf = (key: string): string => {
      if (!key.startsWith(prefix)) throw new UsageError('ARTIFACT_KEY_INVALID', `${key} is not inside ${prefix}`);
      this.pathOf(key); // validates the key
      return join(staged, ...key.slice(prefix.length).split('/'));
    };
    return {
      put: async (key, body, options) => {
        const path = stagedPathOf(key);
        await mkdir(dirname(path), { recursive: true });
        try {
          written.set(key, await writeVerified(key, path, body, options));
        } catch (error) {
          await rm(path, { force: true });
          throw error;
        }
        const info = await stat(path);
        return { key, size: info.size, sha256: written.get(key) as string, modified: info.mtime.toISOString() };
      },
      keep: async (key) => {
        const path = stagedPathOf(key);
        await mkdir(dirname(path), { recursive: true });
        // A hard link shares the bytes (and the mtime the hash cache knows); a copy where links fail.
        await link(this.pathOf(key), path).catch(() => copyFile(this.pathOf(key), path));
      },
      commit: async () => {
        await mkdir(dirname(target), { recursive: true });
        const old = this.stagingDir === undefined ? `${temporaryPathFor(target)}` : join(stagingDir, stagingEntryName('old'));
        let replaced = false;
        try {
          await rename(target, old);
          replaced = true;
        } catch (error) {
          if (!isMissing(error)) throw error;
        }
        try {
          await rename(staged, target);
        } catch (error) {
          if (replaced) await rename(old, target).catch(() => undefined);
          throw error;
        }
        await syncDirectory(dirname(target));
        if (replaced) await rm(old, { recursive: true, force: true });
        for (const [key, sha256] of written) await this.recordWritten(key, this.pathOf(key), sha256);
      },
      discard: async () => {
        await rm(staged, { recursive: true, force: true });
      },
    };
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const path = this.pathOf(key);
      await rm(path, { force: true });
      this.hashCache?.forget(key);
      await this.removeEmptyParents(dirname(path));
    }
  }

  async flush(): Promise<void> {
    await this.hashCache?.save();
  }

  /** Removes folders left empty by a delete, up to (not including) the root. */
  private async removeEmptyParents(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(this.root + sep)) {
      try {
        await rmdir(current);
      } catch {
        return;
      }
      current = dirname(current);
    }
  }

  /** The file for a key; a key that would escape the root is refused. */
  private pathOf(key: string): string {
    const parts = key.split('/');
    if (key === '' || key.startsWith('/') || parts.some((part) => part === '' || part === '.' || part === '..' || part.includes('\\'))) {
      throw new UsageError('ARTIFACT_KEY_INVALID', `refusing artifact key "${key}": it is empty or leaves ${this.root}`);
    }
    return join(this.root, ...parts);
  }
}

/**
 * Renames `from` to `to`; when they lie on different file systems (a folder of the store
 * mounted or linked elsewhere than the staging folder), copies to a sibling of `to` first.
 */
async function renameAcrossDevices(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const sibling = temporaryPathFor(to);
    try {
      await copyFile(from, sibling);
      await rename(sibling, to);
    } catch (inner) {
      await rm(sibling, { force: true });
      throw inner;
    }
    await rm(from, { force: true });
  }
}

/**
 * Writes `body` to `path` (fsynced), checking its size and SHA-256 against `options`;
 * returns the SHA-256. The caller removes `path` on failure.
 */
async function writeVerified(key: string, path: string, body: AsyncIterable<Uint8Array>, options: PutArtifactOptions): Promise<string> {
  const hash = createHash('sha256');
  let written = 0;
  const handle = await open(path, 'w');
  try {
    for await (const chunk of body) {
      options.signal?.throwIfAborted();
      hash.update(chunk);
      await handle.write(chunk);
      written += chunk.byteLength;
      options.onBytes?.(written);
    }
    options.signal?.throwIfAborted();
    await handle.sync();
  } finally {
    await handle.close();
  }
  const actual = hash.digest('hex');
  if (written !== options.size || (options.sha256 !== null && actual !== options.sha256)) {
    throw new GateError(
      'ARTIFACT_CHECKSUM_MISMATCH',
      `${key}: received ${written} bytes with SHA-256 ${actual.slice(0, 12)}…, expected ${options.size} bytes with ${options.sha256?.slice(0, 12) ?? 'any hash'}…`,
      { hint: 'the source changed or was corrupted in transit; nothing was written, run the command again' },
    );
  }
  return actual;
}

function fingerprint(size: number, mtimeMs: number): string {
  return `${size}:${mtimeMs}`;
}

async function* once(data: Uint8Array): AsyncIterable<Uint8Array> {
  yield data;
}

function notFound(path: string): NotFoundError {
  return new NotFoundError('ARTIFACT_NOT_FOUND', `${path} does not exist`);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
