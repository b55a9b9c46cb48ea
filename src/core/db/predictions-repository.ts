import type { Kysely, Selectable } from 'kysely';
import { sha256 } from '../fs/hash.js';
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
