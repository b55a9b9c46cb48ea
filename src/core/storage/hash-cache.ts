import { readFile } from 'node:fs/promises';
import { writeJsonAtomic } from '../fs/atomic.js';

interface HashCacheFile {
  readonly version: 1;
  /** key → [fingerprint, sha256] */
  readonly entries: Record<string, [string, string]>;
}

/**
 * Remembers the SHA-256 of artifacts by a cheap fingerprint, so an unchanged file is not
 * read again: "<size>:<mtimeMs>" for a local file, "<size>:<etag>" for an S3 object (a new
 * upload gets a new ETag unless its content is the same). A missing or unreadable cache file
 * is an empty cache: the cache only saves work, it never decides an outcome on its own.
 */
export class HashCache {
  private readonly entries: Map<string, [string, string]>;
  private dirty = false;

  private constructor(
    private readonly path: string | undefined,
    entries: Map<string, [string, string]>,
  ) {
    this.entries = entries;
  }

  /** A cache backed by `path` (JSON), or an in-memory one when `path` is undefined. */
  static async load(path: string | undefined): Promise<HashCache> {
    const entries = new Map<string, [string, string]>();
    if (path !== undefined) {
      try {
        const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<HashCacheFile>;
        if (parsed.version === 1 && typeof parsed.entries === 'object' && parsed.entries !== null) {
          for (const [key, value] of Object.entries(parsed.entries)) {
            if (Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'string') entries.set(key, [value[0], value[1]]);
          }
        }
      } catch {
        // Absent or corrupt: start empty; hashes are recomputed and the file rewritten.
      }
    }
    return new HashCache(path, entries);
  }

  lookup(key: string, fingerprint: string): string | undefined {
    const entry = this.entries.get(key);
    return entry !== undefined && entry[0] === fingerprint ? entry[1] : undefined;
  }

  record(key: string, fingerprint: string, sha256: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry[0] === fingerprint && entry[1] === sha256) return;
    this.entries.set(key, [fingerprint, sha256]);
    this.dirty = true;
  }

  forget(key: string): void {
    if (this.entries.delete(key)) this.dirty = true;
  }

  /** Drops entries for keys not in `present` (after a full listing). */
  retainOnly(present: ReadonlySet<string>): void {
    for (const key of this.entries.keys()) {
      if (!present.has(key)) {
        this.entries.delete(key);
        this.dirty = true;
      }
    }
  }

  async save(): Promise<void> {
    if (this.path === undefined || !this.dirty) return;
    const file: HashCacheFile = { version: 1, entries: Object.fromEntries(this.entries) };
    await writeJsonAtomic(this.path, file);
    this.dirty = false;
  }
}
