import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { sha256, sha256File } from '../fs/hash.js';
import type { ArtifactEntry } from './artifact-store.js';
import { S3ArtifactStore } from './s3-artifact-store.js';
import { parseS3Uri } from './s3-uri.js';

/** A single-object view of the S3 store, for commands that write one object at a time. */
function storeFor(client: S3Client, uri: string): { store: S3ArtifactStore; key: string } {
  const { bucket, key } = parseS3Uri(uri);
  return { store: new S3ArtifactStore({ client, bucket, prefix: '' }), key };
}

/**
 * Writes `data` to `s3://bucket/key` with its SHA-256 as `x-amz-meta-sha256`, in one PUT:
 * the object appears complete or not at all (a score, a manifest).
 */
export async function putS3Object(client: S3Client, uri: string, data: string | Uint8Array, signal?: AbortSignal): Promise<ArtifactEntry> {
  const { store, key } = storeFor(client, uri);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  async function* body(): AsyncIterable<Uint8Array> {
    yield bytes;
  }
  return store.put(key, body(), { size: bytes.byteLength, sha256: sha256(bytes), ...(signal === undefined ? {} : { signal }) });
}

/** Uploads one local file to `s3://bucket/key` (multipart above 8 MiB), verified and atomic. */
export async function uploadFile(client: S3Client, path: string, uri: string, signal?: AbortSignal): Promise<ArtifactEntry> {
  const { store, key } = storeFor(client, uri);
  const [info, hash] = await Promise.all([stat(path), sha256File(path)]);
  const stream = createReadStream(path, { highWaterMark: 1 << 20, ...(signal === undefined ? {} : { signal }) });
  return store.put(key, stream as AsyncIterable<Uint8Array>, { size: info.size, sha256: hash, ...(signal === undefined ? {} : { signal }) });
}

/** Size and recorded SHA-256 of `s3://bucket/key`, or null when there is no such object. */
export async function headS3Object(client: S3Client, uri: string, signal?: AbortSignal): Promise<ArtifactEntry | null> {
  const { store, key } = storeFor(client, uri);
  return store.head(key, signal);
}
