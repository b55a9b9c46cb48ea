import { ExternalError, MlctlError, NotFoundError } from '../errors.js';

/** What an S3 call was doing, to name it in the message. */
export interface S3ErrorContext {
  /** A verb phrase: "list", "upload", "download", "delete", "create bucket". */
  readonly operation: string;
  readonly bucket?: string;
  readonly key?: string;
  /** The endpoint URL when a custom one is configured. */
  readonly endpoint?: string;
  /** The region (named when there is no custom endpoint). */
  readonly region?: string;
  /** The client's timeout per attempt (MLCTL_S3_TIMEOUT), and how many attempts it makes. */
  readonly timeoutMs?: number;
  readonly attempts?: number;
}

/** The shape of SDK and Node network errors this module reads, nothing more. */
interface ErrorLike {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: unknown; attempts?: unknown };
}

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
]);
const ACCESS_ERRORS = new Set(['AccessDenied', 'Forbidden', 'AllAccessDisabled', 'AccountProblem']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'EPROTO',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * Turns an AWS SDK or network error into a mlctl error with a stable code and a one-line
 * message (the CLI prints it without a stack): a missing bucket names the bucket and how
 * to create it, refused credentials say which variables to check, an unreachable endpoint
 * names the endpoint. Errors that already are mlctl errors, and aborts, pass through.
 */
export function toS3Error(error: unknown, context: S3ErrorContext): unknown {
  if (error instanceof MlctlError || isAbort(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as ErrorLike;
  const name = firstString(e.Code, e.name) ?? 'Error';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const where = describeTarget(context);
  const action = where === '' ? context.operation : `${context.operation} ${where}`;
  const message = typeof e.message === 'string' && e.message !== '' && e.message !== 'UnknownError' ? e.message : name;

  if (name === 'NoSuchBucket' || (context.key === undefined && context.bucket !== undefined && name === 'NotFound' && status === 404)) {
    return new ExternalError('S3_BUCKET_NOT_FOUND', `bucket "${context.bucket ?? '?'}" does not exist${endpointSuffix(context)}`, {
      hint: `create it with: mlctl storage mb ${context.bucket ?? '<bucket>'}`,
      cause: error,
    });
  }
  if (name === 'NoSuchKey' || (name === 'NotFound' && status === 404 && context.key !== undefined)) {
    return new NotFoundError('S3_OBJECT_NOT_FOUND', `${where === '' ? 'the object' : where} does not exist`, { cause: error });
  }
  if (CREDENTIAL_ERRORS.has(name)) {
    return new ExternalError('S3_CREDENTIALS_REFUSED', `S3 refused the credentials (${name}) while trying to ${action}`, {
      hint: 'check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL, AWS_REGION)',
      cause: error,
    });
  }
  if (ACCESS_ERRORS.has(name) || status === 403) {
    return new ExternalError('S3_ACCESS_DENIED', `S3 denied access (${name}) while trying to ${action}`, {
      hint: 'check that the credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY may use this bucket',
      cause: error,
    });
  }
  if (name === 'CredentialsProviderError') {
    return new ExternalError('S3_CREDENTIALS_MISSING', `no AWS credentials found to ${action}`, {
      hint: 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (LocalStack accepts "test" / "test")',
      cause: error,
    });
  }
  if (isAnswerTimeout(error, name)) {
    const attempts = typeof e.$metadata?.attempts === 'number' ? e.$metadata.attempts : context.attempts;
    const patience = context.timeoutMs === undefined ? '' : ` within ${formatSeconds(context.timeoutMs)}`;
    const tries = attempts === undefined || attempts < 2 ? '' : ` (${attempts} attempts)`;
    const server = context.endpoint === undefined ? `S3${context.region === undefined ? '' : ` (AWS, ${context.region})`}` : `S3 at ${context.endpoint}`;
    const raise = `on a slow link, raise MLCTL_S3_TIMEOUT${context.timeoutMs === undefined ? '' : ` (now ${formatSeconds(context.timeoutMs)})`}`;
    return new ExternalError('S3_TIMEOUT', `${server} did not answer${patience} while trying to ${action}${tries}`, {
      hint: context.endpoint === undefined ? `check the network; ${raise}` : `check that AWS_ENDPOINT_URL is an S3 server that is up and answering; ${raise}`,
      cause: error,
    });
  }
  const network = networkCode(error);
  if (network !== undefined || name === 'TimeoutError' || name === 'RequestTimeout') {
    return new ExternalError(
      'S3_ENDPOINT_UNREACHABLE',
      `cannot reach S3${context.endpoint === undefined ? '' : ` at ${context.endpoint}`} to ${action}: ${network ?? name}`,
      { hint: context.endpoint === undefined ? 'check the network' : 'is the S3 server running? check AWS_ENDPOINT_URL', cause: error },
    );
  }
  return new ExternalError('S3_REQUEST_FAILED', `S3 failed to ${action}: ${oneLine(message)}${status === undefined ? '' : ` (HTTP ${status})`}`, {
    ...(context.endpoint === undefined ? {} : { hint: `check that AWS_ENDPOINT_URL (${context.endpoint}) is an S3 endpoint` }),
    cause: error,
  });
}

/** Runs one S3 call and maps whatever it throws with `toS3Error`. */
export async function withS3Errors<T>(context: S3ErrorContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toS3Error(error, context);
  }
}

/** "s3://bucket/key", or '' for service-wide calls (list buckets). */
function describeTarget(context: S3ErrorContext): string {
  if (context.bucket === undefined) return '';
  return context.key === undefined ? `s3://${context.bucket}` : `s3://${context.bucket}/${context.key}`;
}

function endpointSuffix(context: S3ErrorContext): string {
  return context.endpoint === undefined ? '' : ` at ${context.endpoint}`;
}

function firstString(...values: unknown[]): string | undefined {
  for (const value of values) if (typeof value === 'string' && value !== '') return value;
  return undefined;
}

/** The network error code, looking inside AggregateError (happy-eyeballs connects). */
function networkCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown): string | undefined => {
    if (typeof value !== 'object' || value === null || seen.has(value)) return undefined;
    seen.add(value);
    const e = value as ErrorLike & { cause?: unknown };
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
    if (Array.isArray(e.errors)) for (const inner of e.errors) {
      const found = visit(inner);
      if (found !== undefined) return found;
    }
    return visit(e.cause);
  };
  return visit(error);
}

/**
 * A request or socket timeout: the connection was made, the answer never came (or stopped
 * coming). A timeout while connecting is an unreachable endpoint instead.
 */
function isAnswerTimeout(error: unknown, name: string): boolean {
  if (name !== 'TimeoutError') return false;
  const message = (error as ErrorLike).message;
  return !(typeof message === 'string' && message.includes('did not establish a connection'));
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
