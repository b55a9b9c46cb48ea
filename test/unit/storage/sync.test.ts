import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlctlError } from '../../../src/core/errors.js';
import { S3ArtifactStore } from '../../../src/core/storage/s3-artifact-store.js';
import { createS3Client, openS3Object } from '../../../src/core/storage/s3-client.js';
import type { ArtifactStore } from '../../../src/core/storage/artifact-store.js';
import { HashCache } from '../../../src/core/storage/hash-cache.js';
import { parseS3Uri } from '../../../src/core/storage/s3-uri.js';
import { downloadDirectory, downloadFolder, uploadDirectory, type TransferOptions } from '../../../src/core/storage/sync.js';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.js';

const BUCKET = 'sync-tests';
let server: TestS3Server;
let client: S3Client;
let work: string;

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  client = createS3Client(server.aws);
  work = await mkdtemp(join(tmpdir(), 'mlctl-sync-'));
});
afterAll(async () => {
  client?.destroy();
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

/** The store at an s3:// URI through `client`, with its hash cache under `cacheDir` when given (as openArtifactStore keeps it). */
async function remoteAt(c: S3Client, uri: string, cacheDir?: string): Promise<ArtifactStore> {
  const { bucket, key } = parseS3Uri(uri);
  const hashCache = await HashCache.load(cacheDir === undefined ? undefined : join(cacheDir, `s3-${sha(uri).slice(0, 16)}.json`));
  return new S3ArtifactStore({ client: c, bucket, prefix: key, hashCache });
}
const upload = async (c: S3Client, local: string, uri: string, options: TransferOptions = {}) => uploadDirectory(local, await remoteAt(c, uri, options.cacheDir), options);
const download = async (c: S3Client, uri: string, local: string, options: TransferOptions = {}) => downloadDirectory(await remoteAt(c, uri, options.cacheDir), local, options);

async function writeTree(root: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [key, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, key)), { recursive: true });
    await writeFile(join(root, key), content);
  }
}

async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1))
    .sort();
}

const sha = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

async function caught(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MlctlError);
    return error as MlctlError;
  }
  throw new Error('expected a failure');
}

