import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExternalError, isMlctlError, UsageError } from '../errors.js';
import { fileChunks } from '../fs/file-chunks.js';

/** An opened source of a dataset file's bytes. */
export interface OpenedSource {
  /** Where the bytes come from, as shown to the user (a path or a URL). */
  readonly location: string;
  /** How the file arrives: 'copied' from a path, 'downloaded' from a URL. */
  readonly action: 'downloaded' | 'copied';
  /** Content length when known in advance. */
  readonly totalBytes: number | null;
  readonly chunks: AsyncIterable<Uint8Array>;
}

/** What opening a source may need from the caller. */
export interface SourceOpenOptions {
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /**
   * Opens a location in an artifact store (s3://bucket/key), supplied by the command through
   * the artifact-store seam; it refuses a scheme no store serves.
   */
  readonly openRemote?: (url: string, signal?: AbortSignal) => Promise<AsyncIterable<Uint8Array>>;
}

const REMOTE_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Joins a mirror root (a folder, an artifact store such as s3://, or an https:// prefix) with `<dataset>/<file>`. */
export function mirrorLocation(mirror: string, dataset: string, file: string): string {
  if (REMOTE_SCHEME.test(mirror) && !mirror.startsWith('file://')) {
    return `${mirror.replace(/\/+$/, '')}/${encodeURIComponent(dataset)}/${encodeURIComponent(file)}`;
  }
  const root = mirror.startsWith('file://') ? fileURLToPath(mirror) : mirror;
  return join(root, dataset, file);
}

/**
 * Opens a location for reading: a local path or file:// URL, an http(s):// URL (fetch), or
 * any other URL through `openRemote` (the artifact-store seam: s3://). Returns null when a
 * file, an HTTP resource or an object does not exist, so a caller can fall back to another source.
 */
export async function openSource(location: string, options: SourceOpenOptions): Promise<OpenedSource | null> {
  if (/^https?:\/\//i.test(location)) return openHttp(location, options);
  if (REMOTE_SCHEME.test(location) && !location.startsWith('file://')) return openStored(location, options);
  return openLocal(location.startsWith('file://') ? fileURLToPath(location) : location, options);
}

async function openLocal(path: string, options: SourceOpenOptions): Promise<OpenedSource | null> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError('DATASET_SOURCE_NOT_FILE', `${path} is not a file`);
    size = info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  return { location: path, action: 'copied', totalBytes: size, chunks: fileChunks(path, options.signal) };
}

async function openHttp(url: string, options: SourceOpenOptions): Promise<OpenedSource | null> {
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, { signal: options.signal, redirect: 'follow' });
  } catch (error) {
    if (options.signal?.aborted === true) throw options.signal.reason ?? error;
    throw new ExternalError('DATASET_DOWNLOAD_FAILED', `could not download ${url}: ${describeCause(error)}`, {
      hint: 'check the network, or copy from a local mirror with --from <dir> or MLCTL_DATA_MIRROR',
      cause: error,
    });
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new ExternalError('DATASET_DOWNLOAD_FAILED', `could not download ${url}: HTTP ${response.status} ${response.statusText}`, {
      hint: 'try again later, or copy from a local mirror with --from <dir> or MLCTL_DATA_MIRROR',
    });
  }
  const length = Number(response.headers.get('content-length'));
  return {
    location: url,
    action: 'downloaded',
    totalBytes: Number.isFinite(length) && length > 0 ? length : null,
    chunks: guardBody(response.body, url, options.signal),
  };
}

/** Turns a body stream failure (connection dropped mid-transfer) into an ExternalError. */
async function* guardBody(body: ReadableStream<Uint8Array>, url: string, signal: AbortSignal | undefined): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) yield chunk;
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason ?? error;
    throw new ExternalError('DATASET_DOWNLOAD_FAILED', `download of ${url} was interrupted: ${describeCause(error)}`, {
      hint: 'run the command again; nothing partial was kept',
      cause: error,
    });
  }
}

async function openStored(url: string, options: SourceOpenOptions): Promise<OpenedSource | null> {
  if (options.openRemote === undefined) {
    throw new UsageError('DATASET_SOURCE_UNSUPPORTED', `cannot read ${url}: only paths and https:// URLs can be read here`);
  }
  try {
    return { location: url, action: 'downloaded', totalBytes: null, chunks: await options.openRemote(url, options.signal) };
  } catch (error) {
    if (options.signal?.aborted === true) throw options.signal.reason ?? error;
    // A missing object lets the caller fall back to the canonical URL, as a missing mirror file does.
    if (isMlctlError(error) && error.category === 'not-found') return null;
    if (isMlctlError(error)) throw error;
    throw new ExternalError('DATASET_DOWNLOAD_FAILED', `could not read ${url}: ${describeCause(error)}`, { cause: error });
  }
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message !== '' && cause.message !== error.message) return `${error.message} (${cause.message})`;
  return error.message;
}
