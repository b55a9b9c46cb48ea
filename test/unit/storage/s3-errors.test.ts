import { S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { MlctlError } from '../../../src/core/errors.js';
import { toS3Error, type S3ErrorContext } from '../../../src/core/storage/s3-errors.js';

/** An error as the SDK builds it from an S3 error response. */
function serviceError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: `${name} from S3` });
}

function mapped(error: unknown, context: S3ErrorContext = { operation: 'list', bucket: 'mlctl-data', endpoint: 'http://localhost:4566' }): MlctlError {
  const result = toS3Error(error, context);
  expect(result).toBeInstanceOf(MlctlError);
  return result as MlctlError;
}

describe('toS3Error', () => {
  it.each(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken'])('maps %s to S3_CREDENTIALS_REFUSED (exit 5)', (name) => {
    const error = mapped(serviceError(name, 403));
    expect(error.code).toBe('S3_CREDENTIALS_REFUSED');
    expect(error.category).toBe('external');
    expect(error.message).toContain(name);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toContain('AWS_ACCESS_KEY_ID');
  });

  it('maps AccessDenied and a bare 403 to S3_ACCESS_DENIED', () => {
    expect(mapped(serviceError('AccessDenied', 403)).code).toBe('S3_ACCESS_DENIED');
    expect(mapped(serviceError('Forbidden', 403)).code).toBe('S3_ACCESS_DENIED');
  });

  it('names a missing bucket and how to create it', () => {
    const error = mapped(serviceError('NoSuchBucket', 404));
    expect(error.code).toBe('S3_BUCKET_NOT_FOUND');
    expect(error.category).toBe('external');
    expect(error.message).toBe('bucket "mlctl-data" does not exist at http://localhost:4566');
    expect(error.hint).toBe('create it with: mlctl storage mb mlctl-data');
  });

  it('maps a missing key to not found (exit 3)', () => {
    const error = mapped(serviceError('NoSuchKey', 404), { operation: 'download', bucket: 'b1x', key: 'k', endpoint: 'http://e' });
    expect(error.code).toBe('S3_OBJECT_NOT_FOUND');
    expect(error.category).toBe('not-found');
    expect(error.message).toBe('s3://b1x/k does not exist');
  });

  it('does not read a 404 from a service-wide call as a missing object', () => {
    const error = mapped(serviceError('NotFound', 404), { operation: 'list buckets', endpoint: 'http://proxy:8080' });
    expect(error.code).toBe('S3_REQUEST_FAILED');
    expect(error.message).toBe('S3 failed to list buckets: NotFound from S3 (HTTP 404)');
    expect(error.hint).toBe('check that AWS_ENDPOINT_URL (http://proxy:8080) is an S3 endpoint');
  });

  it('finds a refused connection inside an AggregateError', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:4566'), { code: 'ECONNREFUSED' });
    const error = mapped(new AggregateError([refused], ''));
    expect(error.code).toBe('S3_ENDPOINT_UNREACHABLE');
    expect(error.message).toContain('http://localhost:4566');
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('passes mlctl errors and aborts through unchanged', () => {
    const abort = new DOMException('aborted', 'AbortError');
    expect(toS3Error(abort, { operation: 'list' })).toBe(abort);
    const own = new MlctlError('usage', 'X', 'x');
    expect(toS3Error(own, { operation: 'list' })).toBe(own);
  });

  it('keeps anything else on one line with its HTTP status', () => {
    const error = mapped(serviceError('InternalError', 500));
    expect(error.code).toBe('S3_REQUEST_FAILED');
    expect(error.message).toBe('S3 failed to list s3://mlctl-data: InternalError from S3 (HTTP 500)');
  });
});
