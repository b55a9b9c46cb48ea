import { createHash } from 'node:crypto';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './s3-sdk.js';
import { ExternalError, GateError, NotFoundError, UsageError } from '../errors.js';
import type { ArtifactBody, ArtifactEntry, ArtifactStore, PutArtifactOptions } from './artifact-store.js';
import { forEachBounded } from './bounded.js';
import type { HashCache } from './hash-cache.js';
import { endpointOf, errorContextOf, requestTimeoutFor, streamWithS3Errors } from './s3-client.js';
import { toS3Error, withS3Errors, type S3ErrorContext } from './s3-errors.js';
import { asKeyPrefix, formatS3Uri } from './s3-uri.js';

const {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} = s3Sdk;

/** Objects larger than this are uploaded in parts (S3 needs parts of at least 5 MiB). */
export const MULTIPART_THRESHOLD = 8 * 1024 * 1024;
/** S3 allows at most 10,000 parts per upload. */
const MAX_PARTS = 10_000;
/** The metadata key (`x-amz-meta-sha256`) holding each object's SHA-256. */
export const SHA256_METADATA_KEY = 'sha256';

export interface S3ArtifactStoreOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix the artifact keys are relative to ('' for the whole bucket). */
  readonly prefix: string;
  /** Remembers SHA-256 by size and ETag, so a listing needs no HEAD per object. */
  readonly hashCache?: HashCache;
  /** The custom endpoint, named in error messages (default: the one `createS3Client` was given). */
  readonly endpoint?: string;
  /** Objects above this size go multipart. Default 8 MiB. */
  readonly multipartThreshold?: number;
  /** Deletes in flight at once. Default 8. */
  readonly concurrency?: number;
}

