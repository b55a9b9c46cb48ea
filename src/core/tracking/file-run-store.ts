import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, UsageError } from '../errors.js';
import { writeJsonAtomic } from '../fs/atomic.js';
import { withFileLock } from './file-lock.js';
import { encodeMetricLine, readMetricLog } from './metric-log.js';
import { parseRunReference, runReferenceAdvice, validateExperimentName, validateKey, validateRunName } from './names.js';
import { createProcessProbe, type ProcessProbe } from './process-liveness.js';
import { createRunId, createRunName, isRunId } from './run-id.js';
import { MetricFlusher } from './metric-flusher.js';
import { openRunIndex } from './run-index.js';
import {
  ARTIFACTS_DIR,
  DELETED_FILE,
  EXPERIMENT_FILE,
  FINAL_METRICS_FIELD,
  METRIC_POINTS_FIELD,
  METRICS_DIR,
  METRIC_SUFFIX,
  PARAMS_FILE,
  RUN_FILE,
  TAGS_FILE,
  encodeFinalMetrics,
  listExperimentDirs,
  parseRunInfo,
  parseTags,
  readOptionalJson,
  readRunDir,
} from './run-files.js';
import type {
  ActiveRun,
  CreateRunOptions,
  MetricPoint,
  ParamValue,
  RunInfo,
  RunRecord,
  RunStatus,
  RunStore,
} from './run-store.js';
import { newRunInfo } from './run-store.js';

export interface FileRunStoreOptions {
  readonly root: string;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly clock?: () => number;
  readonly host?: string;
  readonly pid?: number;
  readonly user?: string;
  /** Decides whether a RUNNING run's process is still alive. */
  readonly probe?: ProcessProbe;
}

/** A run as the file store reads it: the contract's record plus its folder. */
export interface FileRunRecord extends RunRecord {
  readonly dir: string;
}

/** A run this process writes into its folder. */
export interface FileActiveRun extends ActiveRun {
  /** The run's folder. */
  readonly dir: string;
}

/** Where a run lives. */
export interface RunLocation {
  readonly id: string;
  readonly experiment: string;
  readonly dir: string;
}

/** The file store: the RunStore contract plus the operations behind `mlctl runs`. */
export interface FileRunStore extends RunStore {
  /** The runs folder. */
  readonly root: string;
  readonly user: string;
  readonly clock: () => number;
  readonly probe: ProcessProbe;
  createRun(options: CreateRunOptions): Promise<FileActiveRun>;
  getRun(ref: string): Promise<FileRunRecord>;
  /**
   * The one resolver of runs: finds a run by id, unambiguous id prefix or name. NotFoundError
   * (exit 3) when nothing matches; UsageError (exit 2) for a malformed reference, or a prefix or
   * name that matches several runs (the error names them).
   */
  locateRun(ref: string): Promise<RunLocation>;
  /** Sets (and with `remove`, deletes) tags on any run, finished or not. Returns the new tags. */
  setTags(ref: string, tags: Readonly<Record<string, string>>, remove?: readonly string[]): Promise<Record<string, string>>;
  /** Sets (or with null, clears) the note of a run that has ended. */
  setNote(ref: string, note: string | null): Promise<RunLocation>;
  /** Soft delete: the run stays on disk, hidden from lists, until `gc`. */
  deleteRun(ref: string): Promise<RunLocation>;
  restoreRun(ref: string): Promise<RunLocation>;
  /** The status to show for a run: RUNNING runs whose process died on this host are FAILED. */
  effectiveStatus(info: RunInfo): { status: RunStatus; detail?: string };
  listExperiments(): Promise<string[]>;
}

