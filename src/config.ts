import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { UsageError } from './core/errors.js';

/**
 * Everything mlctl reads from the environment, read once at the edge and frozen.
 * Core code receives this object (or the part it needs) and never reads process.env.
 */
export interface Config {
  readonly cwd: string;
  /**
   * The file tracking store's folder: MLCTL_TRACKING_URI when it names a folder, else
   * MLCTL_RUNS_DIR, else ./runs. `sync` moves it; the file store keeps runs and bundles in it.
   */
  readonly runsDir: string;
  /**
   * MLCTL_TRACKING_URI: where runs and the model registry live. The runs folder (the file
   * store, the default) as an absolute path, or a database URL (postgresql://…, sqlite:…).
   */
  readonly trackingUri: string;
  /**
   * MLCTL_ARTIFACT_URI: where a database tracking store keeps bundles and other run artifacts:
   * a folder (absolute path; default the runs folder) or s3://bucket/prefix. The file store
   * keeps them in its run folders, so for it this is always the runs folder.
   */
  readonly artifactUri: string;
  /** MLCTL_DATA_DIR: raw and processed datasets, the default SQLite database. */
  readonly dataDir: string;
  /** MLCTL_DATA_MIRROR: a folder laid out <dir>/<dataset>/<file>, used instead of downloading. */
  readonly dataMirror: string | undefined;
  /** DATABASE_URL: sqlite:<path> or postgres://… */
  readonly databaseUrl: string;
  /** MLCTL_S3_BUCKET: the default remote for sync. */
  readonly s3Bucket: string | undefined;
  /** MLCTL_API_TOKEN: bearer token required by `serve` when set. */
  readonly apiToken: string | undefined;
  /** MLCTL_TF_BACKEND: force a TensorFlow.js backend (node, wasm, cpu). */
  readonly tfBackend: string | undefined;
  /** The AWS SDK's own variables, passed explicitly to the S3 client. */
  readonly aws: Readonly<{
    endpointUrl: string | undefined;
    region: string | undefined;
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    /** Temporary (STS, SSO) credentials come with one. */
    sessionToken?: string | undefined;
    /**
     * MLCTL_S3_TIMEOUT (seconds) in milliseconds: how long any S3 request may wait for an
     * answer, and a connection may stay silent, before the attempt fails (and is retried).
     * Undefined: the default of `createS3Client`.
     */
    timeoutMs?: number | undefined;
  }>;
  /** CI=true or no TTY: nothing animated. */
  readonly ci: boolean;
  readonly noColor: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads `.env` from `cwd`, if any. Its values never override variables already set,
 * as with dotenv. A malformed file is reported by Node's own parser as best it can.
 */
export function readDotEnv(cwd: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, '.env'), 'utf8');
  } catch {
    return {};
  }
  return parseEnv(text) as Record<string, string>;
}

/** Merges .env under the real environment: the real environment wins. */
export function mergeDotEnv(env: Env, dotEnv: Record<string, string>): Record<string, string | undefined> {
  return { ...dotEnv, ...env };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** `scheme://…` (s3://, https://, postgres://): not a path. */
const URI = /^[A-Za-z][A-Za-z0-9+.-]+:\/\//;

/**
 * A variable that names a local folder. A URI there (`s3://bucket/runs`) would otherwise
 * become a folder named `s3:` in the working directory, silently: it is refused.
 */
function localFolder(env: Env, name: 'MLCTL_RUNS_DIR' | 'MLCTL_DATA_DIR', cwd: string, fallback: string): string {
  const value = nonEmpty(env[name]);
  if (value !== undefined && URI.test(value)) {
    throw new UsageError('CONFIG_NOT_A_FOLDER', `${name} must be a local folder, not a URI: "${value}"`, {
      hint:
        name === 'MLCTL_RUNS_DIR'
          ? 'MLCTL_RUNS_DIR is the file store\'s folder; share it through S3 with `mlctl sync push --remote s3://bucket/prefix`, ' +
            'or keep runs in PostgreSQL and artifacts in S3 with MLCTL_TRACKING_URI and MLCTL_ARTIFACT_URI (postgresql://…, s3://bucket/prefix)'
          : 'datasets are kept in a local folder; to read them from S3 set MLCTL_DATA_MIRROR=s3://bucket/prefix, or pass --data s3://…',
    });
  }
  return resolve(cwd, value ?? fallback);
}

/** MLCTL_S3_TIMEOUT: a positive number of seconds (fractions allowed), in milliseconds. */
function s3TimeoutMs(env: Env): number | undefined {
  const value = nonEmpty(env.MLCTL_S3_TIMEOUT);
  if (value === undefined) return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds > 0) || seconds > 86_400) {
    throw new UsageError('CONFIG_INVALID', `MLCTL_S3_TIMEOUT must be a number of seconds above 0 (e.g. 30 or 2.5), got "${value}"`);
  }
  return Math.round(seconds * 1000);
}

/** Database URLs a tracking store can live in (see core/tracking/open-tracking-store.ts). */
const DATABASE_URI = /^(postgres(ql)?:\/\/|sqlite:)/i;

