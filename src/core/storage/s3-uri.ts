import { UsageError } from '../errors.js';

/** An S3 location: a bucket and a key (or key prefix, possibly ''). */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

// S3's own bucket naming rules, loosened for dots and the odd legacy name MinIO accepts.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** True when `name` is a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens). */
export function isValidBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}

/**
 * Parses `s3://bucket/key`. The key may be empty (`s3://bucket`, `s3://bucket/`) and keeps
 * any trailing slash. Throws UsageError S3_URI_INVALID on anything else.
 */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(uri.trim());
  if (match === null) {
    throw new UsageError('S3_URI_INVALID', `"${uri}" is not an S3 URI`, { hint: 'write it as s3://bucket/prefix' });
  }
  const bucket = match[1] ?? '';
  if (!isValidBucketName(bucket)) {
    throw new UsageError('S3_URI_INVALID', `"${uri}" does not name a valid bucket ("${bucket}")`, {
      hint: 'bucket names are 3-63 lowercase letters, digits, dots and hyphens: s3://my-bucket/prefix',
    });
  }
  const key = match[2] ?? '';
  if (key.split('/').some((part) => part === '.' || part === '..')) {
    throw new UsageError('S3_URI_INVALID', `"${uri}" contains a "." or ".." path segment`);
  }
  return { bucket, key };
}

export function formatS3Uri(location: S3Location): string {
  return `s3://${location.bucket}/${location.key}`;
}

/** The key prefix for "everything under" `key`: '' stays '', otherwise one trailing slash. */
export function asKeyPrefix(key: string): string {
  const trimmed = key.replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/** Joins key segments with single slashes. */
export function joinKey(...parts: readonly string[]): string {
  return parts
    .map((part) => part.replace(/^\/+|\/+$/g, ''))
    .filter((part) => part !== '')
    .join('/');
}