describe('uploadDirectory / downloadDirectory', () => {
  it('pushes a tree with sha256 metadata, skips it unchanged, re-sends only what changed', async () => {
    const local = join(work, 'push');
    const cacheDir = join(work, 'push-cache');
    await writeTree(local, { 'exp/run1/run.json': '{"id":1}', 'exp/run1/metrics/loss.jsonl': '1\n2\n', 'exp/run2/run.json': '{"id":2}' });
    const uri = `s3://${BUCKET}/push`;

    const first = await upload(client, local, uri, { cacheDir });
    expect([first.transferred, first.skipped, first.deleted]).toEqual([3, 0, 0]);
    expect(first.bytes).toBe(8 + 4 + 8);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'push/exp/run1/run.json' }));
    expect(head.Metadata?.sha256).toBe(sha('{"id":1}'));

    const second = await upload(client, local, uri, { cacheDir });
    expect([second.transferred, second.skipped, second.bytes]).toEqual([0, 3, 0]);

    // Same size, new content and mtime: only the hash tells them apart.
    await writeFile(join(local, 'exp/run2/run.json'), '{"id":3}');
    await utimes(join(local, 'exp/run2/run.json'), new Date(), new Date(Date.now() + 5000));
    const third = await upload(client, local, uri, { cacheDir });
    expect(third.changes).toEqual([{ action: 'transfer', key: 'exp/run2/run.json', bytes: 8 }]);
    expect(third.skipped).toBe(2);

    // Without caches, hashes come from the files and from x-amz-meta-sha256: still skipped.
    const uncached = await upload(client, local, uri);
    expect([uncached.transferred, uncached.skipped]).toEqual([0, 3]);
  });

  it('leaves a file rewritten during the push for the next push instead of failing', async () => {
    const local = join(work, 'live');
    const cacheDir = join(work, 'live-cache');
    await writeTree(local, { 'run/metrics/loss.jsonl': '1\n', 'run/run.json': '{}' });
    const uri = `s3://${BUCKET}/live`;
    await upload(client, local, uri, { cacheDir });
    await writeFile(join(local, 'run/metrics/loss.jsonl'), '2\n');
    let rewritten = false;
    const result = await upload(client, local, uri, {
      cacheDir,
      onProgress: (event) => {
        // Planned with the hash of "2\n"; the training process appends before it is read.
        if (event.phase === 'transferring' && !rewritten) {
          rewritten = true;
          writeFileSync(join(local, 'run/metrics/loss.jsonl'), '2\n3\n');
        }
      },
    });
    expect(rewritten).toBe(true);
    expect(result.changedDuringSync).toEqual(['run/metrics/loss.jsonl']);
    expect(result.transferred).toBe(0);
    const next = await upload(client, local, uri, { cacheDir });
    expect(next.changes.map((c) => c.key)).toEqual(['run/metrics/loss.jsonl']);
    expect(next.changedDuringSync).toEqual([]);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'live/run/metrics/loss.jsonl' }));
    expect(head.Metadata?.sha256).toBe(sha('2\n3\n'));
  });

  it('plans without changing anything in a dry run, and deletes only with deleteExtraneous', async () => {
    const local = join(work, 'dry');
    await writeTree(local, { 'a.txt': 'a', 'b/c.txt': 'cc' });
    const uri = `s3://${BUCKET}/dry`;
    const dry = await upload(client, local, uri, { dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.changes.map((c) => c.key)).toEqual(['a.txt', 'b/c.txt']);
    const afterDry = await upload(client, local, uri, { dryRun: true });
    expect(afterDry.transferred).toBe(2);

    await upload(client, local, uri);
    await rm(join(local, 'a.txt'));
    const kept = await upload(client, local, uri);
    expect(kept.deleted).toBe(0);
    const dryDelete = await upload(client, local, uri, { deleteExtraneous: true, dryRun: true });
    expect(dryDelete.changes).toEqual([{ action: 'delete', key: 'a.txt', bytes: 1 }]);
    const deleted = await upload(client, local, uri, { deleteExtraneous: true });
    expect(deleted.deleted).toBe(1);

    const pulled = join(work, 'dry-pulled');
    await writeTree(pulled, { 'stale.txt': 'old', '.index/keep': 'x' });
    const pull = await download(client, uri, pulled, { exclude: (key) => key.startsWith('.') });
    expect(pull.deleted).toBe(0);
    expect(await listTree(pulled)).toEqual(['.index/keep', 'b/c.txt', 'stale.txt']);
    const pullDelete = await download(client, uri, pulled, { deleteExtraneous: true, exclude: (key) => key.startsWith('.') });
    expect(pullDelete.deleted).toBe(1);
    expect(await listTree(pulled)).toEqual(['.index/keep', 'b/c.txt']);

    const wiped = await caught(download(client, `s3://${BUCKET}/dry-typo`, pulled, { deleteExtraneous: true }));
    expect(wiped.code).toBe('SYNC_SOURCE_EMPTY');
    expect(await listTree(pulled)).toEqual(['.index/keep', 'b/c.txt']);
  });

  it('uploads a 12 MiB file in parts and streams it back in chunks', async () => {
    const local = join(work, 'big');
    const data = randomBytes(12 * 1024 * 1024);
    await writeTree(local, { 'model/weights.bin': data });
    const result = await upload(client, local, `s3://${BUCKET}/big`);
    expect(result.bytes).toBe(data.length);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'big/model/weights.bin' }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.Metadata?.sha256).toBe(sha(data));

    const hash = createHash('sha256');
    let chunks = 0;
    for await (const chunk of await openS3Object(client, `s3://${BUCKET}/big/model/weights.bin`)) {
      hash.update(chunk);
      chunks += 1;
    }
    expect(chunks).toBeGreaterThan(1);
    expect(hash.digest('hex')).toBe(sha(data));

    const pulled = join(work, 'big-pulled');
    const pull = await download(client, `s3://${BUCKET}/big`, pulled);
    expect(pull.transferred).toBe(1);
    expect(sha(await readFile(join(pulled, 'model/weights.bin')))).toBe(sha(data));
  });

  it('refuses an object whose content does not match its sha256 and leaves no partial file', async () => {
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tampered/run.json', Body: 'tampered', Metadata: { sha256: sha('original') } }));
    const local = join(work, 'tampered');
    const error = await caught(download(client, `s3://${BUCKET}/tampered`, local));
    expect(error.code).toBe('ARTIFACT_CHECKSUM_MISMATCH');
    expect(await listTree(local).catch(() => [])).toEqual([]);
  });
});

describe('S3ArtifactStore.put', () => {
  it('sends more than 8 MiB in 8 MiB parts', async () => {
    const store = new S3ArtifactStore({ client, bucket: BUCKET, prefix: 'parts' });
    const data = randomBytes(12 * 1024 * 1024);
    async function* body(): AsyncIterable<Uint8Array> {
      for (let offset = 0; offset < data.length; offset += 1 << 20) yield data.subarray(offset, offset + (1 << 20));
    }
    const reported: number[] = [];
    await store.put('w.bin', body(), { size: data.length, sha256: sha(data), onBytes: (bytes) => reported.push(bytes) });
    expect(reported).toEqual([8 * 1024 * 1024, 12 * 1024 * 1024]);
    expect(await store.head('w.bin')).toMatchObject({ size: data.length, sha256: sha(data) });
  });

  it('aborts a multipart upload whose bytes do not match, storing nothing', async () => {
    const store = new S3ArtifactStore({ client, bucket: BUCKET, prefix: 'aborted' });
    const data = randomBytes(9 * 1024 * 1024);
    async function* body(): AsyncIterable<Uint8Array> {
      yield data;
    }
    const error = await caught(store.put('w.bin', body(), { size: data.length, sha256: sha('something else') }));
    expect(error.code).toBe('ARTIFACT_CHECKSUM_MISMATCH');
    expect(await store.head('w.bin')).toBeNull();
    expect(await store.list()).toEqual([]);
  });
});