/**
 * Artifacts as S3 objects under `s3://bucket/prefix/`, each carrying its SHA-256 as
 * `x-amz-meta-sha256`. Puts are atomic as S3 makes them: a single PUT, or a multipart
 * upload that is completed only once every byte was checked and is aborted on any failure.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly location: string;
  /** The custom endpoint, or "aws". */
  readonly endpoint: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly hashCache: HashCache | undefined;
  private readonly customEndpoint: string | undefined;
  private readonly multipartThreshold: number;
  private readonly concurrency: number;

  constructor(options: S3ArtifactStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = asKeyPrefix(options.prefix);
    this.location = formatS3Uri({ bucket: this.bucket, key: this.prefix });
    this.hashCache = options.hashCache;
    this.customEndpoint = options.endpoint ?? endpointOf(options.client);
    this.endpoint = this.customEndpoint ?? 'aws';
    this.multipartThreshold = options.multipartThreshold ?? MULTIPART_THRESHOLD;
    this.concurrency = options.concurrency ?? 8;
  }

  within(prefix: string): S3ArtifactStore {
    const trimmed = prefix.replace(/^\/+|\/+$/g, '');
    if (trimmed === '') return this;
    return new S3ArtifactStore({
      client: this.client,
      bucket: this.bucket,
      prefix: `${this.prefix}${trimmed}/`,
      ...(this.customEndpoint === undefined ? {} : { endpoint: this.customEndpoint }),
      multipartThreshold: this.multipartThreshold,
      concurrency: this.concurrency,
    });
  }

  async list(signal?: AbortSignal): Promise<ArtifactEntry[]> {
    const entries: ArtifactEntry[] = [];
    let token: string | undefined;
    do {
      const page = await withS3Errors(this.context('list', this.prefix === '' ? undefined : this.prefix), () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }),
          { abortSignal: signal },
        ),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || object.Key.endsWith('/')) continue;
        const key = object.Key.slice(this.prefix.length);
        const size = object.Size ?? 0;
        const sha256 = object.ETag === undefined ? null : (this.hashCache?.lookup(key, fingerprint(size, object.ETag)) ?? null);
        entries.push({ key, size, sha256, modified: (object.LastModified ?? new Date(0)).toISOString() });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.hashCache?.retainOnly(new Set(entries.map((entry) => entry.key)));
    return entries;
  }

  async head(key: string, signal?: AbortSignal): Promise<ArtifactEntry | null> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), { abortSignal: signal });
      const size = response.ContentLength ?? 0;
      const sha256 = readSha256(response.Metadata);
      if (sha256 !== null && response.ETag !== undefined) this.hashCache?.record(key, fingerprint(size, response.ETag), sha256);
      return { key, size, sha256, modified: (response.LastModified ?? new Date(0)).toISOString() };
    } catch (error) {
      const mapped = toS3Error(error, this.context('read', this.prefix + key));
      if (mapped instanceof NotFoundError) return null;
      throw mapped;
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<ArtifactBody> {
    const context = this.context('download', this.prefix + key);
    const response = await withS3Errors(context, () =>
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), { abortSignal: signal }),
    );
    if (response.Body === undefined) throw new ExternalError('S3_REQUEST_FAILED', `S3 returned no body for ${formatS3Uri({ bucket: this.bucket, key: this.prefix + key })}`);
    return {
      size: response.ContentLength ?? 0,
      sha256: readSha256(response.Metadata),
      chunks: streamWithS3Errors(response.Body as AsyncIterable<Uint8Array>, context, signal),
    };
  }

  async put(key: string, body: AsyncIterable<Uint8Array>, options: PutArtifactOptions): Promise<ArtifactEntry> {
    const objectKey = this.prefix + key;
    if (options.sha256 === null && options.size > this.multipartThreshold) {
      // Multipart metadata is fixed before the first byte: the hash must be known up front.
      throw new UsageError('ARTIFACT_HASH_REQUIRED', `${key}: uploading ${options.size} bytes in parts needs its SHA-256 in advance`);
    }
    const etag = options.size > this.multipartThreshold ? await this.putMultipart(objectKey, key, body, { ...options, sha256: options.sha256 as string }) : await this.putSingle(objectKey, key, body, options);
    if (etag.etag !== undefined) this.hashCache?.record(key, fingerprint(options.size, etag.etag), etag.sha256);
    return { key, size: options.size, sha256: etag.sha256, modified: new Date().toISOString() };
  }

  private async putSingle(objectKey: string, key: string, body: AsyncIterable<Uint8Array>, options: PutArtifactOptions): Promise<Stored> {
    const chunks: Uint8Array[] = [];
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of body) {
      hash.update(chunk);
      chunks.push(chunk);
      size += chunk.byteLength;
    }
    const sha256 = hash.digest('hex');
    verify(key, size, sha256, options);
    const data = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
    const response = await withS3Errors(this.context('upload', objectKey), () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: data,
          ContentLength: size,
          Metadata: { [SHA256_METADATA_KEY]: sha256 },
        }),
        this.sendOptions(options.signal, size),
      ),
    );
    options.onBytes?.(size);
    return { etag: response.ETag, sha256 };
  }

  private async putMultipart(objectKey: string, key: string, body: AsyncIterable<Uint8Array>, options: PutArtifactOptions & { sha256: string }): Promise<Stored> {
    const context = this.context('upload', objectKey);
    const partSize = Math.max(this.multipartThreshold, Math.ceil(options.size / MAX_PARTS));
    const created = await withS3Errors(context, () =>
      this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, Metadata: { [SHA256_METADATA_KEY]: options.sha256 } }),
        { abortSignal: options.signal },
      ),
    );
    const uploadId = created.UploadId;
    if (uploadId === undefined) throw new ExternalError('S3_REQUEST_FAILED', `S3 returned no upload id for ${formatS3Uri({ bucket: this.bucket, key: objectKey })}`);
    try {
      const parts: CompletedPart[] = [];
      const hash = createHash('sha256');
      let size = 0;
      const sendPart = async (data: Buffer): Promise<void> => {
        const partNumber = parts.length + 1;
        const response = await withS3Errors(context, () =>
          this.client.send(
            new UploadPartCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId, PartNumber: partNumber, Body: data, ContentLength: data.byteLength }),
            this.sendOptions(options.signal, data.byteLength),
          ),
        );
        parts.push({ PartNumber: partNumber, ETag: response.ETag });
        options.onBytes?.(size);
      };
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      for await (const chunk of body) {
        hash.update(chunk);
        size += chunk.byteLength;
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        while (pendingBytes >= partSize) {
          const joined = Buffer.concat(pending, pendingBytes);
          await sendPart(joined.subarray(0, partSize));
          pending = pendingBytes > partSize ? [joined.subarray(partSize)] : [];
          pendingBytes -= partSize;
        }
      }
      if (pendingBytes > 0 || parts.length === 0) await sendPart(Buffer.concat(pending, pendingBytes));
      verify(key, size, hash.digest('hex'), options);
      const completed = await withS3Errors(context, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          { abortSignal: options.signal },
        ),
      );
      return { etag: completed.ETag, sha256: options.sha256 };
    } catch (error) {
      // Without this the parts stay billed and invisible; failures of the abort itself are moot.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
  }

  async delete(keys: readonly string[], signal?: AbortSignal): Promise<void> {
    // One DeleteObject per key: DeleteObjects needs Content-MD5 on older MinIO and other
    // S3-compatible stores, which the SDK no longer sends by default.
    await forEachBounded(
      keys,
      this.concurrency,
      async (key, taskSignal) => {
        await withS3Errors(this.context('delete', this.prefix + key), () =>
          this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), { abortSignal: taskSignal }),
        );
        this.hashCache?.forget(key);
      },
      signal,
    );
  }

  async flush(): Promise<void> {
    await this.hashCache?.save();
  }

  /** Options for a call that uploads `bytes`: more time than the client's timeout to send them. */
  private sendOptions(signal: AbortSignal | undefined, bytes: number): { abortSignal?: AbortSignal; requestTimeout?: number } {
    const requestTimeout = requestTimeoutFor(this.client, bytes);
    return { ...(signal === undefined ? {} : { abortSignal: signal }), ...(requestTimeout === undefined ? {} : { requestTimeout }) };
  }

  private context(operation: string, key: string | undefined): S3ErrorContext {
    return {
      operation,
      bucket: this.bucket,
      ...(key === undefined ? {} : { key }),
      ...errorContextOf(this.client),
      ...(this.customEndpoint === undefined ? {} : { endpoint: this.customEndpoint }),
    };
  }
}

interface Stored {
  readonly etag: string | undefined;
  readonly sha256: string;
}

function fingerprint(size: number, etag: string): string {
  return `${size}:${etag}`;
}

function readSha256(metadata: Record<string, string> | undefined): string | null {
  const value = metadata?.[SHA256_METADATA_KEY];
  return value !== undefined && /^[0-9a-f]{64}$/.test(value) ? value : null;
}

function verify(key: string, size: number, sha256: string, options: PutArtifactOptions): void {
  if (size === options.size && (options.sha256 === null || sha256 === options.sha256)) return;
  throw new GateError(
    'ARTIFACT_CHECKSUM_MISMATCH',
    `${key} changed while it was uploaded: read ${size} bytes with SHA-256 ${sha256.slice(0, 12)}…, expected ${options.size} bytes with ${options.sha256?.slice(0, 12) ?? 'any hash'}…`,
    { hint: 'nothing was stored; run the command again' },
  );
}
