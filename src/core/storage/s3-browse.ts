import type { BucketLocationConstraint, S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './s3-sdk.js';
import { ExternalError, UsageError } from '../errors.js';
import { forEachBounded } from './bounded.js';
import { DEFAULT_REGION, errorContextOf } from './s3-client.js';
import { toS3Error, withS3Errors, type S3ErrorContext } from './s3-errors.js';
import { SHA256_METADATA_KEY } from './s3-artifact-store.js';
import { isValidBucketName, parseS3Uri } from './s3-uri.js';

const { CreateBucketCommand, HeadBucketCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command } = s3Sdk;

/** What `mlctl storage` shows: buckets, objects under a prefix, bucket creation. */
export interface BucketSummary {
  readonly name: string;
  /** ISO-8601, when the store reports it. */
  readonly created: string | null;
}

export interface ObjectSummary {
  /** The full key within the bucket. */
  readonly key: string;
  readonly size: number;
  readonly modified: string;
  /** From `x-amz-meta-sha256`; null when absent or not looked up. */
  readonly sha256: string | null;
}

export interface ObjectListing {
  readonly bucket: string;
  readonly prefix: string;
  readonly objects: readonly ObjectSummary[];
  /** "Folders" one level down (keys up to the next '/'), when not recursive. */
  readonly prefixes: readonly string[];
}

export interface ListObjectsOptions {
  /** Every key under the prefix, not just one level. */
  readonly recursive?: boolean;
  /** Read each object's SHA-256 metadata (one HEAD per object). Default true. */
  readonly sha256?: boolean;
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
}

function context(client: S3Client, operation: string, bucket?: string, key?: string): S3ErrorContext {
  return {
    operation,
    ...(bucket === undefined ? {} : { bucket }),
    ...(key === undefined || key === '' ? {} : { key }),
    ...errorContextOf(client),
  };
}

export async function listBuckets(client: S3Client, signal?: AbortSignal): Promise<BucketSummary[]> {
  const response = await withS3Errors(context(client, 'list buckets'), () => client.send(new ListBucketsCommand({}), { abortSignal: signal }));
  return (response.Buckets ?? [])
    .filter((bucket) => bucket.Name !== undefined)
    .map((bucket) => ({ name: bucket.Name as string, created: bucket.CreationDate?.toISOString() ?? null }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Lists `s3://bucket/prefix` like `aws s3 ls`: objects and, unless recursive, sub-prefixes. */
export async function listObjects(client: S3Client, uri: string, options: ListObjectsOptions = {}): Promise<ObjectListing> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  const objects: ObjectSummary[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const page = await withS3Errors(context(client, 'list', bucket, prefix), () =>
      client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(options.recursive === true ? {} : { Delimiter: '/' }),
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
        { abortSignal: options.signal },
      ),
    );
    for (const object of page.Contents ?? []) {
      if (object.Key === undefined) continue;
      objects.push({ key: object.Key, size: object.Size ?? 0, modified: (object.LastModified ?? new Date(0)).toISOString(), sha256: null });
    }
    for (const common of page.CommonPrefixes ?? []) if (common.Prefix !== undefined) prefixes.push(common.Prefix);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  if (options.sha256 !== false) {
    await forEachBounded(
      objects.map((object, index) => ({ object, index })),
      options.concurrency ?? 16,
      async ({ object, index }, signal) => {
        try {
          const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: object.key }), { abortSignal: signal });
          const value = head.Metadata?.[SHA256_METADATA_KEY];
          objects[index] = { ...object, sha256: value !== undefined && /^[0-9a-f]{64}$/.test(value) ? value : null };
        } catch (error) {
          const mapped = toS3Error(error, context(client, 'read', bucket, object.key));
          // Deleted between the listing and the HEAD: show it without a hash.
          if ((mapped as { category?: string }).category !== 'not-found') throw mapped;
        }
      },
      options.signal,
    );
  }
  return { bucket, prefix, objects, prefixes };
}

export interface CreateBucketResult {
  readonly bucket: string;
  /** False when the bucket already existed and is yours. */
  readonly created: boolean;
  readonly region: string;
}

/**
 * Creates a bucket (in `region`; outside us-east-1 S3 wants it said twice). A bucket that
 * already exists and is yours is not an error.
 */
export async function createBucket(client: S3Client, bucket: string, region: string = DEFAULT_REGION): Promise<CreateBucketResult> {
  if (!isValidBucketName(bucket)) {
    throw new UsageError('S3_BUCKET_NAME_INVALID', `"${bucket}" is not a valid bucket name`, {
      hint: 'use 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
    });
  }
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(region === DEFAULT_REGION ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
      }),
    );
    return { bucket, created: true, region };
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (name === 'BucketAlreadyOwnedByYou') return { bucket, created: false, region };
    // s3rver and some stores say BucketAlreadyExists for your own bucket: ask whether we can use it.
    if (name === 'BucketAlreadyExists' && (await canAccessBucket(client, bucket))) return { bucket, created: false, region };
    if (name === 'BucketAlreadyExists') {
      throw new ExternalError('S3_BUCKET_TAKEN', `bucket "${bucket}" already exists and belongs to someone else`, {
        hint: 'bucket names are global on AWS: pick another name',
        cause: error,
      });
    }
    throw toS3Error(error, context(client, 'create bucket', bucket));
  }
}

async function canAccessBucket(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch {
    return false;
  }
}
