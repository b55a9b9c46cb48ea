/**
 * One regression tree in raw feature units, so that scoring needs no bins.
 *
 * Split nodes are numbered 0..n−1 in the order they were split (node 0 is the root; a child
 * node always has a larger number than its parent). A child reference c ≥ 0 is a split node,
 * c < 0 is the leaf ~c (leaves are numbered 0..n). A tree with no split is the single leaf 0.
 *
 * At a numeric split a row goes left when value ≤ threshold (threshold may be +Infinity:
 * every non-missing value left), right when value > threshold, and to the default side when
 * the value is NaN. At a categorical split the feature holds a category code: a whole number
 * in 0..cardinality−1 goes left when its bit is set in the split's bitset, right otherwise;
 * anything else (NaN, a negative, fractional or too-large code) goes to the default side.
 */
import { isCode } from './binning.js';

export interface GbtTree {
  /** Feature of each split node. */
  readonly feature: Int32Array;
  /** Numeric split nodes: rows with value ≤ threshold go left. 0 at categorical nodes. */
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** 1 when missing values (and unknown categories) go left. */
  readonly defaultLeft: Uint8Array;
  /** Categorical split nodes: first word of the node's bitset in `categoryBits` (ceil(cardinality / 32) words); −1 at numeric nodes. */
  readonly categoryStart: Int32Array;
  /** Bitsets of the categories going left: code c is bit c % 32 of word start + ⌊c / 32⌋. */
  readonly categoryBits: Uint32Array;
  /** Loss reduction of each split (the gain it was chosen by). */
  readonly gain: Float64Array;
  /** Leaf outputs, learning rate included: the tree adds leafValue[leaf] to the raw score. */
  readonly leafValue: Float64Array;
}

/** Words of a categorical split's bitset for a feature of `cardinality` codes. */
export function bitsetWords(cardinality: number): number {
  return Math.max(1, Math.ceil(cardinality / 32));
}

/**
 * The leaf reached by the row starting at `x[base]` (row-major). `cardinality[f]` is the
 * number of codes of categorical feature f (unused for numeric features).
 */
export function leafOf(tree: GbtTree, cardinality: Int32Array, x: Float32Array, base: number): number {
  const { feature, threshold, left, right, defaultLeft, categoryStart, categoryBits } = tree;
  let node = feature.length === 0 ? -1 : 0;
  while (node >= 0) {
    const f = feature[node]!;
    const v = x[base + f]!;
    const start = categoryStart[node]!;
    let goLeft: boolean;
    if (start < 0) goLeft = v <= threshold[node]! ? true : v > threshold[node]! ? false : defaultLeft[node] === 1;
    else if (isCode(v, cardinality[f]!)) goLeft = ((categoryBits[start + (v >>> 5)]! >>> (v & 31)) & 1) === 1;
    else goLeft = defaultLeft[node] === 1;
    node = goLeft ? left[node]! : right[node]!;
  }
  return ~node;
}
