/**
 * The tracking seam: one store for runs, their queries and artifacts, and the model registry,
 * with a backend per kind of place it can live, side by side as Kysely keeps its dialects:
 *
 *   file-tracking-store.ts   the files-plus-derived-SQLite-index store under a runs folder
 *                            (the default; bundles live in the run folders)
 *   sql/sql-tracking-store.ts  tables in PostgreSQL (or SQLite) through Kysely, artifacts in
 *                            any ArtifactStore (a folder, s3://)
 *
 * `openTrackingStore` (open-tracking-store.ts) picks one from MLCTL_TRACKING_URI. Commands and
 * core code above the seam take a TrackingStore (or the narrow part of it they use) and never
 * a folder, a database URL, an S3 client or an s3:// string.
 */
import type { AuditEntry, ModelRegistry, RegisteredModel } from '../registry/model-registry.js';
import type { FilterExpression, OrderTerm } from './run-filter.js';
import type { MetricPoint, RunInfo, RunRecord, RunStore } from './run-store.js';
import type { Leftover } from './store-leftovers.js';

export type Lifecycle = 'active' | 'deleted' | 'all';

export interface RunQuery {
  readonly experiment?: string;
  readonly filter?: FilterExpression;
  /** The filter's source text, for errors that point into it. */
  readonly filterSource?: string;
  readonly orderBy?: readonly OrderTerm[];
  /** 0 or undefined: no limit. */
  readonly limit?: number;
  readonly lifecycle?: Lifecycle;
}

/** What a store did to answer a query, for a debug line or a warning. */
export interface QueryNotes {
  /** The derived index was rebuilt from the files first (how many runs it read). */
  readonly rebuiltIndex?: number;
  /** Runs that could not be read (see `runs verify`). */
  readonly unreadable?: number;
}

export interface RunQueryResult {
  readonly runs: readonly RunRecord[];
  /** Matching runs before the limit. */
  readonly total: number;
  readonly notes?: QueryNotes;
}

/** A run named by a command: its full id and experiment. */
export interface RunRef {
  readonly id: string;
  readonly experiment: string;
}

export type RunKeyKind = 'metric' | 'param' | 'tag';

/** A metric, param or tag key, as a filter names it. */
export interface RunKey {
  readonly kind: RunKeyKind;
  readonly key: string;
}

/** Queries and changes behind `mlctl runs …`. Runs may be named by id, unambiguous id prefix or name. */
export interface RunCatalog {
  queryRuns(query: RunQuery): Promise<RunQueryResult>;
  /**
   * Of these keys, those no run (deleted ones too) has: a filter naming one is a typo more
   * often than a question with no answer. None when the store holds no run at all.
   */
  unknownKeys(keys: readonly RunKey[]): Promise<readonly RunKey[]>;
  /** The metric, param or tag keys at least one run (deleted ones too) has, sorted. */
  knownKeys(kind: RunKeyKind): Promise<readonly string[]>;
  /** Every metric history of a run by key, sorted by key (a history with no point yet is empty). */
  getMetricHistories(id: string): Promise<Readonly<Record<string, readonly MetricPoint[]>>>;
  /** Sets (and with `remove`, deletes) tags on any run, finished or not. Returns the new tags. */
  setTags(id: string, tags: Readonly<Record<string, string>>, remove?: readonly string[]): Promise<{ readonly run: RunRef; readonly tags: Record<string, string> }>;
  /** Sets (or with null, clears) the note of a run that has ended. */
  setNote(id: string, note: string | null): Promise<RunRef>;
  /** Soft delete: hidden from lists until `gc` purges it. */
  deleteRun(id: string): Promise<RunRef>;
  restoreRun(id: string): Promise<RunRef>;
  listExperiments(): Promise<string[]>;
}

/** One artifact of a run, relative to its artifacts folder ("model/manifest.json"). */
export interface RunArtifact {
  readonly path: string;
  readonly size: number;
}

export interface FetchBundleOptions {
  /**
   * The SHA-256 a registered version recorded for the bundle's manifest.json: a bundle whose
   * manifest differs is refused (GateError BUNDLE_CHANGED, exit 4).
   */
  readonly expectedManifestSha256?: string;
  readonly signal?: AbortSignal;
}

