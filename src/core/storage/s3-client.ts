import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './s3-sdk.js';
import type { Config } from '../../config.js';
import { ExternalError, UsageError } from '../errors.js';
import { toS3Error, withS3Errors, type S3ErrorContext } from './s3-errors.js';
import { parseS3Uri } from './s3-uri.js';

const { GetObjectCommand, S3Client: S3ClientClass } = s3Sdk;

/** AWS_REGION's default when unset, as LocalStack and s3rver expect. */
export const DEFAULT_REGION = 'us-east-1';

export interface S3ClientOptions {
  /** Sockets per host: the most requests in flight at once. Default 50. */
  readonly maxSockets?: number;
  /** Attempts per request, the first included. Default 3. */
  readonly maxAttempts?: number;
  /** Milliseconds to wait for a TCP connection before giving up. Default 2000. */
  readonly connectionTimeoutMs?: number;
}

/**
 * An S3 client for AWS or any S3-compatible store (LocalStack, MinIO, s3rver), configured
 * only from the config passed in:
 * - a custom endpoint (AWS_ENDPOINT_URL) switches to path-style addressing, which
 *   LocalStack and MinIO need (no wildcard DNS for bucket subdomains);
 * - checksums are computed and validated only when an operation requires them: newer SDKs
 *   send CRC32 trailers by default, which older LocalStack/MinIO releases and s3rver reject;
 * - few retries and a short connect timeout, so an endpoint that is down fails in seconds.
 * Without explicit keys the SDK's default credential chain (profiles, SSO, IMDS) applies.
 */
export function createS3Client(aws: Config['aws'] & { readonly sessionToken?: string | undefined }, options: S3ClientOptions = {}): S3Client {
  const maxSockets = options.maxSockets ?? 50;
  // Temporary (STS/SSO) keys need their session token too; Config['aws'] does not carry
  // AWS_SESSION_TOKEN yet, and passing it here is all that is needed once it does.
  const credentials =
    aws.accessKeyId !== undefined && aws.secretAccessKey !== undefined
      ? {
          accessKeyId: aws.accessKeyId,
          secretAccessKey: aws.secretAccessKey,
          ...(aws.sessionToken === undefined ? {} : { sessionToken: aws.sessionToken }),
        }
      : undefined;
  const client = withoutNodeVersionWarning(
    () =>
      new S3ClientClass({
        region: aws.region ?? DEFAULT_REGION,
        ...(aws.endpointUrl === undefined ? {} : { endpoint: aws.endpointUrl, forcePathStyle: true }),
        ...(credentials === undefined ? {} : { credentials }),
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: options.maxAttempts ?? 3,
        requestHandler: {
          connectionTimeout: options.connectionTimeoutMs ?? 2000,
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
          httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
        },
      }),
  );
  if (aws.endpointUrl !== undefined) customEndpoints.set(client, aws.endpointUrl);
  return client;
}

const customEndpoints = new WeakMap<S3Client, string>();

/** The custom endpoint a client from `createS3Client` talks to (for messages), if any. */
export function endpointOf(client: S3Client): string | undefined {
  return customEndpoints.get(client);
}

/**
 * Opens `s3://bucket/key` and returns its body as a stream of chunks, for readers that
 * consume it once (dataset pulls, `--data s3://…`). A missing object is NotFoundError
 * (exit 3); a missing bucket, refused credentials or a dead endpoint are ExternalError
 * (exit 5), as is a connection dropped mid-body.
 */
export async function openS3Object(client: S3Client, uri: string, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
  const { bucket, key } = parseS3Uri(uri);
  if (key === '' || key.endsWith('/')) {
    throw new UsageError('S3_URI_NOT_OBJECT', `${uri} names a prefix, not an object`, { hint: 'give the full key, e.g. s3://bucket/path/file.csv' });
  }
  const endpoint = endpointOf(client);
  const context: S3ErrorContext = { operation: 'download', bucket, key, ...(endpoint === undefined ? {} : { endpoint }) };
  const response = await withS3Errors(context, () => client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal }));
  if (response.Body === undefined) throw new ExternalError('S3_REQUEST_FAILED', `S3 returned no body for ${uri}`);
  return streamWithS3Errors(response.Body as AsyncIterable<Uint8Array>, context, signal);
}

/** Re-throws a failure while a body streams (connection dropped) as a mapped error. */
export async function* streamWithS3Errors(
  body: AsyncIterable<Uint8Array>,
  context: S3ErrorContext,
  signal: AbortSignal | undefined,
): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason ?? error;
    throw toS3Error(error, { ...context, operation: 'finish downloading' });
  }
}

/**
 * The SDK's client constructor calls `process.emitWarning('NodeVersionSupportWarning: …')`
 * on Node < 22, which Node prints to stderr in the middle of mlctl's output. It is emitted
 * synchronously, once, from the constructor: drop exactly that warning while constructing,
 * and restore `process.emitWarning` at once. Every other warning passes through.
 */
function withoutNodeVersionWarning<T>(construct: () => T): T {
  const original = process.emitWarning;
  const filtered = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.startsWith('NodeVersionSupportWarning')) return;
    (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
  try {
    return construct();
  } finally {
    process.emitWarning = original;
  }
}
