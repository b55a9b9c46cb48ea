import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CliContext } from '../../ui/context.js';

/** Where a command's `--data` points, turned into what the core data loaders take. */
export interface DataLocation {
  /** A local CSV to read instead of the task's dataset. */
  readonly dataPath?: string;
  /** Opens s3:// sources for dataset pulls (a mirror or URL on S3). */
  readonly openRemote?: (url: string, signal?: AbortSignal) => Promise<AsyncIterable<Uint8Array>>;
}

/**
 * Resolves `--data`: a local path is used as is; an s3:// or https:// URL is downloaded
 * (verified, atomically) into <dataDir>/cache/ first, so the loaders only ever read local files.
 * The AWS SDK is imported only when an s3:// location is actually used.
 */
export async function resolveDataLocation(data: string | undefined, context: CliContext): Promise<DataLocation> {
  const usesS3 = data?.startsWith('s3://') === true || context.config.dataMirror?.startsWith('s3://') === true;
  const openRemote = usesS3 ? await s3Opener(context) : undefined;
  if (data === undefined) return openRemote === undefined ? {} : { openRemote };
  if (!data.startsWith('s3://') && !data.startsWith('https://') && !data.startsWith('http://')) return { dataPath: data, ...(openRemote === undefined ? {} : { openRemote }) };
  const dataPath = await downloadToCache(data, join(context.config.dataDir, 'cache'), context.signal, openRemote);
  return { dataPath, ...(openRemote === undefined ? {} : { openRemote }) };
}

async function s3Opener(context: CliContext): Promise<DataLocation['openRemote']> {
  const { createS3Client, openS3Object } = await import('../../core/storage/s3-client.js');
  const client = createS3Client(context.config.aws);
  return (url, signal) => openS3Object(client, url, signal);
}

/** Downloads a URL into the cache under a name derived from the URL, atomically. */
async function downloadToCache(
  url: string,
  cacheDir: string,
  signal: AbortSignal,
  openRemote: DataLocation['openRemote'],
): Promise<string> {
  const [{ openSource }, { NotFoundError }, { temporaryPathFor }] = await Promise.all([
    import('../../core/datasets/dataset-source.js'),
    import('../../core/errors.js'),
    import('../../core/fs/atomic.js'),
  ]);
  await mkdir(cacheDir, { recursive: true });
  const key = createHash('sha256').update(url).digest('hex').slice(0, 12);
  const target = join(cacheDir, `${key}-${basename(new URL(url).pathname) || 'data.csv'}`);
  const source = await openSource(url, { signal, ...(openRemote === undefined ? {} : { openRemote }) });
  if (source === null) throw new NotFoundError('DATA_NOT_FOUND', `${url} does not exist`);
  const tmp = temporaryPathFor(target);
  try {
    const handle = await open(tmp, 'w');
    try {
      for await (const chunk of source.chunks) await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  return target;
}
