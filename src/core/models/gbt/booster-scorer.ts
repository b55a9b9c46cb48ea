/**
 * Fast scoring of a booster: every tree flattened into shared typed arrays and walked with no
 * allocation, scoring exactly as `leafOf` walks a GbtTree.
 *
 * Measured tricks (Adult, 120 trees, 32k rows, CPU time: 200 ms → 90 ms):
 * - a step picks the child as children[2·node + goesRight], goesRight computed without a branch;
 * - four rows walk each tree in lock-step, so four independent chains of dependent loads overlap;
 * - the walk is a closure over the forest's arrays held in `const`s: while a process has one
 *   scorer, V8 specialises the compiled walk to those arrays (1.5× faster than reading them
 *   from an object; with several scorers alive it falls back to that speed, still correct).
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

/** Node kinds of the flattened forest. */
const NUMERIC_MISSING_RIGHT = 0;
const NUMERIC_MISSING_LEFT = 1;
const CATEGORICAL = 2;

/** Every tree of a booster in shared arrays; node and leaf numbers are global. */
interface FlatForest {
  /** Root of each tree: a node index, or ~leaf for a single-leaf tree. */
  readonly roots: Int32Array;
  /** Left child of node n at 2n, right child at 2n + 1; a child < 0 is the leaf ~child. */
  readonly children: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly kind: Uint8Array;
  /** Categorical nodes: first bitset word, number of known codes, and 1 when unknown codes go right. */
  readonly categoryStart: Int32Array;
  readonly categoryLimit: Int32Array;
  readonly missingRight: Uint8Array;
  readonly categoryBits: Uint32Array;
  readonly leafValue: Float64Array;
}

export function createBoosterScorer(booster: Booster): BoosterScorer {
  const k = booster.outputs;
  const cols = booster.features.length;
  const sigmoid = booster.objective === 'binary';
  const baseScores = Float64Array.from(booster.baseScores);
  const addTrees = createForestWalk(flattenForest(booster), cols);
  const exps = new Float64Array(k);
  let buffer = new Float32Array(0);
  let raw = new Float64Array(0);
  return {
    outputs: k,
    score(features, rows) {
      if (!Number.isInteger(rows) || rows < 0) throw new Error(`gbt scorer: rows must be a whole number ≥ 0, got ${rows}`);
      if (features.length !== rows * cols) throw new Error(`gbt scorer: expected ${rows} rows × ${cols} features = ${rows * cols} values, got ${features.length}`);
      if (buffer.length < rows * k) {
        buffer = new Float32Array(Math.max(rows * k, buffer.length * 2));
        raw = new Float64Array(buffer.length);
      }
      const out = buffer.subarray(0, rows * k);
      for (let c = 0; c < k; c++) addTrees(features, rows, c, k, baseScores[c]!, raw);
      if (k === 1) {
        if (sigmoid) for (let r = 0; r < rows; r++) out[r] = 1 / (1 + Math.exp(-raw[r]!));
        else for (let r = 0; r < rows; r++) out[r] = raw[r]!;
      } else {
        for (let r = 0; r < rows; r++) softmaxRow(raw, r * k, k, exps, out);
      }
      return out;
    },
  };
}

function softmaxRow(raw: Float64Array, at: number, k: number, exps: Float64Array, out: Float32Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < k; c++) max = Math.max(max, raw[at + c]!);
  let total = 0;
  for (let c = 0; c < k; c++) {
    const e = Math.exp(raw[at + c]! - max);
    exps[c] = e;
    total += e;
  }
  for (let c = 0; c < k; c++) out[at + c] = exps[c]! / total;
}