/** Creates the file-backed tracking store rooted at `root` (created on first write). */
export function createFileRunStore(options: FileRunStoreOptions): FileRunStore {
  const clock = options.clock ?? Date.now;
  const host = options.host ?? hostname();
  const pid = options.pid ?? process.pid;
  const user = options.user ?? safeUserName();
  const probe = options.probe ?? createProcessProbe(hostname());
  const root = options.root;

  // Experiments this store object has already made sure of: a process creating many runs checks once.
  const ensured = new Set<string>();
  async function ensureExperiment(experiment: string): Promise<string> {
    const dir = join(root, validateExperimentName(experiment));
    if (ensured.has(experiment)) return dir;
    await mkdir(dir, { recursive: true });
    const file = join(dir, EXPERIMENT_FILE);
    if ((await readOptionalJson(file)) === undefined) {
      await writeJsonAtomic(file, { name: experiment, createdTime: new Date(clock()).toISOString() });
    }
    ensured.add(experiment);
    return dir;
  }

  async function locateRun(ref: string): Promise<RunLocation> {
    const parsed = parseRunReference(ref);
    if (parsed.kind === 'id') {
      const byId = await locateById(parsed.id);
      if (byId !== undefined) return byId;
    }
    // A name, or an id prefix that matched nothing (a run may be named "abcdef12").
    const byName = await locateByName(ref);
    if (byName !== undefined) return byName;
    const advice = runReferenceAdvice(ref);
    if (advice === 'run ids are lowercase') {
      throw new UsageError('INVALID_RUN_ID', `"${ref}" is not a run id: ${advice}`, { hint: 'run ids are lowercase hex, e.g. 0195f3a2c4e1b7d9a0c3; see `mlctl runs list`' });
    }
    throw new NotFoundError('RUN_NOT_FOUND', `no run with id or name "${ref}" in ${root}`, {
      hint: `${advice === '' ? '' : `${advice}; `}list runs with \`mlctl runs list\` (add --deleted for deleted ones); MLCTL_RUNS_DIR selects the store`,
    });
  }

  async function locateById(idOrPrefix: string): Promise<RunLocation | undefined> {
    const experiments = await listExperimentDirs(root);
    if (isRunId(idOrPrefix)) {
      for (const experiment of experiments) {
        const dir = join(root, experiment, idOrPrefix);
        if (await exists(join(dir, RUN_FILE))) return { id: idOrPrefix, experiment, dir };
      }
      return undefined;
    }
    const matches: RunLocation[] = [];
    for (const experiment of experiments) {
      const entries = await readdir(join(root, experiment)).catch(() => [] as string[]);
      for (const entry of entries) {
        if (entry.startsWith(idOrPrefix) && isRunId(entry)) matches.push({ id: entry, experiment, dir: join(root, experiment, entry) });
      }
    }
    if (matches.length > 1) {
      throw new UsageError('AMBIGUOUS_RUN_ID', `run id prefix "${idOrPrefix}" matches ${matches.length} runs`, {
        problems: matches.slice(0, 10).map((m) => `${m.id} (${m.experiment})`),
        hint: 'give more characters of the id',
      });
    }
    return matches[0];
  }

  /** Names live in run.json only: the derived index answers, refreshed first (see run-index.ts). */
  async function locateByName(name: string): Promise<RunLocation | undefined> {
    // Reading an absent store must not create it.
    if (!(await exists(root))) return undefined;
    const index = openRunIndex({ root, effectiveStatus });
    let named;
    try {
      index.refresh();
      named = index.findByName(name);
    } finally {
      index.close();
    }
    if (named.length > 1) {
      const described = named.map((r) => `${r.id} (${r.experiment}${r.startTime === null ? '' : `, started ${r.startTime.slice(0, 16).replace('T', ' ')}`}${r.deleted ? ', deleted' : ''})`);
      throw new UsageError('AMBIGUOUS_RUN_NAME', `run name "${name}" matches ${named.length} runs: ${named.map((r) => r.id).join(', ')}`, {
        problems: described,
        hint: 'give the run id instead',
      });
    }
    const run = named[0];
    return run === undefined ? undefined : { id: run.id, experiment: run.experiment, dir: join(root, run.experiment, run.id) };
  }

  function effectiveStatus(info: RunInfo): { status: RunStatus; detail?: string } {
    if (info.status !== 'RUNNING' || info.host !== probe.host) return { status: info.status };
    if (probe.isAlive(info.pid, Date.parse(info.startTime))) return { status: 'RUNNING' };
    return { status: 'FAILED', detail: `process ${info.pid} on ${info.host} is no longer running; the run never ended` };
  }

  const store: FileRunStore = {
    root,
    location: root,
    user,
    clock,
    probe,
    locateRun,
    effectiveStatus,

    async createRun(create: CreateRunOptions): Promise<FileActiveRun> {
      if (create.name !== undefined) validateRunName(create.name);
      const experimentDir = await ensureExperiment(create.experiment);
      const tags = { ...(create.tags ?? {}) };
      for (const key of Object.keys(tags)) validateKey('tag', key);
      let id = '';
      let dir = '';
      // An exclusive mkdir makes the id ours even if another process drew the same one.
      for (let attempt = 0; ; attempt += 1) {
        id = createRunId(clock());
        dir = join(experimentDir, id);
        try {
          await mkdir(dir);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 20) throw error;
        }
      }
      await mkdir(join(dir, METRICS_DIR));
      await mkdir(join(dir, ARTIFACTS_DIR));
      const info = newRunInfo(id, create.name ?? createRunName(), create.experiment, create, clock(), { pid, host, user });
      if (Object.keys(tags).length > 0) await writeJsonAtomic(join(dir, TAGS_FILE), sortRecord(tags));
      // run.json last: a folder without it is a run still being created (or a crash in between).
      await writeJsonAtomic(join(dir, RUN_FILE), info);
      return new FileRunWriter(dir, info, clock, (t, r) => store.setTags(id, t, r));
    },

    async getRun(id: string): Promise<FileRunRecord> {
      const location = await locateRun(id);
      const snapshot = await readRunDir(location.dir);
      const { status, detail } = effectiveStatus(snapshot.info);
      return {
        info: status === snapshot.info.status ? snapshot.info : { ...snapshot.info, status },
        params: snapshot.params,
        tags: snapshot.tags,
        metrics: snapshot.metrics,
        dir: location.dir,
        artifactUri: join(location.dir, ARTIFACTS_DIR),
        deleted: snapshot.deleted,
        ...(detail === undefined ? {} : { statusDetail: detail }),
      };
    },

    async getMetricHistory(id: string, key: string): Promise<readonly MetricPoint[]> {
      validateKey('metric', key);
      const location = await locateRun(id);
      try {
        return (await readMetricLog(join(location.dir, METRICS_DIR, `${key}${METRIC_SUFFIX}`))).points;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        throw new NotFoundError('METRIC_NOT_FOUND', `run ${location.id} has no metric "${key}"`, {
          hint: `see the run's metrics with \`mlctl runs show ${location.id}\``,
        });
      }
    },

    async setTags(ref, tags, remove = []) {
      for (const key of [...Object.keys(tags), ...remove]) validateKey('tag', key);
      const location = await locateRun(ref);
      const file = join(location.dir, TAGS_FILE);
      return withFileLock(join(location.dir, '.tags.lock'), async () => {
        const current = parseTags(await readOptionalJson(file), file);
        for (const key of remove) delete current[key];
        Object.assign(current, tags);
        const next = sortRecord(current);
        await writeJsonAtomic(file, next);
        await touchExperiment(location);
        return next;
      });
    },

    async setNote(ref, note) {
      const location = await locateRun(ref);
      const file = join(location.dir, RUN_FILE);
      await withFileLock(join(location.dir, '.run.lock'), async () => {
        const raw = (await readOptionalJson(file)) as Record<string, unknown> | undefined;
        const info = parseRunInfo(raw, file);
        // The process of a running run rewrites run.json itself; only its own updateInfo may change it.
        if (effectiveStatus(info).status === 'RUNNING') {
          throw new UsageError('RUN_STILL_RUNNING', `run ${location.id} is still running; set its note once it has ended`);
        }
        await writeJsonAtomic(file, { ...raw, note });
      });
      await touchExperiment(location);
      return location;
    },

    async deleteRun(ref) {
      const location = await locateRun(ref);
      await writeJsonAtomic(join(location.dir, DELETED_FILE), { deletedTime: new Date(clock()).toISOString(), user });
      await touchExperiment(location);
      return location;
    },

    async restoreRun(ref) {
      const location = await locateRun(ref);
      await rm(join(location.dir, DELETED_FILE), { force: true });
      await touchExperiment(location);
      return location;
    },

    listExperiments: () => listExperimentDirs(root),
  };
  return store;
}

