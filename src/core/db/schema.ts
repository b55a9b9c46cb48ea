import type { ColumnType, Generated } from 'kysely';

/**
 * The tables mlctl's migrations create, as Kysely sees them. Keep in step with
 * migrations/: a migration changes the database, this file changes what the code expects.
 */
export interface MlctlSchema {
  users: UsersTable;
  predictions: PredictionsTable;
  drift_histograms: DriftHistogramsTable;
  mlctl_migrations: MigrationsTable;
  mlctl_migration_events: MigrationEventsTable;
}

/** The census attributes of one person (the seed's user model), in Adult's column names. */
export interface UserAttributes {
  age: number;
  workclass: string | null;
  fnlwgt: number;
  education: string;
  education_num: number;
  marital_status: string;
  occupation: string | null;
  relationship: string;
  race: string;
  sex: string;
  capital_gain: number;
  capital_loss: number;
  hours_per_week: number;
  native_country: string | null;
}

export interface UsersTable extends UserAttributes {
  id: Generated<number>;
  /** The observed label (">50K" / "<=50K") when the row came from a dataset. */
  income: string | null;
  /** "<dataset>:<split>:<row>" for populated rows, so re-populating adds no duplicates. */
  source: string | null;
  created_at: string;
  updated_at: string;
}

export interface PredictionsTable {
  id: Generated<number>;
  user_id: number | null;
  model_name: string;
  model_version: string;
  /** SHA-256 of the canonical JSON of the model's input. */
  input_hash: string;
  label: string;
  probability: number | null;
  latency_ms: number;
  created_at: ColumnType<string, string | undefined, never>;
}

/**
 * One bin of one input (or of the output, feature "(output)") of a model version's served
 * traffic in one window: how many records fell in it. Zero counts are not stored.
 */
export interface DriftHistogramsTable {
  model_name: string;
  model_version: string;
  /** The window is [window_start, window_end), ISO times aligned to multiples of its length. */
  window_start: string;
  window_end: string;
  feature: string;
  /** The bin's index in the profile's order for this input ("other" and "missing" last). */
  bin: number;
  /** Bins this input has in the profile, so a reader can rebuild the zero bins. */
  feature_bins: number;
  /** PostgreSQL's bigint arrives as a string. */
  records: ColumnType<number | string, number, number>;
}

export interface MigrationsTable {
  name: string;
  checksum: string;
  applied_at: string;
  duration_ms: number;
}

export interface MigrationEventsTable {
  id: Generated<number>;
  name: string;
  /** 'up', 'down' or 'checksum-accepted' (migrate --force over an edited migration). */
  action: string;
  checksum: string;
  at: string;
  duration_ms: number;
}

/** The columns of `users` that describe a person, in the order tables show them. */
export const USER_ATTRIBUTE_COLUMNS = [
  'age',
  'workclass',
  'fnlwgt',
  'education',
  'education_num',
  'marital_status',
  'occupation',
  'relationship',
  'race',
  'sex',
  'capital_gain',
  'capital_loss',
  'hours_per_week',
  'native_country',
] as const satisfies readonly (keyof UserAttributes)[];
