import type { Kysely, Selectable } from 'kysely';
import { sha256 } from '../fs/hash.js';
import { formatDuration, parseDuration } from '../text/durations.js';
import type { MlctlSchema, PredictionsTable } from './schema.js';

/** One served prediction, as the serving daemon reports it. */
export interface PredictionRecord {
  /** The stored user the input came from, if any. */
  readonly userId?: number | null;
  readonly modelName: string;
  readonly modelVersion: string;
  /** hashPredictionInput(input): identical inputs share a hash. */
  readonly inputHash: string;
  readonly label: string;
  readonly probability?: number | null;
  readonly latencyMs: number;
  /** ISO time; default now. */
  readonly createdAt?: string;
}

export { parseDuration } from '../text/durations.js';

export type StoredPrediction = Selectable<PredictionsTable>;

/** Rows per INSERT: 9 parameters each stays far below every dialect's parameter limit. */
const BATCH_ROWS = 500;

/**
 * Inserts predictions in one transaction, in multi-row batches, and returns how many were
 * written. The serving daemon buffers predictions and calls this periodically; a row the
 * CHECK constraints reject (probability outside 0..1, negative latency) fails the whole call.
 */
export async function recordPredictions(db: Kysely<MlctlSchema>, rows: readonly PredictionRecord[], now: () => Date = () => new Date()): Promise<number> {
  if (rows.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    let written = 0;
    for (let start = 0; start < rows.length; start += BATCH_ROWS) {
      const values = rows.slice(start, start + BATCH_ROWS).map((row) => ({
        user_id: row.userId ?? null,
        model_name: row.modelName,
        model_version: row.modelVersion,
        input_hash: row.inputHash,
        label: row.label,
        probability: row.probability ?? null,
        latency_ms: row.latencyMs,
        created_at: row.createdAt ?? now().toISOString(),
      }));
      const result = await trx.insertInto('predictions').values(values).executeTakeFirst();
      written += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    return written;
  });
}

/** The most recent predictions, newest first, optionally for one user or model. */
export async function listPredictions(
  db: Kysely<MlctlSchema>,
  options: { readonly userId?: number; readonly modelName?: string; readonly limit?: number } = {},
): Promise<StoredPrediction[]> {
  let query = db.selectFrom('predictions').selectAll();
  if (options.userId !== undefined) query = query.where('user_id', '=', options.userId);
  if (options.modelName !== undefined) query = query.where('model_name', '=', options.modelName);
  return query.orderBy('id', 'desc').limit(options.limit ?? 100).execute();
}

/** SHA-256 of the input's JSON with keys sorted, so the same input always hashes the same. */
export function hashPredictionInput(input: object): string {
  const record = input as Readonly<Record<string, unknown>>;
  const sorted = Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]]));
  return sha256(JSON.stringify(sorted));
}

/**
 * How long stored predictions are kept: rows older than `maxAgeMs`, and rows beyond the
 * newest `maxRows`, are removed. Either may be left out; neither means forever.
 */
export interface PredictionRetention {
  readonly maxAgeMs?: number;
  readonly maxRows?: number;
}

export interface PruneOptions {
  /** Rows per DELETE (default 1,000): each is a short statement, so writers are never held up long. */
  readonly batchRows?: number;
  readonly now?: () => Date;
  /** Awaited between batches: the serving daemon yields to requests there. */
  readonly between?: () => Promise<void>;
  /**
   * 'whole-table' (default) looks at every row, in primary-key windows. 'oldest-first'
   * stops at the first window with no row old enough: the serving daemon appends rows as it
   * answers, so ids grow with time and the old rows are a prefix; a straggler behind a
   * younger window waits for a later pass.
   */
  readonly scan?: 'whole-table' | 'oldest-first';
}

export interface PruneResult {
  /** Rows removed for their age. */
  readonly byAge: number;
  /** Rows removed beyond the row limit. */
  readonly byCount: number;
}

/**
 * Removes predictions outside `retention` in batches over primary-key windows, so no
 * statement scans the table or holds a lock for long (created_at has no index of its own).
 */
export async function prunePredictions(db: Kysely<MlctlSchema>, retention: PredictionRetention, options: PruneOptions = {}): Promise<PruneResult> {
  const batch = options.batchRows ?? 1_000;
  const between = options.between ?? (() => Promise.resolve());
  let byAge = 0;
  let byCount = 0;
  if (retention.maxAgeMs !== undefined) {
    const cutoff = new Date((options.now ?? (() => new Date()))().getTime() - retention.maxAgeMs).toISOString();
    // Ids start at 1 in both dialects (and PostgreSQL's serial is a 32-bit integer).
    let after = 0;
    for (;;) {
      const window = await db.selectFrom('predictions').select('id').where('id', '>', after).orderBy('id').limit(batch).execute();
      const last = window.at(-1)?.id;
      if (last === undefined) break;
      const result = await db.deleteFrom('predictions').where('id', '>', after).where('id', '<=', last).where('created_at', '<', cutoff).executeTakeFirst();
      const deleted = Number(result.numDeletedRows);
      byAge += deleted;
      after = last;
      if (window.length < batch || (deleted === 0 && options.scan === 'oldest-first')) break;
      await between();
    }
  }
  if (retention.maxRows !== undefined) {
    const boundary = await db.selectFrom('predictions').select('id').orderBy('id', 'desc').limit(1).offset(retention.maxRows).executeTakeFirst();
    if (boundary !== undefined) {
      for (;;) {
        const result = await db
          .deleteFrom('predictions')
          .where('id', 'in', db.selectFrom('predictions').select('id').where('id', '<=', boundary.id).orderBy('id').limit(batch))
          .executeTakeFirst();
        const deleted = Number(result.numDeletedRows);
        byCount += deleted;
        if (deleted < batch) break;
        await between();
      }
    }
  }
  return { byAge, byCount };
}

/**
 * A retention setting: a duration ("30d"), a row count ("1000000", underscores allowed),
 * both separated by a comma ("30d,1000000": whichever removes more), or "forever".
 * Returns the problem as a string when the text is not one.
 */
export function parseRetention(text: string): PredictionRetention | string {
  const value = text.trim().toLowerCase();
  if (value === 'forever' || value === 'off' || value === 'none') return {};
  let retention: { maxAgeMs?: number; maxRows?: number } = {};
  for (const part of value.split(',').map((p) => p.trim())) {
    const duration = parseDuration(part);
    if (duration !== undefined) {
      if (retention.maxAgeMs !== undefined) return `"${text}" gives two durations`;
      retention = { ...retention, maxAgeMs: duration };
      continue;
    }
    const rows = /^\d[\d_]*$/.test(part) ? Number(part.replaceAll('_', '')) : Number.NaN;
    if (!Number.isSafeInteger(rows) || rows < 1) return `"${part}" is neither a duration (30d, 12h, 90m, 45s, 2w) nor a row count (1000000)`;
    if (retention.maxRows !== undefined) return `"${text}" gives two row counts`;
    retention = { ...retention, maxRows: rows };
  }
  return retention;
}

/** A retention as flags and logs show it: "30d, 1000000 rows", "forever". */
export function describeRetention(retention: PredictionRetention): string {
  const parts: string[] = [];
  if (retention.maxAgeMs !== undefined) parts.push(formatDuration(retention.maxAgeMs));
  if (retention.maxRows !== undefined) parts.push(`${retention.maxRows} rows`);
  return parts.length === 0 ? 'forever' : parts.join(', ');
}
