/** Small synthetic data sets for the gbt engine's tests, all seeded. */
import { createRng } from '../../../../src/core/random.js';
import type { GbtDataset, GbtFeature } from '../../../../src/core/models/gbt/gbt-dataset.js';
import { GBT_DEFAULTS, type GbtParams } from '../../../../src/core/models/gbt/gbt-params.js';

/** A dataset from row arrays (NaN = missing). */
export function datasetOf(rows: readonly (readonly number[])[], y: readonly number[], features?: readonly GbtFeature[]): GbtDataset {
  const cols = rows[0]!.length;
  return {
    x: Float32Array.from(rows.flat()),
    rows: rows.length,
    cols,
    y: Float32Array.from(y),
    features: features ?? Array.from({ length: cols }, (_, c) => ({ name: `x${c}`, kind: 'numeric' as const })),
  };
}

export function params(overrides: Partial<GbtParams> = {}): GbtParams {
  return { ...GBT_DEFAULTS, ...overrides };
}

/** A standard normal draw (Box–Muller). */
export function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/**
 * Binary data with every kind of column: x0 numeric (signal, 10 % missing), x1 categorical
 * with 6 codes (codes 1 and 4 raise the odds, 5 % missing), x2 numeric noise.
 */
export function mixedBinary(rows: number, seed: number): GbtDataset {
  const rng = createRng(seed);
  const data: number[][] = [];
  const y: number[] = [];
  for (let r = 0; r < rows; r++) {
    const x0 = gaussian(rng);
    const code = Math.floor(rng() * 6);
    const logit = 1.5 * x0 + (code === 1 || code === 4 ? 1.5 : -0.5);
    y.push(rng() < 1 / (1 + Math.exp(-logit)) ? 1 : 0);
    data.push([rng() < 0.1 ? Number.NaN : x0, rng() < 0.05 ? Number.NaN : code, gaussian(rng)]);
  }
  return datasetOf(data, y, [
    { name: 'signal', kind: 'numeric' },
    { name: 'group', kind: 'categorical', cardinality: 6 },
    { name: 'noise', kind: 'numeric' },
  ]);
}

/** Rows [from, to) of a dataset. */
export function sliceRows(data: GbtDataset, from: number, to: number): GbtDataset {
  return { ...data, x: data.x.slice(from * data.cols, to * data.cols), y: data.y.slice(from, to), rows: to - from };
}
