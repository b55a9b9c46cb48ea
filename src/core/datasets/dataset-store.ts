import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ExternalError, GateError, NotFoundError } from '../errors.js';
import { syncDirectory, temporaryPathFor } from '../fs/atomic.js';
import type { DatasetFile, DatasetFileRole, DatasetSpec } from './dataset-spec.js';
import { mirrorLocation, openSource, type OpenedSource } from './dataset-source.js';

export interface DatasetProgressEvent {
  readonly file: string;
  readonly bytes: number;
  readonly totalBytes: number | null;
  readonly done: boolean;
}

export interface DatasetStoreOptions {
  /** Files live in <dataDir>/raw/<dataset>/<file>. */
  dataDir: string;
  /** A folder laid out <mirror>/<dataset>/<file> (MLCTL_DATA_MIRROR or --from); an s3:// or https:// prefix works too. */
  mirror?: string;
  signal?: AbortSignal;
  onProgress?: (event: DatasetProgressEvent) => void;
  /** Opens s3:// sources; supplied by the storage layer. Without it an s3:// url is a UsageError. */
  openRemote?: (url: string, signal?: AbortSignal) => Promise<AsyncIterable<Uint8Array>>;
  /** Injectable for tests. */
  fetch?: typeof fetch;
}

export interface LocalDatasetFile {
  name: string;
  role: DatasetFileRole;
  path: string;
  sha256: string;
  bytes: number;
}

export interface LocalDataset {
  spec: DatasetSpec;
  dir: string;
  files: LocalDatasetFile[];
  file(role: 'train' | 'test'): LocalDatasetFile | undefined;
}

export interface PulledFile {
  name: string;
  /** The path or URL the bytes came from ('' when the file was already present). */
  source: string;
  action: 'downloaded' | 'copied' | 'already-present';
  bytes: number;
  sha256: string;
}

export interface PullResult {
  dataset: string;
  dir: string;
  files: PulledFile[];
}

export interface DatasetFileStatus {
  name: string;
  role: DatasetFileRole;
  path: string;
  present: boolean;
  /** Present and its SHA-256 matches the spec. */
  verified: boolean;
  bytes: number | null;
  expectedSha256: string;
  sha256: string | null;
  /** Data rows (banner, header and blank lines excluded); null for absent or documentation files. */
  rows: number | null;
}

export interface DatasetStatus {
  dataset: string;
  description: string;
  dir: string;
  files: DatasetFileStatus[];
  /** Every file present and verified. */
  ready: boolean;
  /** Data rows over the train and test files that are present. */
  rows: number | null;
}

/** Where a dataset's raw files live. */
export function datasetDirectory(dataDir: string, dataset: string): string {
  return join(dataDir, 'raw', dataset);
}

/**
 * Fetches every file of `spec` into <dataDir>/raw/<name>/: from the mirror when it has the
 * file, else from the file's canonical URL. Files already present and verified are kept
 * unless `force`. A present file that fails verification is refused (GateError) unless
 * `force`, so a local edit is never silently overwritten.
 */
export async function pullDataset(spec: DatasetSpec, options: DatasetStoreOptions & { force?: boolean }): Promise<PullResult> {
  const dir = datasetDirectory(options.dataDir, spec.name);
  await removeStaleTemporaries(dir);
  const files: PulledFile[] = [];
  for (const file of spec.files) {
    options.signal?.throwIfAborted();
    const path = join(dir, file.name);
    if (options.force !== true) {
      const local = await inspectLocalFile(path);
      if (local !== null) {
        assertMatches(spec, file, path, local.sha256);
        files.push({ name: file.name, source: '', action: 'already-present', bytes: local.bytes, sha256: local.sha256 });
        options.onProgress?.({ file: file.name, bytes: local.bytes, totalBytes: local.bytes, done: true });
        continue;
      }
    }
    files.push(await fetchFile(spec, file, path, options));
  }
  return { dataset: spec.name, dir, files };
}

/**
 * Verifies every present file (always, SHA-256) and pulls what is missing. Throws GateError
 * 'DATASET_CHECKSUM_MISMATCH' naming the file and both hashes when a present file differs.
 */
export async function ensureDataset(spec: DatasetSpec, options: DatasetStoreOptions): Promise<LocalDataset> {
  const result = await pullDataset(spec, { ...options, force: false });
  const files: LocalDatasetFile[] = result.files.map((pulled, index) => {
    const file = spec.files[index] as DatasetFile;
    return { name: file.name, role: file.role, path: join(result.dir, file.name), sha256: pulled.sha256, bytes: pulled.bytes };
  });
  return {
    spec,
    dir: result.dir,
    files,
    file: (role) => files.find((candidate) => candidate.role === role),
  };
}

/** Per-file presence, verification and row counts, for `mlctl data list`. Reads every present file once. */
export async function datasetStatus(spec: DatasetSpec, options: { dataDir: string }): Promise<DatasetStatus> {
  const dir = datasetDirectory(options.dataDir, spec.name);
  const files: DatasetFileStatus[] = [];
  for (const file of spec.files) {
    const path = join(dir, file.name);
    const local = await inspectLocalFile(path);
    const verified = local !== null && local.sha256 === file.sha256.toLowerCase();
    files.push({
      name: file.name,
      role: file.role,
      path,
      present: local !== null,
      verified,
      bytes: local?.bytes ?? null,
      expectedSha256: file.sha256,
      sha256: local?.sha256 ?? null,
      rows: local === null || file.role === 'doc' ? null : dataRows(spec, file, local.nonBlankLines),
    });
  }
  const dataFiles = files.filter((file) => file.role !== 'doc' && file.rows !== null);
  return {
    dataset: spec.name,
    description: spec.description,
    dir,
    files,
    ready: files.every((file) => file.verified),
    rows: dataFiles.length === 0 ? null : dataFiles.reduce((sum, file) => sum + (file.rows ?? 0), 0),
  };
}

