import { describe, expect, it } from 'vitest';
import { MlctlError } from '../../../src/core/errors.js';
import { asKeyPrefix, joinKey, parseS3Uri } from '../../../src/core/storage/s3-uri.js';

describe('parseS3Uri', () => {
  it('splits bucket and key, keeping an empty or trailing-slash key', () => {
    expect(parseS3Uri('s3://mlctl-data/housing/housing.csv')).toEqual({ bucket: 'mlctl-data', key: 'housing/housing.csv' });
    expect(parseS3Uri('s3://mlctl-models/housing/')).toEqual({ bucket: 'mlctl-models', key: 'housing/' });
    expect(parseS3Uri('s3://my.bucket')).toEqual({ bucket: 'my.bucket', key: '' });
    expect(parseS3Uri('S3://abc/')).toEqual({ bucket: 'abc', key: '' });
  });

  it.each(['mlctl-data/x', 'https://host/bucket', 's3://', 's3:///key', 's3://Upper/key', 's3://ab/key', 's3://bucket/a/../b', 's3://bad_name/x'])(
    'refuses %s with S3_URI_INVALID (exit 2)',
    (uri) => {
      let caught: unknown;
      try {
        parseS3Uri(uri);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(MlctlError);
      expect((caught as MlctlError).code).toBe('S3_URI_INVALID');
      expect((caught as MlctlError).category).toBe('usage');
    },
  );
});

describe('key helpers', () => {
  it('joins segments with single slashes and makes prefixes end in one slash', () => {
    expect(joinKey('mlctl/', '/runs', '')).toBe('mlctl/runs');
    expect(joinKey('', 'runs')).toBe('runs');
    expect(asKeyPrefix('mlctl/runs//')).toBe('mlctl/runs/');
    expect(asKeyPrefix('')).toBe('');
  });
});
