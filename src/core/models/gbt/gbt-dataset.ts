/** The engine's input: a dense Float32 matrix, its labels and what each column is. */

export type GbtFeatureKind = 'numeric' | 'categorical';

export interface GbtFeature {
  readonly name: string;
  readonly kind: GbtFeatureKind;
  /**
   * Categorical only: codes run 0..cardinality−1. When absent the engine takes the largest
   * training code + 1. A code outside that range (or not a whole number) is treated as missing.
   */
  readonly cardinality?: number;
}

export interface GbtDataset {
  /** Row-major rows × cols; NaN = missing; a categorical column holds its integer code. */
  readonly x: Float32Array;
  readonly rows: number;
  readonly cols: number;
  /** 0/1 for binary, the class index for multiclass, the target for regression. */
  readonly y: Float32Array;
  readonly features: readonly GbtFeature[];
}

/** Throws a plain Error naming what is inconsistent in the shape of `data`. */
export function checkDatasetShape(what: string, data: GbtDataset, cols?: number): void {
  if (!Number.isInteger(data.rows) || data.rows < 1) throw new Error(`${what}: needs at least one row, got ${data.rows}`);
  if (!Number.isInteger(data.cols) || data.cols < 1) throw new Error(`${what}: needs at least one column, got ${data.cols}`);
  if (cols !== undefined && data.cols !== cols) throw new Error(`${what}: has ${data.cols} columns, the training set ${cols}`);
  if (data.x.length !== data.rows * data.cols) throw new Error(`${what}: x holds ${data.x.length} values, expected rows × cols = ${data.rows * data.cols}`);
  if (data.y.length !== data.rows) throw new Error(`${what}: y holds ${data.y.length} labels for ${data.rows} rows`);
  if (data.features.length !== data.cols) throw new Error(`${what}: ${data.features.length} feature descriptions for ${data.cols} columns`);
}