/**
 * MLCTL_TRACKING_URI and MLCTL_ARTIFACT_URI, checked together with MLCTL_RUNS_DIR: a folder or
 * a database for tracking, a folder or s3:// for artifacts; a database store's artifacts default
 * to the runs folder, and the file store's are always in its run folders.
 */
function trackingLocations(env: Env, cwd: string): { runsDir: string; trackingUri: string; artifactUri: string } {
  const runsDirSetting = localFolder(env, 'MLCTL_RUNS_DIR', cwd, 'runs');
  const tracking = nonEmpty(env.MLCTL_TRACKING_URI);
  let runsDir = runsDirSetting;
  let trackingUri: string;
  if (tracking === undefined) trackingUri = runsDir;
  else if (DATABASE_URI.test(tracking)) trackingUri = tracking;
  else if (URI.test(tracking) && !/^file:\/\//i.test(tracking)) {
    throw new UsageError('CONFIG_INVALID', `MLCTL_TRACKING_URI must be a folder or a database URL, got "${redactUri(tracking)}"`, {
      hint: /^s3:/i.test(tracking)
        ? 'S3 holds artifacts, not the tracking store: set MLCTL_ARTIFACT_URI=s3://bucket/prefix and MLCTL_TRACKING_URI=postgresql://user@host/db'
        : 'examples: ./runs (the default), postgresql://user:password@host:5432/mlctl, sqlite:./tracking.db',
    });
  } else {
    const folder = resolve(cwd, tracking.replace(/^file:\/\//i, ''));
    if (nonEmpty(env.MLCTL_RUNS_DIR) !== undefined && folder !== runsDirSetting) {
      throw new UsageError('CONFIG_CONFLICT', `MLCTL_TRACKING_URI (${folder}) and MLCTL_RUNS_DIR (${runsDirSetting}) name different folders`, {
        hint: 'set one of them: MLCTL_TRACKING_URI is the newer name for the file store\'s folder',
      });
    }
    runsDir = folder;
    trackingUri = folder;
  }
  const artifacts = nonEmpty(env.MLCTL_ARTIFACT_URI);
  let artifactUri: string;
  if (artifacts === undefined) artifactUri = runsDir;
  else if (/^s3:\/\/[^/]+/i.test(artifacts)) artifactUri = artifacts;
  else if (URI.test(artifacts) && !/^file:\/\//i.test(artifacts)) {
    throw new UsageError('CONFIG_INVALID', `MLCTL_ARTIFACT_URI must be a folder or s3://bucket/prefix, got "${redactUri(artifacts)}"`, {
      hint: 'examples: ./runs (the default), s3://team-bucket/mlctl',
    });
  } else artifactUri = resolve(cwd, artifacts.replace(/^file:\/\//i, ''));
  if (trackingUri === runsDir && artifactUri !== runsDir) {
    throw new UsageError('CONFIG_CONFLICT', `MLCTL_ARTIFACT_URI (${artifactUri}) needs a database tracking store: the file store keeps each run's artifacts in its folder under ${runsDir}`, {
      hint: 'set MLCTL_TRACKING_URI=postgresql://… (created with `mlctl tracking migrate`) to keep artifacts elsewhere, or share the file store with `mlctl sync`',
    });
  }
  return { runsDir, trackingUri, artifactUri };
}

/** A URI with any password masked, for messages. */
function redactUri(uri: string): string {
  return uri.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/**
 * Reads the configuration. Throws UsageError (exit 2) for a value that cannot be right,
 * naming the variable: the CLI refuses to run on it rather than guess.
 */
export function loadConfig(env: Env, cwd: string): Config {
  const dataDir = localFolder(env, 'MLCTL_DATA_DIR', cwd, 'data');
  const mirror = nonEmpty(env.MLCTL_DATA_MIRROR);
  return Object.freeze({
    cwd,
    ...trackingLocations(env, cwd),
    dataDir,
    // A folder is resolved against the working directory; an s3:// or https:// prefix is kept as is.
    dataMirror: mirror === undefined ? undefined : URI.test(mirror) ? mirror : resolve(cwd, mirror),
    databaseUrl: nonEmpty(env.DATABASE_URL) ?? 'sqlite:./data/mlctl.db',
    s3Bucket: nonEmpty(env.MLCTL_S3_BUCKET),
    apiToken: nonEmpty(env.MLCTL_API_TOKEN),
    tfBackend: nonEmpty(env.MLCTL_TF_BACKEND),
    aws: Object.freeze({
      endpointUrl: nonEmpty(env.AWS_ENDPOINT_URL),
      region: nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION),
      accessKeyId: nonEmpty(env.AWS_ACCESS_KEY_ID),
      secretAccessKey: nonEmpty(env.AWS_SECRET_ACCESS_KEY),
      sessionToken: nonEmpty(env.AWS_SESSION_TOKEN),
      timeoutMs: s3TimeoutMs(env),
    }),
    ci: env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0',
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== '',
  });
}