/** How long metric points may wait in memory before reaching the file (ms). */
const METRIC_FLUSH_BYTES = 256 * 1024;

/**
 * A run being written by this process. Metric points are buffered per metric file and
 * appended in batches when MetricFlusher says (metric-flusher.ts: at once when the last write
 * is older than its interval or the buffer is full, else by a timer). Each batch is one O_APPEND write of whole
 * lines, so a kill leaves at most a torn last line, which readers skip. No file stays open
 * between batches (at most one batch per metric every flush interval, so reopening
 * costs nothing measurable): a run its caller never ends (a crashed trainer, a test's stand-in
 * for a dead process) holds no file handle for the garbage collector to close (DEP0137).
 */
class FileRunWriter implements FileActiveRun {
  readonly id: string;
  readonly dir: string;
  readonly location: string;
  readonly artifactsDir: string;
  readonly artifactUri: string;
  private info: RunInfo;
  private params: Record<string, ParamValue> = {};
  private readonly pending = new Map<string, string>();
  private pendingBytes = 0;
  private readonly knownKeys = new Set<string>();
  /** Last value logged per metric, written into run.json at end() (see run-files.ts). */
  private readonly lastValues = new Map<string, number>();
  /** Points logged per metric, written into run.json at end() beside the last values. */
  private readonly pointCounts = new Map<string, number>();
  private readonly flusher = new MetricFlusher(() => this.writePending());
  private ended = false;

