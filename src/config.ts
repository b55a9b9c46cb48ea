import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Everything mlctl reads from the environment, read once at the edge and frozen.
 * Core code receives this object (or the part it needs) and never reads process.env.
 */
export interface Config {
  readonly cwd: string;
  /** MLCTL_RUNS_DIR: the tracking store. */
  readonly runsDir: string;
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

export function loadConfig(env: Env, cwd: string): Config {
  const dataDir = resolve(cwd, nonEmpty(env.MLCTL_DATA_DIR) ?? 'data');
  const mirror = nonEmpty(env.MLCTL_DATA_MIRROR);
  return Object.freeze({
    cwd,
    runsDir: resolve(cwd, nonEmpty(env.MLCTL_RUNS_DIR) ?? 'runs'),
    dataDir,
    dataMirror: mirror === undefined ? undefined : resolve(cwd, mirror),
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
    }),
    ci: env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0',
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== '',
  });
}
