/**
 * Fast scoring of a booster: every tree flattened into shared typed arrays, walked per row
 * with no allocation. Scores exactly as `leafOf` walks a GbtTree.
 */
import { featureCardinalities, type Booster } from './gbt-booster.js';
import type { GbtObjectiveName } from './objectives.js';

export interface BoosterScorer {
  /** Values per row: 1 for binary and regression, the number of classes for multiclass. */
  readonly outputs: number;
  /**
   * Scores `rows` rows of `features` (row-major rows × booster.features.length, Float32; NaN =
   * missing; categorical columns hold the code, and a code outside 0..cardinality−1 counts as
   * missing). Returns P(positive) per row for binary, the prediction for regression, and
   * rows × classes probabilities (row-major) for multiclass.
   *
   * The result is a view of a buffer the scorer owns: valid until the next call. Copy it to keep it.
   */
  score(features: Float32Array, rows: number): Float32Array;
}

/** Flag bits of a flattened node. */
const CATEGORICAL = 1;

export function createBoosterScorer(booster: Booster): BoosterScorer {
  return new FlatForestScorer(booster);
}

class FlatForestScorer implements BoosterScorer {
  readonly outputs: number;
  private readonly cols: number;
  private readonly objective: GbtObjectiveName;
  private readonly baseScores: Float64Array;
  /** Root of each tree: a node index, or ~leaf for a single-leaf tree. */
  private readonly roots: Int32Array;
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  /** The child missing values go to. */
  private readonly missing: Int32Array;
  private readonly flags: Uint8Array;
  /** Categorical nodes: first bitset word, and the number of known codes. */
  private readonly categoryStart: Int32Array;
  private readonly categoryLimit: Int32Array;
  private readonly categoryBits: Uint32Array;
  private readonly leafValue: Float64Array;
  private readonly sums: Float64Array;
  private buffer = new Float32Array(0);

  constructor(booster: Booster) {
    const k = booster.outputs;
    this.outputs = k;
    this.cols = booster.features.length;
    this.objective = booster.objective;
    this.baseScores = Float64Array.from(booster.baseScores);
    this.sums = new Float64Array(k);
    const cardinality = featureCardinalities(booster.features);
    let nodes = 0;
    let leaves = 0;
    let words = 0;
    for (const tree of booster.trees) {
      nodes += tree.feature.length;
      leaves += tree.leafValue.length;
      words += tree.categoryBits.length;
    }
    this.roots = new Int32Array(booster.trees.length);
    this.feature = new Int32Array(nodes);
    this.threshold = new Float64Array(nodes);
    this.left = new Int32Array(nodes);
    this.right = new Int32Array(nodes);
    this.missing = new Int32Array(nodes);
    this.flags = new Uint8Array(nodes);
    this.categoryStart = new Int32Array(nodes);
    this.categoryLimit = new Int32Array(nodes);
    this.categoryBits = new Uint32Array(words);
    this.leafValue = new Float64Array(leaves);
    let nodeBase = 0;
    let leafBase = 0;
    let wordBase = 0;
    booster.trees.forEach((tree, t) => {
      const relocate = (child: number): number => (child >= 0 ? child + nodeBase : ~(~child + leafBase));
      this.roots[t] = tree.feature.length === 0 ? ~leafBase : nodeBase;
      for (let i = 0; i < tree.feature.length; i++) {
        const at = nodeBase + i;
        const f = tree.feature[i]!;
        this.feature[at] = f;
        this.threshold[at] = tree.threshold[i]!;
        this.left[at] = relocate(tree.left[i]!);
        this.right[at] = relocate(tree.right[i]!);
        this.missing[at] = tree.defaultLeft[i] === 1 ? this.left[at]! : this.right[at]!;
        const start = tree.categoryStart[i]!;
        this.flags[at] = start >= 0 ? CATEGORICAL : 0;
        this.categoryStart[at] = start >= 0 ? start + wordBase : -1;
        this.categoryLimit[at] = start >= 0 ? cardinality[f]! : 0;
      }
      this.categoryBits.set(tree.categoryBits, wordBase);
      this.leafValue.set(tree.leafValue, leafBase);
      nodeBase += tree.feature.length;
      leafBase += tree.leafValue.length;
      wordBase += tree.categoryBits.length;
    });
  }

  score(features: Float32Array, rows: number): Float32Array {
    const k = this.outputs;
    if (!Number.isInteger(rows) || rows < 0) throw new Error(`gbt scorer: rows must be a whole number ≥ 0, got ${rows}`);
    if (features.length !== rows * this.cols) throw new Error(`gbt scorer: expected ${rows} rows × ${this.cols} features = ${rows * this.cols} values, got ${features.length}`);
    if (this.buffer.length < rows * k) this.buffer = new Float32Array(Math.max(rows * k, this.buffer.length * 2));
    const out = this.buffer.subarray(0, rows * k);
    if (k === 1) {
      const base = this.baseScores[0]!;
      const sigmoid = this.objective === 'binary';
      for (let r = 0; r < rows; r++) {
        const sum = this.rowSum(features, r * this.cols, base, 0, 1);
        out[r] = sigmoid ? 1 / (1 + Math.exp(-sum)) : sum;
      }
      return out;
    }
    const sums = this.sums;
    for (let r = 0; r < rows; r++) {
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < k; c++) {
        const s = this.rowSum(features, r * this.cols, this.baseScores[c]!, c, k);
        sums[c] = s;
        if (s > max) max = s;
      }
      let total = 0;
      for (let c = 0; c < k; c++) {
        const e = Math.exp(sums[c]! - max);
        sums[c] = e;
        total += e;
      }
      for (let c = 0; c < k; c++) out[r * k + c] = sums[c]! / total;
    }
    return out;
  }

  /** base + the outputs of trees first, first + step, … for the row at features[at]. */
  private rowSum(features: Float32Array, at: number, base: number, first: number, step: number): number {
    const { roots, feature, threshold, left, right, missing, flags, leafValue } = this;
    let sum = base;
    for (let t = first; t < roots.length; t += step) {
      let node = roots[t]!;
      while (node >= 0) {
        const v = features[at + feature[node]!]!;
        if (flags[node] === 0) {
          const cut = threshold[node]!;
          node = v <= cut ? left[node]! : v > cut ? right[node]! : missing[node]!;
        } else {
          node = this.categoricalChild(node, v);
        }
      }
      sum += leafValue[~node]!;
    }
    return sum;
  }

  private categoricalChild(node: number, v: number): number {
    if (!(v >= 0 && v < this.categoryLimit[node]! && (v | 0) === v)) return this.missing[node]!;
    const word = this.categoryBits[this.categoryStart[node]! + (v >>> 5)]!;
    return ((word >>> (v & 31)) & 1) === 1 ? this.left[node]! : this.right[node]!;
  }
}