/** A run's files: listed, read, and its model bundle brought to this machine. */
export interface RunArtifacts {
  listArtifacts(id: string): Promise<readonly RunArtifact[]>;
  /** One artifact's bytes ("test-predictions.csv"), or null when the run has no such artifact. */
  readArtifact(id: string, path: string): Promise<Uint8Array | null>;
  /**
   * A local folder holding the run's model bundle, complete: where the artifacts are
   * remote, it is downloaded into a local cache and every file checked against the SHA-256
   * its manifest lists before the folder is used. NotFoundError RUN_HAS_NO_BUNDLE.
   */
  fetchBundle(id: string, options?: FetchBundleOptions): Promise<string>;
}

export interface StoreProblem {
  /** A path relative to the store's root, or what the problem is about ("run 01ab…"). */
  readonly path: string;
  readonly problem: string;
}

export interface VerifyReport {
  /** The store's location. */
  readonly root: string;
  readonly runs: number;
  readonly metricFiles: number;
  readonly bundles: number;
  readonly artifactFiles: number;
  /** What is wrong: exit 4. */
  readonly damage: readonly StoreProblem[];
  /** Expected after crashes and harmless to readers (torn metric tails, dead runs, leftovers). */
  readonly warnings: readonly StoreProblem[];
  /** Temporary files and folders of interrupted writes (file store), which `runs gc` removes. */
  readonly leftovers: readonly Leftover[];
}

export interface VerifyOptions {
  /** Progress per run checked. */
  readonly onRun?: (checked: number) => void;
  /** A run younger than this that is not complete yet is being created, not damaged (ms). */
  readonly graceMs?: number;
}

export interface GcResult {
  readonly purged: readonly RunRef[];
  /** Deleted runs kept because a registered model version uses them, or they still run. */
  readonly kept: readonly (RunRef & { readonly reason: string })[];
  /** Temporary files and folders of interrupted writes, removed (or, in a dry run, to remove). */
  readonly leftovers: readonly Leftover[];
  /** Temporary files still being written by a live process: left alone. */
  readonly inUse: readonly Leftover[];
  readonly dryRun: boolean;
}

/** `runs verify` and `runs gc`. */
export interface StoreMaintenance {
  /** Checks everything the store holds (and what the registry points at); see VerifyReport. */
  verify(options?: VerifyOptions): Promise<VerifyReport>;
  /**
   * Purges soft-deleted runs for good (with their artifacts), except those a registered
   * version points at, and what interrupted writes left behind. `dryRun` only says what.
   */
  gc(options?: { readonly dryRun?: boolean }): Promise<GcResult>;
}

/** A run exactly as another store recorded it, for `mlctl tracking import`. */
export interface ImportedRun {
  readonly info: RunInfo;
  readonly params: RunRecord['params'];
  readonly tags: RunRecord['tags'];
  /** The last value of each metric, as the source lists it. */
  readonly metrics: RunRecord['metrics'];
  readonly histories: Readonly<Record<string, readonly MetricPoint[]>>;
  /** When it was soft-deleted, or null. */
  readonly deletedTime: string | null;
  /** A local folder holding the run's artifacts (its bundle is `model/`), or null when it has none. */
  readonly artifactsDir: string | null;
  /** When its experiment was created, as the source recorded it. */
  readonly experimentCreated: string | null;
}

/** A store that can take in runs and models as another store recorded them (same ids, times, numbers). */
export interface TrackingImporter {
  /**
   * Stores the run (artifacts first, then its rows in one transaction). Returns false, and
   * changes nothing, when the store already holds a run with this id: importing twice adds nothing.
   */
  importRun(run: ImportedRun, options?: { readonly signal?: AbortSignal }): Promise<boolean>;
  /**
   * Stores a registered model with its versions, aliases and audit log. 'present' when the
   * store holds the same model already (same versions and aliases); GateError
   * TRACKING_IMPORT_CONFLICT (exit 4) when it holds a different one, naming the differences.
   */
  importModel(model: RegisteredModel, audit: readonly AuditEntry[]): Promise<'imported' | 'present'>;
}

/** A tracking backend: runs, their catalog and artifacts, maintenance, and the model registry. */
export interface TrackingStore extends RunStore, RunCatalog, RunArtifacts, StoreMaintenance {
  /** Which backend this is, for messages and `--json` ("files", "postgres", "sqlite"). */
  readonly backend: string;
  readonly registry: ModelRegistry;
  /** Where new runs' artifacts go (a folder or an s3:// URI), for messages. */
  readonly artifactLocation: string;
  /** Present on stores `mlctl tracking import` can copy a file store into (the SQL store). */
  readonly importer?: TrackingImporter;
  /** Releases connections; the store is unusable afterwards. Safe to call twice. */
  close(): Promise<void>;
}
