/**
 * One interface for every place artifacts live: a local folder (`local-artifact-store.ts`)
 * or an S3 prefix (`s3-artifact-store.ts`), opened by URI through `openArtifactStore`
 * (`open-artifact-store.ts`). Keys are relative POSIX paths ("run-1/meta.json") under the
 * store's root; sync, bundle upload and download work on any pair of stores.
 */
export interface ArtifactEntry {
  /** Relative to the store's root, '/'-separated, never starting with '/'. */
  readonly key: string;
  readonly size: number;
  /** Hex SHA-256 of the content when known without reading it (hash cache, object metadata); else null. */
  readonly sha256: string | null;
  /** ISO-8601 modification time. */
  readonly modified: string;
}

/** An opened artifact: its bytes as a stream plus what is known about them up front. */
export interface ArtifactBody {
  readonly size: number;
  /** The SHA-256 recorded with the artifact (S3 metadata `x-amz-meta-sha256`), if any. */
  readonly sha256: string | null;
  readonly chunks: AsyncIterable<Uint8Array>;
}

export interface PutArtifactOptions {
  /** Exact byte count of `body`; a mismatch fails the put and leaves nothing behind. */
  readonly size: number;
  /**
   * Expected SHA-256; a mismatch fails the put and leaves nothing behind. Stored with the
   * artifact. null when the source does not know it (an object uploaded by another tool):
   * the store computes it, where it can before storing anything.
   */
  readonly sha256: string | null;
  readonly signal?: AbortSignal;
  /** Called as bytes are written, with the count written so far for this artifact. */
  readonly onBytes?: (bytes: number) => void;
}

export interface ArtifactStore {
  /** Where the store points, for messages: a path or an s3:// URI. */
  readonly location: string;
  /**
   * What selects the store besides its location, for records kept about it elsewhere (sync's
   * state of a remote): the S3 endpoint ("aws" for AWS itself). undefined for a local folder.
   */
  readonly endpoint?: string;
  /**
   * The store rooted at `prefix`, a folder of this one: its keys are relative to it and its
   * listing holds only what lies under it. Shares this store's client.
   */
  within(prefix: string): ArtifactStore;
  /** Every artifact under the root (recursively), sorted by key. An absent root lists nothing. */
  list(signal?: AbortSignal): Promise<ArtifactEntry[]>;
  /** One artifact with its SHA-256 (computed or read from metadata where the store can), or null. */
  head(key: string, signal?: AbortSignal): Promise<ArtifactEntry | null>;
  /** Opens an artifact for reading; NotFoundError when absent. */
  get(key: string, signal?: AbortSignal): Promise<ArtifactBody>;
  /**
   * Writes an artifact atomically: readers see the old content or the new, never a part,
   * and a failed or cancelled put leaves no partial artifact behind.
   */
  put(key: string, body: AsyncIterable<Uint8Array>, options: PutArtifactOptions): Promise<ArtifactEntry>;
  /** Deletes artifacts; absent keys are ignored. */
  delete(keys: readonly string[], signal?: AbortSignal): Promise<void>;
  /** Persists what the store learned (hash caches). Safe to call more than once. */
  flush(): Promise<void>;
  /**
   * Optional, for stores that can swap a whole folder in at once (a local folder can, S3
   * cannot): starts assembling a new `folder` (a key prefix ending in '/') out of sight.
   * Readers see the old folder or the new one, never a mix. Sync moves model bundles so.
   */
  replaceFolder?(folder: string): Promise<FolderReplacement>;
  /**
   * Optional, with `replaceFolder`: the files the most recent `list()` passed over (temporary
   * files of writes, excluded hidden files), by key. A folder replaced whole drops them.
   */
  unlistedFiles?(): readonly string[];
}

/** A folder being assembled by `replaceFolder`; nothing is visible before `commit`. */
export interface FolderReplacement {
  /** Writes an artifact of the folder (its full key), verified as `ArtifactStore.put` does. */
  put(key: string, body: AsyncIterable<Uint8Array>, options: PutArtifactOptions): Promise<ArtifactEntry>;
  /** Carries an artifact over unchanged from the folder now in place. */
  keep(key: string): Promise<void>;
  /** Swaps the new folder in; the old one (with anything not put or kept) is gone. */
  commit(): Promise<void>;
  /** Throws the new folder away; the old one stays as it was. */
  discard(): Promise<void>;
}
