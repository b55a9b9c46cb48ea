import type { Generated } from 'kysely';

/**
 * The tracking store's tables as Kysely sees them; migrations/ creates them. Kept apart from
 * the user database's (`core/db/schema.ts`) and migrated on its own (`mlctl tracking
 * migrate`, bookkeeping in `mlctl_tracking_migrations`), so both may share one database.
 * Times used in queries are milliseconds since the epoch (double precision); the ISO texts
 * runs were recorded with are kept beside them, so every backend prints the same run.
 */
export interface TrackingSchema {
  tracking_experiments: ExperimentsTable;
  tracking_runs: RunsTable;
  tracking_params: ParamsTable;
  tracking_tags: TagsTable;
  tracking_metric_points: MetricPointsTable;
  tracking_latest_metrics: LatestMetricsTable;
  registry_models: RegistryModelsTable;
  registry_versions: RegistryVersionsTable;
  registry_aliases: RegistryAliasesTable;
  registry_audit: RegistryAuditTable;
}

export interface ExperimentsTable {
  name: string;
  created_time: string;
}

export interface RunsTable {
  id: string;
  experiment: string;
  name: string;
  /** As recorded: a RUNNING run whose process died is shown FAILED (see effectiveStatus). */
  status: string;
  start_ms: number;
  start_text: string;
  end_ms: number | null;
  end_text: string | null;
  /** Seconds, for `duration` filters. */
  duration: number | null;
  pid: number;
  host: string;
  user_name: string;
  git_commit: string | null;
  command_line: string;
  task: string | null;
  dataset: string | null;
  backend: string | null;
  note: string | null;
  /** Set by `runs delete` (soft), cleared by `runs restore`. */
  deleted_time: string | null;
  /** Where the run's artifacts are kept: <artifact root>/<experiment>/<id>/artifacts. */
  artifact_uri: string;
  /** SHA-256 of the bundle's manifest.json, set once the whole bundle is stored. */
  bundle_sha256: string | null;
}

export interface ParamsTable {
  run_id: string;
  key: string;
  /** The value as JSON (string, number, boolean or null). */
  json: string;
  /** The value as text, for text comparisons ('null' for null). */
  text: string;
  /** The value as a number when it is one (or a numeric string), for numeric comparisons. */
  num: number | null;
}

export interface TagsTable {
  run_id: string;
  key: string;
  value: string;
  num: number | null;
}

export interface MetricPointsTable {
  run_id: string;
  key: string;
  /** 0, 1, 2… per run and key, in the order the points were logged. */
  seq: number;
  step: number | string;
  /** null when the value is not finite; then `special` holds NaN, Infinity or -Infinity. */
  value: number | null;
  special: string | null;
  timestamp: number;
}

export interface LatestMetricsTable {
  run_id: string;
  key: string;
  /** The last value logged, null when it is not finite (as the file store's index keeps it). */
  value: number | null;
  special: string | null;
  step: number | string;
  timestamp: number;
  /** Points logged for this key: the history must hold as many (`runs verify`). */
  points: number;
}

export interface RegistryModelsTable {
  name: string;
  description: string | null;
  created_time: string;
  updated_time: string;
  /** The next version number to hand out; only ever grows, so numbers are never reused. */
  next_version: number;
}

export interface RegistryVersionsTable {
  model: string;
  version: number;
  run_id: string;
  experiment: string;
  source: string;
  manifest_sha256: string;
  description: string | null;
  created_time: string;
  user_name: string;
  /** Deleted versions keep their row (and so their number). */
  deleted_time: string | null;
}

export interface RegistryAliasesTable {
  model: string;
  alias: string;
  version: number;
}

export interface RegistryAuditTable {
  id: Generated<number>;
  model: string;
  time: string;
  user_name: string;
  action: string;
  version: number | null;
  alias: string | null;
  /** The value before and after, as JSON (a version number, a run source, or null). */
  old_json: string;
  new_json: string;
}