/** Every tree in shared arrays with global node and leaf numbers. */
function flattenForest(booster: Booster): FlatForest {
  const cardinality = featureCardinalities(booster.features);
  let nodes = 0;
  let leaves = 0;
  let words = 0;
  for (const tree of booster.trees) {
    nodes += tree.feature.length;
    leaves += tree.leafValue.length;
    words += tree.categoryBits.length;
  }
  const forest: FlatForest = {
    roots: new Int32Array(booster.trees.length),
    children: new Int32Array(2 * nodes),
    feature: new Int32Array(nodes),
    threshold: new Float64Array(nodes),
    kind: new Uint8Array(nodes),
    categoryStart: new Int32Array(nodes),
    categoryLimit: new Int32Array(nodes),
    missingRight: new Uint8Array(nodes),
    categoryBits: new Uint32Array(words),
    leafValue: new Float64Array(leaves),
  };
  let nodeBase = 0;
  let leafBase = 0;
  let wordBase = 0;
  booster.trees.forEach((tree, t) => {
    const relocate = (child: number): number => (child >= 0 ? child + nodeBase : ~(~child + leafBase));
    forest.roots[t] = tree.feature.length === 0 ? ~leafBase : nodeBase;
    for (let i = 0; i < tree.feature.length; i++) {
      const at = nodeBase + i;
      const f = tree.feature[i]!;
      const start = tree.categoryStart[i]!;
      const defaultLeft = tree.defaultLeft[i] === 1;
      forest.feature[at] = f;
      forest.threshold[at] = tree.threshold[i]!;
      forest.children[2 * at] = relocate(tree.left[i]!);
      forest.children[2 * at + 1] = relocate(tree.right[i]!);
      forest.kind[at] = start >= 0 ? CATEGORICAL : defaultLeft ? NUMERIC_MISSING_LEFT : NUMERIC_MISSING_RIGHT;
      forest.categoryStart[at] = start >= 0 ? start + wordBase : 0;
      forest.categoryLimit[at] = start >= 0 ? cardinality[f]! : 0;
      forest.missingRight[at] = defaultLeft ? 0 : 1;
    }
    forest.categoryBits.set(tree.categoryBits, wordBase);
    forest.leafValue.set(tree.leafValue, leafBase);
    nodeBase += tree.feature.length;
    leafBase += tree.leafValue.length;
    wordBase += tree.categoryBits.length;
  });
  return forest;
}

/**
 * The walk over `forest`: addTrees(features, rows, first, step, base, raw) writes, for each row
 * r, base + the outputs of trees first, first + step, … into raw[r × step + first].
 */
function createForestWalk(forest: FlatForest, cols: number): (features: Float32Array, rows: number, first: number, step: number, base: number, raw: Float64Array) => void {
  const { roots, children, feature, threshold, kind, categoryStart, categoryLimit, missingRight, categoryBits, leafValue } = forest;
  const trees = roots.length;

  function child(features: Float32Array, at: number, node: number): number {
    const v = features[at + feature[node]!]!;
    const nodeKind = kind[node]!;
    let right: number;
    if (nodeKind !== CATEGORICAL) {
      // NaN compares false, so it goes right only where missing values go right. Unary + (not
      // `? 1 : 0`) lets V8 turn the comparisons into numbers without branching.
      right = +(v > threshold[node]!) | (+(v !== v) & (1 - nodeKind));
    } else if (v >= 0 && v < categoryLimit[node]! && (v | 0) === v) {
      right = 1 - ((categoryBits[categoryStart[node]! + (v >>> 5)]! >>> (v & 31)) & 1);
    } else {
      right = missingRight[node]!;
    }
    return children[2 * node + right]!;
  }

  return (features, rows, first, step, base, raw) => {
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const a0 = r * cols;
      const a1 = a0 + cols;
      const a2 = a1 + cols;
      const a3 = a2 + cols;
      let s0 = base;
      let s1 = base;
      let s2 = base;
      let s3 = base;
      for (let t = first; t < trees; t += step) {
        let n0 = roots[t]!;
        let n1 = n0;
        let n2 = n0;
        let n3 = n0;
        // The AND of four numbers is ≥ 0 while any of them is (a split node, not yet a leaf).
        while ((n0 & n1 & n2 & n3) >= 0) {
          if (n0 >= 0) n0 = child(features, a0, n0);
          if (n1 >= 0) n1 = child(features, a1, n1);
          if (n2 >= 0) n2 = child(features, a2, n2);
          if (n3 >= 0) n3 = child(features, a3, n3);
        }
        s0 += leafValue[~n0]!;
        s1 += leafValue[~n1]!;
        s2 += leafValue[~n2]!;
        s3 += leafValue[~n3]!;
      }
      raw[r * step + first] = s0;
      raw[(r + 1) * step + first] = s1;
      raw[(r + 2) * step + first] = s2;
      raw[(r + 3) * step + first] = s3;
    }
    for (; r < rows; r++) {
      const at = r * cols;
      let sum = base;
      for (let t = first; t < trees; t += step) {
        let node = roots[t]!;
        while (node >= 0) node = child(features, at, node);
        sum += leafValue[~node]!;
      }
      raw[r * step + first] = sum;
    }
  };
}
