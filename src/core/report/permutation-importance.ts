import type { DataRecord } from '../datasets/dataset-spec.js';
import { createRng, shuffleInPlace } from '../random.js';

export interface ImportanceRow {
  readonly column: string;
  /** The metric with this column shuffled (mean over repeats). */
  readonly permuted: number;
  /** baseline − permuted: how much the model relies on the column. Near 0 or negative: not at all. */
  readonly drop: number;
}

export interface PermutationImportance {
  /** "auc" or "r2": higher is better for both, so a drop is a loss. */
  readonly metric: string;
  readonly baseline: number;
  readonly seed: number;
  readonly repeats: number;
  readonly rows: number;
  /** Largest drop first. */
  readonly columns: readonly ImportanceRow[];
}

export interface PermutationImportanceOptions {
  readonly records: readonly DataRecord[];
  readonly yTrue: ArrayLike<number>;
  /** Input columns to shuffle, one at a time. */
  readonly columns: readonly string[];
  /** The model's raw outputs for records (the predictor's `score`). */
  readonly score: (records: readonly DataRecord[]) => Promise<Float32Array>;
  /** Name and function of a higher-is-better metric: AUC for classifiers, R² for regressions. */
  readonly metric: { readonly name: string; readonly compute: (yTrue: ArrayLike<number>, scores: Float32Array) => number };
  readonly seed?: number;
  readonly repeats?: number;
  /** Called after each column, for progress. */
  readonly onColumn?: (column: string, done: number, total: number) => void;
}

/**
 * Permutation feature importance (Breiman): shuffle one input column across the rows,
 * breaking its link to the target while keeping its distribution, and measure how much
 * the metric falls. Seeded, so the same model and rows always give the same table.
 */
export async function permutationImportance(options: PermutationImportanceOptions): Promise<PermutationImportance> {
  const seed = options.seed ?? 42;
  const repeats = Math.max(1, options.repeats ?? 1);
  const rng = createRng(seed);
  const baseline = options.metric.compute(options.yTrue, await options.score(options.records));
  const n = options.records.length;
  const rows: ImportanceRow[] = [];
  let done = 0;
  for (const column of options.columns) {
    let total = 0;
    for (let r = 0; r < repeats; r++) {
      const order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      shuffleInPlace(order, rng);
      const shuffled = options.records.map((record, i) => ({ ...record, [column]: options.records[order[i]!]![column] ?? null }));
      total += options.metric.compute(options.yTrue, await options.score(shuffled));
    }
    const permuted = total / repeats;
    rows.push({ column, permuted, drop: baseline - permuted });
    options.onColumn?.(column, ++done, options.columns.length);
  }
  rows.sort((a, b) => b.drop - a.drop);
  return { metric: options.metric.name, baseline, seed, repeats, rows: n, columns: rows };
}
