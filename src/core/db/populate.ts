import { UsageError } from '../errors.js';
import { readDatasetFile } from '../datasets/csv-reader.js';
import type { DatasetSpec } from '../datasets/dataset-spec.js';
import { ensureDataset, type DatasetStoreOptions } from '../datasets/dataset-store.js';
import type { Database, RowValues } from './database.js';
import { USER_ATTRIBUTE_COLUMNS, type UsersTable } from './schema.js';
import { validateNewUser } from './user-validation.js';
import type { Insertable } from 'kysely';

export type PopulateSplit = 'train' | 'test' | 'all';

export interface PopulateOptions {
  readonly spec: DatasetSpec;
  /** Default 'all'. */
  readonly split?: PopulateSplit;
  /** At most this many rows per split. */
  readonly limit?: number;
  /** Delete this dataset's populated rows (for the chosen splits) first; users added by hand stay. */
  readonly replace?: boolean;
  /** Where datasets live (<dataDir>/raw/<dataset>), an offline mirror, and how to open s3:// sources. */
  readonly dataDir: string;
  readonly mirror?: string;
  readonly openRemote?: DatasetStoreOptions['openRemote'];
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: PopulateProgress) => void;
  readonly now?: () => Date;
}

export interface PopulateProgress {
  readonly phase: 'reading' | 'inserting';
  readonly split: 'train' | 'test';
  readonly done: number;
  readonly total: number;
}

export interface PopulateSplitResult {
  readonly split: 'train' | 'test';
  readonly file: string;
  readonly rows: number;
  readonly inserted: number;
  /** Rows already present from an earlier populate (same dataset, split and row number). */
  readonly skipped: number;
}

export interface PopulateResult {
  readonly dataset: string;
  readonly splits: readonly PopulateSplitResult[];
  readonly inserted: number;
  readonly skipped: number;
  readonly deleted: number;
  readonly durationMs: number;
}

/** Rows between progress reports and abort checks. */
const BATCH_ROWS = 2_000;

type UserRow = Insertable<UsersTable> & RowValues;

/**
 * Fills `users` from a census dataset (Adult: `income`). Every row is validated first and
 * all rows go in one transaction, so bad data writes nothing. Each row's source key
 * "<dataset>:<split>:<row>" is unique: re-running inserts only what is missing.
 */
export async function populateUsers(database: Database, options: PopulateOptions): Promise<PopulateResult> {
  const started = performance.now();
  const { spec } = options;
  const missingColumns = USER_ATTRIBUTE_COLUMNS.filter((column) => !spec.columns.some((c) => c.name === column));
  if (missingColumns.length > 0) {
    throw new UsageError('POPULATE_DATASET_UNSUITABLE', `dataset "${spec.name}" does not hold census records: it lacks ${missingColumns.join(', ')}`, {
      hint: 'use --dataset income',
    });
  }
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new UsageError('POPULATE_LIMIT_INVALID', `--limit must be a whole number of at least 1, got ${options.limit}`);
  }
  const splits: ('train' | 'test')[] = options.split === undefined || options.split === 'all' ? ['train', 'test'] : [options.split];
  const local = await ensureDataset(spec, { dataDir: options.dataDir, mirror: options.mirror, openRemote: options.openRemote, signal: options.signal });

  // Read and validate everything before opening the transaction.
  const prepared: { split: 'train' | 'test'; file: string; rows: UserRow[] }[] = [];
  const problems: string[] = [];
  const at = (options.now ?? (() => new Date()))().toISOString();
  for (const split of splits) {
    const file = local.file(split);
    if (file === undefined) throw new UsageError('POPULATE_SPLIT_MISSING', `dataset "${spec.name}" has no ${split} file`, { hint: 'use --split with a split it has' });
    const fileSpec = spec.files.find((f) => f.name === file.name);
    const table = await readDatasetFile(file.path, spec, fileSpec);
    const records = options.limit === undefined ? table.records : table.records.slice(0, options.limit);
    const rows: UserRow[] = [];
    records.forEach((record, index) => {
      const result = validateNewUser(record);
      if (!result.ok) {
        if (problems.length < 20) problems.push(...result.problems.map((p) => `${file.name} row ${index + 1}: ${p}`));
        return;
      }
      // The validated object is ours (a fresh copy): extend it rather than copy it again.
      rows.push(Object.assign(result.value, { source: `${spec.name}:${split}:${index + 1}`, created_at: at, updated_at: at }) as UserRow);
    });
    options.onProgress?.({ phase: 'reading', split, done: records.length, total: records.length });
    prepared.push({ split, file: file.name, rows });
  }
  if (problems.length > 0) {
    throw new UsageError('POPULATE_INVALID_ROWS', `dataset "${spec.name}" has rows that are not valid users; nothing was written`, { problems });
  }

  const { splits: results, deleted } = await database.db.transaction().execute(async (trx) => {
    let deleted = 0;
    if (options.replace === true) {
      for (const { split } of prepared) {
        const result = await trx.deleteFrom('users').where('source', 'like', `${spec.name}:${split}:%`).executeTakeFirst();
        deleted += Number(result.numDeletedRows);
      }
    }
    const splitResults: PopulateSplitResult[] = [];
    for (const { split, file, rows } of prepared) {
      let inserted = 0;
      for (let start = 0; start < rows.length; start += BATCH_ROWS) {
        options.signal?.throwIfAborted();
        inserted += await database.insertRows(trx, 'users', rows.slice(start, start + BATCH_ROWS), { skipConflictsOn: 'source' });
        options.onProgress?.({ phase: 'inserting', split, done: Math.min(start + BATCH_ROWS, rows.length), total: rows.length });
        // SQLite inserts are synchronous: yield so a spinner can draw and Ctrl-C can land.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      splitResults.push({ split, file, rows: rows.length, inserted, skipped: rows.length - inserted });
    }
    return { splits: splitResults, deleted };
  });
  return {
    dataset: spec.name,
    splits: results,
    inserted: results.reduce((sum, r) => sum + r.inserted, 0),
    skipped: results.reduce((sum, r) => sum + r.skipped, 0),
    deleted,
    durationMs: Math.round(performance.now() - started),
  };
}
