import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { DatasetStoreOptions } from '../../core/datasets/dataset-store.js';
import type { ArtifactStore } from '../../core/storage/artifact-store.js';
import type { CliContext } from '../../ui/context.js';

type RemoteOpener = NonNullable<DatasetStoreOptions['openRemote']>;

/**
 * Opens remote sources (s3://bucket/key) for the dataset loaders through the artifact-store
 * seam. The store (and the AWS SDK) is opened on the first remote read only, once per folder:
 * commands that never read one never load it.
 */
export function lazyRemoteOpener(context: CliContext): RemoteOpener {
  const stores = new Map<string, Promise<ArtifactStore>>();
  return async (url, signal) => {
    const { openArtifactStore, artifactParentOf } = await import('../../core/storage/open-artifact-store.js');
    const { parent, key } = artifactParentOf(url);
    let store = stores.get(parent);
    if (store === undefined) stores.set(parent, (store = openArtifactStore(parent, { cwd: context.config.cwd, aws: context.config.aws })));
    return (await (await store).get(key, signal)).chunks;
  };
}

/** Where datasets live and come from, as every data-reading command passes it to core. */
export function datasetStoreOptions(context: CliContext, mirror: string | undefined = context.config.dataMirror): DatasetStoreOptions {
  return {
    dataDir: context.config.dataDir,
    ...(mirror === undefined ? {} : { mirror }),
    signal: context.signal,
    openRemote: lazyRemoteOpener(context),
  };
}

/** A command's `--data`: a local CSV to read instead of the task's dataset. */
export interface DataLocation {
  readonly dataPath?: string;
}

/**
 * Resolves `--data`: a local path is used as is; an s3:// or https:// URL is downloaded
 * into <dataDir>/cache/ first (atomically), so the loaders only ever read local files.
 */
export async function resolveDataLocation(data: string | undefined, context: CliContext): Promise<DataLocation> {
  if (data === undefined) return {};
  if (!/^(s3|https?):\/\//i.test(data)) return { dataPath: data };
  return { dataPath: await downloadToCache(data, join(context.config.dataDir, 'cache'), context) };
}

/** Downloads a URL into the cache under a name derived from the URL, atomically. */
async function downloadToCache(url: string, cacheDir: string, context: CliContext): Promise<string> {
  const [{ openSource }, { NotFoundError }, { temporaryPathFor }] = await Promise.all([
    import('../../core/datasets/dataset-source.js'),
    import('../../core/errors.js'),
    import('../../core/fs/atomic.js'),
  ]);
  await mkdir(cacheDir, { recursive: true });
  const key = createHash('sha256').update(url).digest('hex').slice(0, 12);
  const target = join(cacheDir, `${key}-${basename(new URL(url).pathname) || 'data.csv'}`);
  const source = await openSource(url, { signal: context.signal, openRemote: lazyRemoteOpener(context) });
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
