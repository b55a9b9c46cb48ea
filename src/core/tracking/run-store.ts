/**
 * The tracking store's contract. Files under the runs directory are the source of truth
 * (plain JSON / JSON lines a person can read and `git diff`); any index is derived.
 * The implementation is `file-run-store.ts`.
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

/** A run being written by this process. */
export interface ActiveRun {
  readonly id: string;
  /** The run's folder. */
  readonly dir: string;
  /** Where artifacts go; the model bundle is `<artifactsDir>/model`. */
  readonly artifactsDir: string;
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
  readonly dir: string;
  readonly deleted: boolean;
  /**
   * Why `info.status` differs from what run.json records, e.g. a RUNNING run whose
   * process is gone is reported FAILED ("process 4242 on host-a is no longer running").
   */
  readonly statusDetail?: string;
}

export interface RunStore {
  readonly root: string;
  createRun(options: CreateRunOptions): Promise<ActiveRun>;
  /** Throws NotFoundError (exit 3) for an unknown id, UsageError (exit 2) for a malformed one. */
  getRun(id: string): Promise<RunRecord>;
  getMetricHistory(id: string, key: string): Promise<readonly MetricPoint[]>;
}
