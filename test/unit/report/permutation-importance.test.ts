import { describe, expect, it } from 'vitest';
import type { DataRecord } from '../../../src/core/datasets/dataset-spec.js';
import { rocAuc } from '../../../src/core/metrics/classification.js';
import { permutationImportance } from '../../../src/core/report/permutation-importance.js';

// A model that reads only `signal`: shuffling `noise` cannot change a single score.
const records: DataRecord[] = Array.from({ length: 200 }, (_, i) => ({ signal: i % 2 === 0 ? i / 200 : 1 - i / 200, noise: (i * 37) % 11 }));
const yTrue = Float32Array.from(records, (r) => ((r.signal as number) > 0.5 ? 1 : 0));
const score = async (rows: readonly DataRecord[]) => Float32Array.from(rows, (r) => r.signal as number);
const auc = { name: 'auc', compute: (y: ArrayLike<number>, s: Float32Array) => rocAuc(y, s) };

describe('permutationImportance', () => {
  it('finds the column the model uses and gives exactly 0 to the one it ignores', async () => {
    const result = await permutationImportance({ records, yTrue, columns: ['noise', 'signal'], score, metric: auc, seed: 7 });
    expect(result.baseline).toBe(1);
    expect(result.columns.map((c) => c.column)).toEqual(['signal', 'noise']);
    expect(result.columns[0]!.drop).toBeGreaterThan(0.3);
    expect(result.columns[1]).toEqual({ column: 'noise', permuted: 1, drop: 0 });
    expect(result).toMatchObject({ metric: 'auc', seed: 7, repeats: 1, rows: 200 });
  });

  it('is reproducible for a seed and differs between seeds', async () => {
    const run = (seed: number) => permutationImportance({ records, yTrue, columns: ['signal'], score, metric: auc, seed });
    const [a, b, c] = await Promise.all([run(1), run(1), run(2)]);
    expect(a.columns[0]!.permuted).toBe(b.columns[0]!.permuted);
    expect(a.columns[0]!.permuted).not.toBe(c.columns[0]!.permuted);
  });

  it('averages repeats and leaves the caller’s records untouched', async () => {
    const before = JSON.stringify(records);
    const seen: string[] = [];
    const result = await permutationImportance({ records, yTrue, columns: ['signal', 'noise'], score, metric: auc, repeats: 3, onColumn: (c, done, total) => seen.push(`${c} ${done}/${total}`) });
    expect(result.repeats).toBe(3);
    expect(seen).toEqual(['signal 1/2', 'noise 2/2']);
    expect(JSON.stringify(records)).toBe(before);
  });
});