/** temporaryPathFor's names: .<file>.<pid>.<8 hex>.tmp */
const TEMPORARY_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes temporary files left by a pull that was killed outright (SIGKILL, power cut), where
 * no cleanup could run. A file whose writer is still alive is left alone.
 */
async function removeStaleTemporaries(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const match = TEMPORARY_NAME.exec(name);
    if (match === null || isProcessAlive(Number(match[1]))) continue;
    await rm(join(dir, name), { force: true });
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function dataRows(spec: DatasetSpec, file: DatasetFile, nonBlankLines: number): number {
  const dialect = { ...spec.dialect, ...file.dialect };
  return Math.max(0, nonBlankLines - dialect.skipLines - (dialect.header ? 1 : 0));
}

interface LocalFileFacts {
  sha256: string;
  bytes: number;
  nonBlankLines: number;
}

/** Hashes a local file and counts its non-blank lines in one pass; null when it does not exist. */
async function inspectLocalFile(path: string): Promise<LocalFileFacts | null> {
  const hash = createHash('sha256');
  let bytes = 0;
  let nonBlankLines = 0;
  let lineHasContent = false;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i] as number;
        if (byte === 0x0a) {
          if (lineHasContent) nonBlankLines++;
          lineHasContent = false;
        } else if (byte !== 0x20 && byte !== 0x0d && byte !== 0x09) {
          lineHasContent = true;
        }
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (lineHasContent) nonBlankLines++;
  return { sha256: hash.digest('hex'), bytes, nonBlankLines };
}

function assertMatches(spec: DatasetSpec, file: DatasetFile, path: string, actual: string): void {
  if (actual === file.sha256.toLowerCase()) return;
  throw new GateError(
    'DATASET_CHECKSUM_MISMATCH',
    `${path} does not match its SHA-256: expected ${file.sha256}, got ${actual}`,
    { hint: `the file was changed or corrupted; run \`mlctl data pull ${spec.name} --force\` to fetch a verified copy` },
  );
}

/** Opens the mirror's copy when there is one, else the canonical URL. */
async function openFileSource(spec: DatasetSpec, file: DatasetFile, options: DatasetStoreOptions): Promise<OpenedSource> {
  const sourceOptions = { signal: options.signal, fetch: options.fetch, openRemote: options.openRemote };
  if (options.mirror !== undefined) {
    const mirrored = await openSource(mirrorLocation(options.mirror, spec.name, file.name), sourceOptions);
    if (mirrored !== null) return mirrored;
  }
  let canonical: OpenedSource | null;
  try {
    canonical = await openSource(file.url, sourceOptions);
  } catch (error) {
    if (options.mirror === undefined || !(error instanceof ExternalError)) throw error;
    // Say why the network was tried at all: the mirror lacked the file.
    throw new ExternalError(error.code, `${error.message} (the mirror ${options.mirror} has no ${spec.name}/${file.name})`, {
      hint: `put ${file.name} under ${mirrorLocation(options.mirror, spec.name, file.name)}, or check the network`,
      cause: error,
    });
  }
  if (canonical === null) {
    throw new NotFoundError('DATASET_FILE_NOT_FOUND', `${file.name} of dataset ${spec.name} was not found at ${file.url}`, {
      hint: options.mirror === undefined ? 'copy it from a local mirror with --from <dir>' : `the mirror ${options.mirror} has no ${spec.name}/${file.name} either`,
    });
  }
  return canonical;
}

/**
 * Streams a source into a temporary sibling of `path`, hashing as it goes; fsyncs, checks the
 * SHA-256, then renames into place. On a mismatch, an error or an abort the temporary file is
 * removed, so nothing partial is ever left under data/raw.
 */
async function fetchFile(spec: DatasetSpec, file: DatasetFile, path: string, options: DatasetStoreOptions): Promise<PulledFile> {
  const source = await openFileSource(spec, file, options);
  const dir = datasetDirectory(options.dataDir, spec.name);
  await mkdir(dir, { recursive: true });
  const tmp = temporaryPathFor(path);
  const hash = createHash('sha256');
  let bytes = 0;
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmp, 'wx');
    options.onProgress?.({ file: file.name, bytes: 0, totalBytes: source.totalBytes, done: false });
    for await (const chunk of source.chunks) {
      options.signal?.throwIfAborted();
      hash.update(chunk);
      await handle.write(chunk);
      bytes += chunk.byteLength;
      options.onProgress?.({ file: file.name, bytes, totalBytes: source.totalBytes, done: false });
    }
    options.signal?.throwIfAborted();
    await handle.sync();
    await handle.close();
    handle = undefined;
    const actual = hash.digest('hex');
    if (actual !== file.sha256.toLowerCase()) {
      throw new GateError(
        'DATASET_CHECKSUM_MISMATCH',
        `${file.name} from ${source.location} does not match its SHA-256: expected ${file.sha256}, got ${actual} (${bytes} bytes)`,
        { hint: 'the source is corrupt or has changed; nothing was written. Try again, or use another source with --from <dir>' },
      );
    }
    await rename(tmp, path);
    await syncDirectory(dir);
    options.onProgress?.({ file: file.name, bytes, totalBytes: source.totalBytes ?? bytes, done: true });
    return { name: file.name, source: source.location, action: source.action, bytes, sha256: actual };
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(tmp, { force: true });
    throw error;
  }
}
