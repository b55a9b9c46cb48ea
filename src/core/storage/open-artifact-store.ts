import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.js';
import { UsageError } from '../errors.js';
import type { ArtifactStore } from './artifact-store.js';
import { HashCache } from './hash-cache.js';

/** What opening a store may need beyond its URI. */
export interface ArtifactStoreSettings {
  /** Relative folders are taken from here. */
  readonly cwd: string;
  /** The AWS SDK's settings (endpoint, region, keys, timeout), for s3:// stores. */
  readonly aws: Config['aws'];
  /**
   * Where hash caches persist between processes (one small JSON file per store), so an
   * unchanged artifact is not read again; without it hashes are cached for this store only.
   */
  readonly hashCacheDir?: string;
  /** Requests in flight at once (S3 sockets, deletes). */
  readonly concurrency?: number;
}

type Opener = (uri: string, settings: ArtifactStoreSettings) => Promise<ArtifactStore>;

/**
 * One opener per scheme, as Kysely keeps one dialect per database: a new kind of store is one
 * file beside `local-artifact-store.ts` and `s3-artifact-store.ts` plus one line here. Each is
 * imported only when its scheme is used (the AWS SDK loads for s3:// alone).
 */
const OPENERS: Readonly<Record<string, Opener>> = {
  file: async (uri, settings) => {
    const { LocalArtifactStore } = await import('./local-artifact-store.js');
    const root = localPathOf(uri, settings.cwd);
    return new LocalArtifactStore({ root, hashCache: await HashCache.load(cacheFile(settings, 'local', root)) });
  },
  s3: async (uri, settings) => {
    const [{ S3ArtifactStore }, { createS3Client }, { parseS3Uri, formatS3Uri }] = await Promise.all([
      import('./s3-artifact-store.js'),
      import('./s3-client.js'),
      import('./s3-uri.js'),
    ]);
    const location = parseS3Uri(uri);
    const client = createS3Client(settings.aws, settings.concurrency === undefined ? {} : { maxSockets: settings.concurrency });
    const endpoint = settings.aws.endpointUrl ?? 'aws';
    // The same cache file the sync engine has always used for this remote.
    const hashCache = await HashCache.load(cacheFile(settings, 's3', `${endpoint} ${formatS3Uri(location)}`));
    return new S3ArtifactStore({ client, bucket: location.bucket, prefix: location.key, hashCache, ...(settings.concurrency === undefined ? {} : { concurrency: settings.concurrency }) });
  },
};

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** The scheme a location is opened by: `s3`, or `file` for a path or file:// URL. */
export function artifactSchemeOf(uri: string): string {
  const match = SCHEME.exec(uri.trim());
  return match === null ? 'file' : (match[1] as string).toLowerCase();
}

/** True when `uri` names a store this build can open (a path, file://, s3://). */
export function isArtifactLocation(uri: string): boolean {
  return artifactSchemeOf(uri) in OPENERS;
}

/** True for a location that is not on this machine's file system (s3://…). */
export function isRemoteLocation(uri: string): boolean {
  return artifactSchemeOf(uri) !== 'file';
}

/**
 * Opens the artifact store at `uri`: a folder (a path, relative to `settings.cwd`, or a
 * file:// URL) or `s3://bucket/prefix`. UsageError ARTIFACT_URI_UNSUPPORTED for any other scheme.
 */
export async function openArtifactStore(uri: string, settings: ArtifactStoreSettings): Promise<ArtifactStore> {
  const scheme = artifactSchemeOf(uri);
  const open = OPENERS[scheme];
  if (open === undefined) {
    throw new UsageError('ARTIFACT_URI_UNSUPPORTED', `cannot open ${uri}: artifacts live in a folder or at s3://bucket/prefix`, {
      hint: `supported: ${Object.keys(OPENERS).map((s) => (s === 'file' ? 'a path' : `${s}://`)).join(', ')}`,
    });
  }
  return open(uri.trim(), settings);
}

/**
 * Splits the location of one artifact into its folder and its key:
 * `s3://bucket/data/file.csv` → `s3://bucket/data/` and `file.csv`. UsageError
 * ARTIFACT_URI_NOT_OBJECT when it names a folder or a bucket.
 */
export function artifactParentOf(uri: string): { parent: string; key: string } {
  const trimmed = uri.trim();
  const slash = trimmed.lastIndexOf('/');
  const key = trimmed.slice(slash + 1);
  if (key === '' || slash < 0 || (isRemoteLocation(trimmed) && !/^[a-z0-9+.-]+:\/\/[^/]+\/.+/i.test(trimmed))) {
    throw new UsageError('ARTIFACT_URI_NOT_OBJECT', `${uri} names a folder or bucket, not an object`, { hint: 'give the full key, e.g. s3://bucket/path/file.csv' });
  }
  return { parent: trimmed.slice(0, slash + 1), key };
}

/** Opens the store holding one artifact and returns it with the artifact's key (see artifactParentOf). */
export async function openArtifactAt(uri: string, settings: ArtifactStoreSettings): Promise<{ store: ArtifactStore; key: string }> {
  const { parent, key } = artifactParentOf(uri);
  return { store: await openArtifactStore(parent, settings), key };
}

function localPathOf(uri: string, cwd: string): string {
  return /^file:\/\//i.test(uri) ? fileURLToPath(uri) : resolve(cwd, uri);
}

function cacheFile(settings: ArtifactStoreSettings, kind: string, identity: string): string | undefined {
  return settings.hashCacheDir === undefined ? undefined : join(settings.hashCacheDir, `${kind}-${createHash('sha256').update(identity).digest('hex').slice(0, 16)}.json`);
}
