/**
 * The contract of writing and reading runs, which training depends on. Every tracking
 * backend implements it (see tracking-store.ts): the file store (`file-run-store.ts`, files
 * under the runs directory are the source of truth) and the SQL store (`sql/`).
 */
export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

export type ParamValue = string | number | boolean | null;

export interface RunInfo {
  readonly id: string;
  /** A readable name ("brave-otter-42"), unique enough for people, not an identifier. */
  readonly name: string;
  readonly experiment: string;
  readonly status: RunStatus;
  /** ISO-8601 times. */
  readonly startTime: string;
  readonly endTime: string | null;
  readonly pid: number;
  readonly host: string;
  readonly user: string;
  readonly gitCommit: string | null;
  readonly commandLine: string;
  readonly task: string | null;
  readonly datasetSha256: string | null;
  readonly backend: string | null;
  readonly note: string | null;
}

export interface MetricPoint {
  readonly step: number;
  readonly value: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
}

export interface CreateRunOptions {
  readonly experiment: string;
  readonly name?: string;
  readonly task?: string;
  readonly commandLine: string;
  readonly gitCommit?: string | null;
  readonly tags?: Readonly<Record<string, string>>;
  readonly note?: string;
}

/** The process writing a run, recorded with it (a liveness probe reads them back). */
export interface RunWriterIdentity {
  readonly pid: number;
  readonly host: string;
  readonly user: string;
}

/** A new run's record as every store writes it: RUNNING since `startMs`, nothing measured yet. */
export function newRunInfo(id: string, name: string, experiment: string, create: CreateRunOptions, startMs: number, writer: RunWriterIdentity): RunInfo {
  return {
    id,
    name,
    experiment,
    status: 'RUNNING',
    startTime: new Date(startMs).toISOString(),
    endTime: null,
    pid: writer.pid,
    host: writer.host,
    user: writer.user,
    gitCommit: create.gitCommit ?? null,
    commandLine: create.commandLine,
    task: create.task ?? null,
    datasetSha256: null,
    backend: null,
    note: create.note ?? null,
  };
}

/** A run being written by this process. */
export interface ActiveRun {
  readonly id: string;
  /** Where the store keeps the run, for messages: its folder, or its artifact location. */
  readonly location: string;
  /**
   * A local folder this process writes the run's artifacts into; the model bundle is
   * `<artifactsDir>/model`. The store keeps what is there when the run ends FINISHED (a
   * database store uploads it then, before the run is recorded as finished).
   */
  readonly artifactsDir: string;
  /** Where the store keeps the run's artifacts: a folder or an s3:// URI. */
  readonly artifactUri: string;
  /** Params are immutable: logging a different value for a key already logged throws. */
  logParams(params: Readonly<Record<string, ParamValue>>): Promise<void>;
  /** Appends one point per key to the metric histories. */
  logMetrics(metrics: Readonly<Record<string, number>>, step: number): Promise<void>;
  setTags(tags: Readonly<Record<string, string>>): Promise<void>;
  /** Records facts learned after the run started (dataset hash, backend). */
  updateInfo(patch: Partial<Pick<RunInfo, 'datasetSha256' | 'backend' | 'note' | 'task'>>): Promise<void>;
  /** Ends the run. A run never ended by its process is later seen as FAILED or KILLED. */
  end(status: Exclude<RunStatus, 'RUNNING'>): Promise<void>;
}

export interface RunRecord {
  readonly info: RunInfo;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly tags: Readonly<Record<string, string>>;
  /** Last value of each metric. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Where the run's artifacts are kept: a folder, or an s3:// URI (…/<experiment>/<id>/artifacts). */
  readonly artifactUri: string;
  readonly deleted: boolean;
  /**
   * Why `info.status` differs from what run.json records, e.g. a RUNNING run whose
   * process is gone is reported FAILED ("process 4242 on host-a is no longer running").
   */
  readonly statusDetail?: string;
}

export interface RunStore {
  /** Where the store is, for messages: a folder, or a database URL with its password masked. */
  readonly location: string;
  createRun(options: CreateRunOptions): Promise<ActiveRun>;
  /**
   * A run by id or unambiguous id prefix. Throws NotFoundError (exit 3) for an unknown id,
   * UsageError (exit 2) for a malformed or ambiguous one.
   */
  getRun(id: string): Promise<RunRecord>;
  getMetricHistory(id: string, key: string): Promise<readonly MetricPoint[]>;
}
