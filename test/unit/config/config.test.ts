import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, mergeDotEnv, readDotEnv } from '../../../src/config.js';
import { MlctlError } from '../../../src/core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'mlctl-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('configuration: flags, then environment (.env loaded first), then defaults', () => {
  it('uses defaults relative to the working directory', () => {
    const c = loadConfig({}, dir);
    expect(c.runsDir).toBe(join(dir, 'runs'));
    expect(c.dataDir).toBe(join(dir, 'data'));
    expect(c.databaseUrl).toBe('sqlite:./data/mlctl.db');
    expect(c.dataMirror).toBeUndefined();
    expect(c.ci).toBe(false);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.aws)).toBe(true);
  });

  it('reads every variable DESIGN.md names', () => {
    const c = loadConfig(
      {
        MLCTL_RUNS_DIR: 'r',
        MLCTL_DATA_DIR: '/abs/data',
        MLCTL_DATA_MIRROR: '../mirror',
        DATABASE_URL: 'postgres://u@h/db',
        MLCTL_S3_BUCKET: 'b',
        MLCTL_API_TOKEN: 't',
        MLCTL_TF_BACKEND: 'wasm',
        AWS_ENDPOINT_URL: 'http://localhost:4566',
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'k',
        AWS_SECRET_ACCESS_KEY: 's',
        CI: 'true',
        NO_COLOR: '1',
      },
      dir,
    );
    expect(c).toMatchObject({
      runsDir: join(dir, 'r'),
      dataDir: '/abs/data',
      dataMirror: join(dir, '..', 'mirror'),
      databaseUrl: 'postgres://u@h/db',
      s3Bucket: 'b',
      apiToken: 't',
      tfBackend: 'wasm',
      aws: { endpointUrl: 'http://localhost:4566', region: 'eu-west-1', accessKeyId: 'k', secretAccessKey: 's' },
      ci: true,
      noColor: true,
    });
  });

  it('loads .env but lets the real environment win; blank values count as unset', () => {
    writeFileSync(join(dir, '.env'), 'MLCTL_RUNS_DIR=from-dotenv\nMLCTL_S3_BUCKET=dotenv-bucket\n# a comment\nMLCTL_API_TOKEN="quoted token"\n');
    const env = mergeDotEnv({ MLCTL_S3_BUCKET: 'real-bucket', MLCTL_DATA_DIR: '  ' }, readDotEnv(dir));
    const c = loadConfig(env, dir);
    expect(c.runsDir).toBe(join(dir, 'from-dotenv'));
    expect(c.s3Bucket).toBe('real-bucket');
    expect(c.apiToken).toBe('quoted token');
    expect(c.dataDir).toBe(join(dir, 'data'));
  });

  it('treats a missing .env as empty and CI=false as not CI', () => {
    expect(readDotEnv(join(dir, 'nowhere'))).toEqual({});
    expect(loadConfig({ CI: 'false' }, dir).ci).toBe(false);
  });

  it('refuses a URI where a local folder is expected, naming the variable, with exit 2', () => {
    for (const name of ['MLCTL_RUNS_DIR', 'MLCTL_DATA_DIR']) {
      const error = catchError(() => loadConfig({ [name]: 's3://team-bucket/runs' }, dir));
      expect(error).toMatchObject({ code: 'CONFIG_NOT_A_FOLDER', category: 'usage' });
      expect(error.message).toContain(`${name} must be a local folder, not a URI: "s3://team-bucket/runs"`);
    }
    expect(catchError(() => loadConfig({ MLCTL_RUNS_DIR: 's3://b/r' }, dir)).hint).toMatch(/MLCTL_TRACKING_URI and MLCTL_ARTIFACT_URI/);
    // A Windows drive or a relative path with a colon is still a folder.
    expect(loadConfig({ MLCTL_RUNS_DIR: 'runs:old' }, dir).runsDir).toBe(join(dir, 'runs:old'));
  });

  it('keeps an s3:// or https:// data mirror as a URI', () => {
    expect(loadConfig({ MLCTL_DATA_MIRROR: 's3://mirror/data' }, dir).dataMirror).toBe('s3://mirror/data');
    expect(loadConfig({ MLCTL_DATA_MIRROR: 'mirror' }, dir).dataMirror).toBe(join(dir, 'mirror'));
  });

  it('reads the tracking store and artifact locations, refusing combinations that cannot be right (exit 2)', () => {
    expect(loadConfig({}, dir)).toMatchObject({ runsDir: join(dir, 'runs'), trackingUri: join(dir, 'runs'), artifactUri: join(dir, 'runs') });
    // MLCTL_TRACKING_URI as a folder is the file store's folder (and MLCTL_RUNS_DIR may agree).
    expect(loadConfig({ MLCTL_TRACKING_URI: './team-runs' }, dir)).toMatchObject({ runsDir: join(dir, 'team-runs'), trackingUri: join(dir, 'team-runs'), artifactUri: join(dir, 'team-runs') });
    expect(loadConfig({ MLCTL_TRACKING_URI: 'file://' + join(dir, 'r'), MLCTL_RUNS_DIR: join(dir, 'r') }, dir).trackingUri).toBe(join(dir, 'r'));
    const team = loadConfig({ MLCTL_TRACKING_URI: 'postgresql://u:p@db/mlctl', MLCTL_ARTIFACT_URI: 's3://team/mlctl' }, dir);
    expect(team).toMatchObject({ trackingUri: 'postgresql://u:p@db/mlctl', artifactUri: 's3://team/mlctl', runsDir: join(dir, 'runs') });
    expect(loadConfig({ MLCTL_TRACKING_URI: 'sqlite:./t.db', MLCTL_ARTIFACT_URI: 'art' }, dir).artifactUri).toBe(join(dir, 'art'));
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ MLCTL_TRACKING_URI: 's3://team/runs' }, 'CONFIG_INVALID', /MLCTL_ARTIFACT_URI=s3:/],
      [{ MLCTL_TRACKING_URI: 'https://mlflow.example.com' }, 'CONFIG_INVALID', /postgresql:/],
      [{ MLCTL_TRACKING_URI: 'a', MLCTL_RUNS_DIR: 'b' }, 'CONFIG_CONFLICT', /set one of them/],
      [{ MLCTL_ARTIFACT_URI: 's3://team/mlctl' }, 'CONFIG_CONFLICT', /MLCTL_TRACKING_URI=postgresql/],
      [{ MLCTL_TRACKING_URI: 'postgresql://u@db/m', MLCTL_ARTIFACT_URI: 'gs://x/y' }, 'CONFIG_INVALID', /s3:\/\/team-bucket/],
    ];
    for (const [env, code, hint] of cases) {
      const error = catchError(() => loadConfig(env, dir));
      expect([JSON.stringify(env), error.code, error.category]).toEqual([JSON.stringify(env), code, 'usage']);
      expect(error.hint).toMatch(hint);
    }
    // A password never reaches a message.
    expect(catchError(() => loadConfig({ MLCTL_TRACKING_URI: 'mysql://u:secret@db/m' }, dir)).message).not.toContain('secret');
  });

  it('reads MLCTL_S3_TIMEOUT in seconds and refuses anything but a positive number', () => {
    expect(loadConfig({}, dir).aws.timeoutMs).toBeUndefined();
    expect(loadConfig({ MLCTL_S3_TIMEOUT: '30' }, dir).aws.timeoutMs).toBe(30_000);
    expect(loadConfig({ MLCTL_S3_TIMEOUT: '0.25' }, dir).aws.timeoutMs).toBe(250);
    for (const bad of ['0', '-1', '1e3', 'ten', '0x10', '30s']) {
      expect(catchError(() => loadConfig({ MLCTL_S3_TIMEOUT: bad }, dir)).message, bad).toContain('MLCTL_S3_TIMEOUT must be a number of seconds');
    }
  });
});

function catchError(fn: () => unknown): MlctlError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MlctlError) return error;
    throw error;
  }
  throw new Error('expected an error');
}