  constructor(
    dir: string,
    info: RunInfo,
    private readonly clock: () => number,
    private readonly writeTags: (tags: Readonly<Record<string, string>>, remove?: readonly string[]) => Promise<unknown>,
  ) {
    this.id = info.id;
    this.dir = dir;
    this.location = dir;
    this.artifactsDir = join(dir, ARTIFACTS_DIR);
    this.artifactUri = this.artifactsDir;
    this.info = info;
  }

  async logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    this.assertOpen();
    const next = { ...this.params };
    let changed = false;
    for (const [key, value] of Object.entries(params)) {
      validateKey('param', key);
      if (!(value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))) {
        throw new UsageError('INVALID_PARAM_VALUE', `param "${key}" must be a string, a finite number, a boolean or null`);
      }
      if (key in next) {
        if (next[key] !== value) {
          throw new UsageError('PARAM_IMMUTABLE', `param "${key}" was already logged as ${JSON.stringify(next[key])}; params cannot change (got ${JSON.stringify(value)})`, {
            hint: 'log the new value under another key, or start a new run',
          });
        }
        continue;
      }
      next[key] = value;
      changed = true;
    }
    if (!changed) return;
    this.params = next;
    await writeJsonAtomic(join(this.dir, PARAMS_FILE), sortRecord(next));
  }

  async logMetrics(metrics: Readonly<Record<string, number>>, step: number): Promise<void> {
    this.assertOpen();
    if (!Number.isInteger(step) || step < 0) throw new UsageError('INVALID_METRIC_STEP', `metric step must be a whole number ≥ 0, got ${step}`);
    const timestamp = this.clock();
    for (const [key, value] of Object.entries(metrics)) {
      if (!this.knownKeys.has(key)) {
        validateKey('metric', key);
        this.knownKeys.add(key);
      }
      if (typeof value !== 'number') throw new UsageError('INVALID_METRIC_VALUE', `metric "${key}" must be a number`);
      this.lastValues.set(key, value);
      this.pointCounts.set(key, (this.pointCounts.get(key) ?? 0) + 1);
      const line = encodeMetricLine(step, value, timestamp);
      this.pending.set(key, (this.pending.get(key) ?? '') + line);
      this.pendingBytes += line.length;
    }
    await this.flusher.added(this.pendingBytes >= METRIC_FLUSH_BYTES);
  }

  /** Writes every pending point, in order after any flush under way, so lines never interleave. */
  flush(): Promise<void> {
    return this.flusher.flush();
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    this.pendingBytes = 0;
    await Promise.all(
      batch.map(async ([key, text]) => {
        try {
          await appendFile(join(this.dir, METRICS_DIR, `${key}${METRIC_SUFFIX}`), text);
        } catch (error) {
          // Put the lines back in order so that a later flush can retry them.
          this.pending.set(key, text + (this.pending.get(key) ?? ''));
          this.pendingBytes += text.length;
          throw error;
        }
      }),
    );
  }

  setTags(tags: Readonly<Record<string, string>>): Promise<void> {
    return this.writeTags(tags).then(() => undefined);
  }

  async updateInfo(patch: Partial<Pick<RunInfo, 'datasetSha256' | 'backend' | 'note' | 'task'>>): Promise<void> {
    const next: RunInfo = { ...this.info };
    const allowed = ['datasetSha256', 'backend', 'note', 'task'] as const;
    for (const key of allowed) if (patch[key] !== undefined) (next as { -readonly [K in keyof RunInfo]: RunInfo[K] })[key] = patch[key];
    this.info = next;
    await writeJsonAtomic(join(this.dir, RUN_FILE), this.runFile());
  }

  async end(status: Exclude<RunStatus, 'RUNNING'>): Promise<void> {
    if (this.ended) return;
    if (!['FINISHED', 'FAILED', 'KILLED'].includes(status)) throw new UsageError('INVALID_RUN_STATUS', `a run ends FINISHED, FAILED or KILLED, not ${String(status)}`);
    this.ended = true;
    try {
      await this.flush();
    } finally {
      this.info = { ...this.info, status, endTime: new Date(this.clock()).toISOString() };
      await writeJsonAtomic(join(this.dir, RUN_FILE), this.runFile());
    }
  }

  /** run.json's content: RunInfo, plus the final metrics and point counts once the run has ended. */
  private runFile(): RunInfo & { [FINAL_METRICS_FIELD]?: Record<string, number | string>; [METRIC_POINTS_FIELD]?: Record<string, number> } {
    if (this.info.status === 'RUNNING') return this.info;
    const sorted = [...this.lastValues].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const counts = [...this.pointCounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { ...this.info, [FINAL_METRICS_FIELD]: encodeFinalMetrics(Object.fromEntries(sorted)), [METRIC_POINTS_FIELD]: Object.fromEntries(counts) };
  }

  private assertOpen(): void {
    if (this.ended) throw new UsageError('RUN_ENDED', `run ${this.id} has ended; nothing more can be logged to it`);
  }
}

/**
 * Changes the experiment folder's mtime, which the derived index checks on every query
 * (run-index.ts): a change inside an existing run folder is then seen at once. Creating and
 * removing an entry updates the mtime with the kernel's own clock.
 */
async function touchExperiment(location: RunLocation): Promise<void> {
  const marker = join(location.dir, '..', `.touch-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(marker);
    await rmdir(marker);
  } catch {
    // Best effort: the index's periodic full sweep catches the change anyway.
  }
}

function sortRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

