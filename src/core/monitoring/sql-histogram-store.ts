/**
 * The HistogramStore of `serve` and `monitor drift --since`: the `drift_histograms` table
 * (migration 0003) on either dialect. One row per model, version, window, input (or
 * OUTPUT_KEY) and bin, holding how many records fell in that bin; bins no record fell in
 * are not stored, and each row says how many bins its input has, so a window reads back
 * whole. Appending adds to rows already there (an upsert): every serving process of a
 * model version, and a server restarted within a window, add into the same rows.
 */
import type { Insertable, Kysely } from 'kysely';
import type { MlctlSchema } from '../db/schema.js';
import type { HistogramQuery, HistogramStore, HistogramWindow } from './histogram-store.js';

/** Rows per INSERT: 8 parameters each stays far below every dialect's parameter limit. */
const BATCH_ROWS = 500;

export interface PruneHistogramsOptions {
  readonly now?: () => Date;
  /** Rows per DELETE, about (default 1,000): short statements that never hold writers up for long. */
  readonly batchRows?: number;
  /** Awaited between statements: the serving daemon yields to requests there. */
  readonly between?: () => Promise<void>;
}

export function createSqlHistogramStore(db: Kysely<MlctlSchema>): HistogramStore {
  return {
    append: (window) => appendHistogramWindow(db, window),
    windows: (query) => readHistogramWindows(db, query),
  };
}

/** Adds a window's non-zero counts to the table in one transaction. */
export async function appendHistogramWindow(db: Kysely<MlctlSchema>, window: HistogramWindow): Promise<void> {
  const rows: Insertable<MlctlSchema['drift_histograms']>[] = [];
  const start = window.start.toISOString();
  const end = window.end.toISOString();
  for (const [feature, bins] of Object.entries(window.counts)) {
    for (let bin = 0; bin < bins.length; bin++) {
      const records = bins[bin]!;
      if (records > 0) rows.push({ model_name: window.model, model_version: window.version, window_start: start, window_end: end, feature, bin, feature_bins: bins.length, records });
    }
  }
  if (rows.length === 0) return;
  await db.transaction().execute(async (trx) => {
    for (let from = 0; from < rows.length; from += BATCH_ROWS) {
      await trx
        .insertInto('drift_histograms')
        .values(rows.slice(from, from + BATCH_ROWS))
        .onConflict((oc) =>
          oc
            .columns(['model_name', 'model_version', 'window_start', 'window_end', 'feature', 'bin'])
            .doUpdateSet((eb) => ({ records: eb('drift_histograms.records', '+', eb.ref('excluded.records')) })),
        )
        .execute();
    }
  });
}

/**
 * Windows starting in [from, to), oldest first (then by version). A window's `rows` is the
 * records it binned: each record counts once in every input, so any input's total.
 */
export async function readHistogramWindows(db: Kysely<MlctlSchema>, query: HistogramQuery): Promise<HistogramWindow[]> {
  let select = db
    .selectFrom('drift_histograms')
    .select(['model_version', 'window_start', 'window_end', 'feature', 'bin', 'feature_bins', 'records'])
    .where('model_name', '=', query.model)
    .where('window_start', '>=', query.from.toISOString())
    .where('window_start', '<', query.to.toISOString());
  if (query.version !== undefined) select = select.where('model_version', '=', query.version);
  const rows = await select.orderBy('window_start').orderBy('model_version').orderBy('window_end').execute();

  const windows: HistogramWindow[] = [];
  let current: { version: string; start: string; end: string; counts: Record<string, number[]> } | undefined;
  const finish = (): void => {
    if (current === undefined) return;
    let records = 0;
    for (const bins of Object.values(current.counts)) records = Math.max(records, bins.reduce((a, b) => a + b, 0));
    windows.push({ model: query.model, version: current.version, start: new Date(current.start), end: new Date(current.end), rows: records, counts: current.counts });
  };
  for (const row of rows) {
    if (current === undefined || current.version !== row.model_version || current.start !== row.window_start || current.end !== row.window_end) {
      finish();
      current = { version: row.model_version, start: row.window_start, end: row.window_end, counts: {} };
    }
    let bins = current.counts[row.feature];
    if (bins === undefined || bins.length < row.feature_bins) {
      const grown = new Array<number>(row.feature_bins).fill(0);
      if (bins !== undefined) for (let i = 0; i < bins.length; i++) grown[i] = bins[i]!;
      bins = grown;
      current.counts[row.feature] = bins;
    }
    bins[row.bin] = (bins[row.bin] ?? 0) + Number(row.records);
  }
  finish();
  return windows;
}

/**
 * Deletes the windows that started more than `maxAgeMs` ago, oldest first, in statements of
 * about `batchRows` rows (whole windows: a window is never half deleted). Returns the rows deleted.
 */
export async function pruneHistograms(db: Kysely<MlctlSchema>, maxAgeMs: number, options: PruneHistogramsOptions = {}): Promise<number> {
  const cutoff = new Date((options.now ?? (() => new Date()))().getTime() - maxAgeMs).toISOString();
  const batch = options.batchRows ?? 1_000;
  const between = options.between ?? (() => Promise.resolve());
  let deleted = 0;
  for (;;) {
    // The start of the batch-th oldest row: deleting up to it takes about a batch of rows.
    const boundary = await db
      .selectFrom('drift_histograms')
      .select('window_start')
      .where('window_start', '<', cutoff)
      .orderBy('window_start')
      .limit(1)
      .offset(batch - 1)
      .executeTakeFirst();
    const result = await (boundary === undefined
      ? db.deleteFrom('drift_histograms').where('window_start', '<', cutoff)
      : db.deleteFrom('drift_histograms').where('window_start', '<=', boundary.window_start)
    ).executeTakeFirst();
    deleted += Number(result.numDeletedRows);
    if (boundary === undefined) return deleted;
    await between();
  }
}