describe('downloadFolder', () => {
  it('downloads a bundle atomically, reuses a matching folder, replaces a stale one', async () => {
    const bundle = join(work, 'bundle-src');
    await writeTree(bundle, { 'manifest.json': '{"v":1}', 'weights.bin': randomBytes(1000) });
    await upload(client, bundle, `s3://${BUCKET}/models/housing/run-1`);
    const cache = join(work, 'cache', 'run-1');

    const first = await downloadFolder(await remoteAt(client, `s3://${BUCKET}/models/housing/run-1`), cache);
    expect(first).toMatchObject({ dir: cache, files: 2, cached: false });
    expect(await listTree(cache)).toEqual(['manifest.json', 'weights.bin']);
    expect(await readdir(join(work, 'cache'))).toEqual(['run-1']);

    const again = await downloadFolder(await remoteAt(client, `s3://${BUCKET}/models/housing/run-1`), cache);
    expect(again.cached).toBe(true);

    await writeFile(join(cache, 'manifest.json'), '{"v":2}');
    const repaired = await downloadFolder(await remoteAt(client, `s3://${BUCKET}/models/housing/run-1`), cache);
    expect(repaired.cached).toBe(false);
    expect(await readFile(join(cache, 'manifest.json'), 'utf8')).toBe('{"v":1}');
    expect(await readdir(join(work, 'cache'))).toEqual(['run-1']);
  });

  it('is not found (exit 3) for an empty prefix', async () => {
    const error = await caught(downloadFolder(await remoteAt(client, `s3://${BUCKET}/models/none`), join(work, 'none')));
    expect(error.code).toBe('S3_PREFIX_EMPTY');
    expect(error.category).toBe('not-found');
  });
});

describe('S3 failures', () => {
  it('names a missing bucket with the command that creates it', async () => {
    const error = await caught(upload(client, work, 's3://no-such-bucket/x'));
    expect(error.code).toBe('S3_BUCKET_NOT_FOUND');
    expect(error.category).toBe('external');
    expect(error.hint).toBe('create it with: mlctl storage mb no-such-bucket');
  });

  it('reports refused credentials', async () => {
    const wrong = createS3Client({ ...server.aws, accessKeyId: 'WRONG', secretAccessKey: 'WRONG' });
    try {
      const error = await caught(openS3Object(wrong, `s3://${BUCKET}/push/exp/run1/run.json`));
      expect(error.code).toBe('S3_CREDENTIALS_REFUSED');
      expect(error.category).toBe('external');
    } finally {
      wrong.destroy();
    }
  });

  it('fails fast on an endpoint that is down, leaving no local file', async () => {
    const down = createS3Client({ ...server.aws, endpointUrl: 'http://127.0.0.1:1' });
    const local = join(work, 'down');
    try {
      const error = await caught(download(down, `s3://${BUCKET}/push`, local));
      expect(error.code).toBe('S3_ENDPOINT_UNREACHABLE');
      expect(error.message).toContain('http://127.0.0.1:1');
      expect(await listTree(local).catch(() => [])).toEqual([]);
    } finally {
      down.destroy();
    }
  });

  it('maps a missing object to not found, and a prefix to a usage error', async () => {
    const error = await caught(openS3Object(client, `s3://${BUCKET}/nothing/here.csv`));
    expect(error.code).toBe('S3_OBJECT_NOT_FOUND');
    expect(error.category).toBe('not-found');
    expect((await caught(openS3Object(client, `s3://${BUCKET}/nothing/`))).code).toBe('S3_URI_NOT_OBJECT');
  });
});

describe('single objects', () => {
  it('puts and heads one object with its sha256', async () => {
    const store = new S3ArtifactStore({ client, bucket: BUCKET, prefix: 'single' });
    async function* body(text: string): AsyncIterable<Uint8Array> {
      yield Buffer.from(text);
    }
    const put = await store.put('score.json', body('{"r2":0.66}'), { size: 11, sha256: sha('{"r2":0.66}') });
    expect(put).toMatchObject({ key: 'score.json', size: 11, sha256: sha('{"r2":0.66}') });
    expect(await store.head('score.json')).toMatchObject({ size: 11, sha256: sha('{"r2":0.66}') });
    expect(await store.head('none.csv')).toBeNull();
  });
});
