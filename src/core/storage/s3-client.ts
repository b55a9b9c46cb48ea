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

/** How long an S3 request may wait for an answer (MLCTL_S3_TIMEOUT unset): 30 s. */
export const DEFAULT_S3_TIMEOUT_MS = 30_000;
/** Uploads get this much longer per byte, on top of the timeout: a link slower than 64 KiB/s fails. */
const UPLOAD_MS_PER_BYTE = 1000 / (64 * 1024);
/** The SDK's own default: the first attempt and two retries, with its exponential backoff and jitter. */
const SDK_DEFAULT_MAX_ATTEMPTS = 3;

export interface S3ClientOptions {
  /** Sockets per host: the most requests in flight at once. Default 50. */
  readonly maxSockets?: number;
  /** Attempts per request, the first included. Default 3, as the SDK's standard retry mode. */
  readonly maxAttempts?: number;
  /** Milliseconds to wait for a TCP connection before giving up. Default 2000 (less if the timeout is shorter). */
  readonly connectionTimeoutMs?: number;
}

/**
 * An S3 client for AWS or any S3-compatible store (LocalStack, MinIO, s3rver), configured
 * only from the config passed in:
 * - a custom endpoint (AWS_ENDPOINT_URL) switches to path-style addressing, which
 *   LocalStack and MinIO need (no wildcard DNS for bucket subdomains);
 * - checksums are computed and validated only when an operation requires them: newer SDKs
 *   send CRC32 trailers by default, which older LocalStack/MinIO releases and s3rver reject;
 * - a short connect timeout, so an endpoint that is down fails in seconds;
 * - a request timeout (no response headers within it) and a socket timeout (no byte moving
 *   either way for as long) on every call, from `aws.timeoutMs` (MLCTL_S3_TIMEOUT), so an
 *   endpoint that accepts the connection and never answers fails too. Timed-out attempts are
 *   retried by the SDK's standard strategy (3 attempts, exponential backoff with jitter).
 *   Uploads get longer to send their bytes (see `requestTimeoutFor`).
 * Without explicit keys the SDK's default credential chain (profiles, SSO, IMDS) applies.
 */
export function createS3Client(aws: Config['aws'] & { readonly sessionToken?: string | undefined }, options: S3ClientOptions = {}): S3Client {
  const maxSockets = options.maxSockets ?? 50;
  const timeoutMs = aws.timeoutMs ?? DEFAULT_S3_TIMEOUT_MS;
  const maxAttempts = options.maxAttempts ?? SDK_DEFAULT_MAX_ATTEMPTS;
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
        maxAttempts,
        requestHandler: {
          connectionTimeout: options.connectionTimeoutMs ?? Math.min(2000, timeoutMs),
          requestTimeout: timeoutMs,
          // Without it the SDK only logs a warning when the request timeout passes.
          throwOnRequestTimeout: true,
          socketTimeout: timeoutMs,
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
          httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
        },
      }),
  );
  clientSettings.set(client, { endpoint: aws.endpointUrl, region: aws.region ?? DEFAULT_REGION, timeoutMs, maxAttempts });
  return client;
}

interface ClientSettings {
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
}

const clientSettings = new WeakMap<S3Client, ClientSettings>();

/** The custom endpoint a client from `createS3Client` talks to (for messages), if any. */
export function endpointOf(client: S3Client): string | undefined {
  return clientSettings.get(client)?.endpoint;
}

/**
 * What error messages say about a client: its custom endpoint (or region), its timeout and
 * its attempts. Empty for a client not made by `createS3Client`.
 */
export function errorContextOf(client: S3Client): Pick<S3ErrorContext, 'endpoint' | 'region' | 'timeoutMs' | 'attempts'> {
  const settings = clientSettings.get(client);
  if (settings === undefined) return {};
  return {
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    region: settings.region,
    timeoutMs: settings.timeoutMs,
    attempts: settings.maxAttempts,
  };
}

/**
 * The request timeout for a call that sends `bytes` (an upload): the client's timeout plus
 * the time to send them at 64 KiB/s. A stalled upload still fails after the socket timeout.
 * undefined for a client not made by `createS3Client` (its own settings apply).
 */
export function requestTimeoutFor(client: S3Client, bytes: number): number | undefined {
  const settings = clientSettings.get(client);
  return settings === undefined ? undefined : Math.ceil(settings.timeoutMs + bytes * UPLOAD_MS_PER_BYTE);
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
  const context: S3ErrorContext = { operation: 'download', bucket, key, ...errorContextOf(client) };
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
