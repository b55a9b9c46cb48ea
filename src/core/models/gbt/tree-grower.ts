/**
 * Grows one tree leaf-wise (best-first): the leaf whose best split has the largest gain is
 * split next, until `maxLeaves` leaves or no leaf has a split worth making.
 *
 * A node's rows are a contiguous range of `rows`, kept in ascending order (a stable
 * partition) so histogram building walks the bins front to back. Of two new children
 * only the one with fewer rows gets its histogram built from rows; the other's is the parent's
 * minus it (histogram subtraction), computed in the parent's buffer.
 */
import type { BinMapper } from './binning.js';
import { bitsetWords, type GbtTree } from './gbt-tree.js';
import { buildHistogram, createHistogram, subtractHistogram, type FeatureSelection } from './histogram.js';
import { CategoryScratch, findBestSplit, MIN_CHILD_HESSIAN, SplitInfo, type SplitRules } from './split-finder.js';

/** The parameters tree growth depends on (a subset of GbtParams). */
export interface GrowRules extends SplitRules {
  readonly maxLeaves: number;
  readonly maxDepth: number;
  readonly learningRate: number;
}

/** Reusable state for growing the trees of one training run on one binned training set. */
export class TreeGrower {
  private readonly rows: Uint32Array;
  private readonly spare: Uint32Array;
  private readonly spareHistogram: Float64Array;
  private readonly freeHistograms: Float64Array[] = [];
  private readonly scratch = new CategoryScratch();
  // Per leaf of the tree being grown (a leaf keeps its number when it becomes a left child).
  private readonly leafStart: Int32Array;
  private readonly leafEnd: Int32Array;
  private readonly leafDepth: Int32Array;
  private readonly leafGrad: Float64Array;
  private readonly leafHess: Float64Array;
  private readonly leafHistogram: (Float64Array | null)[] = [];
  private readonly leafSplit: SplitInfo[] = [];
  /** The split node whose child the leaf is (−1 for the root) and on which side. */
  private readonly leafParent: Int32Array;
  private readonly leafIsLeft: Uint8Array;
  private leafCount = 0;
  private readonly values: Float64Array;

  constructor(
    private readonly mapper: BinMapper,
    private readonly binned: Uint8Array,
    private readonly rowCount: number,
    private readonly cols: number,
    private readonly rules: GrowRules,
  ) {
    this.rows = new Uint32Array(rowCount);
    this.spare = new Uint32Array(rowCount);
    this.spareHistogram = createHistogram(mapper);
    const leaves = rules.maxLeaves;
    this.leafStart = new Int32Array(leaves);
    this.leafEnd = new Int32Array(leaves);
    this.leafDepth = new Int32Array(leaves);
    this.leafGrad = new Float64Array(leaves);
    this.leafHess = new Float64Array(leaves);
    this.leafParent = new Int32Array(leaves);
    this.leafIsLeft = new Uint8Array(leaves);
    this.values = new Float64Array(leaves);
  }

  /**
   * Grows a tree on the gradients `grad`/`hess` (one per training row) of the rows in
   * `sample` (ascending; null = every row), splitting only on the selected features.
   * After it returns, `addLeafValues` adds its outputs to those rows' raw scores.
   */
  grow(grad: Float64Array, hess: Float64Array, sample: Uint32Array | null, selection: FeatureSelection): GbtTree {
    const { rules, rows } = this;
    const n = sample === null ? this.rowCount : sample.length;
    let sumGrad = 0;
    let sumHess = 0;
    if (sample === null) {
      for (let r = 0; r < n; r++) {
        rows[r] = r;
        sumGrad += grad[r]!;
        sumHess += hess[r]!;
      }
    } else {
      rows.set(sample);
      for (let i = 0; i < n; i++) {
        const r = sample[i]!;
        sumGrad += grad[r]!;
        sumHess += hess[r]!;
      }
    }
    const nodes = new NodeList();
    this.leafCount = 1;
    this.setLeaf(0, 0, n, 0, sumGrad, sumHess, -1, false);
    if (rules.maxLeaves > 1 && this.canSplit(0)) {
      const hist = this.takeHistogram();
      buildHistogram(hist, this.spareHistogram, selection, this.binned, this.cols, sample === null ? null : rows, 0, n, grad, hess);
      this.leafHistogram[0] = hist;
      this.findSplit(0, selection);
    }
    while (this.leafCount < rules.maxLeaves) {
      const leaf = this.bestLeaf();
      if (leaf < 0) break;
      this.splitLeaf(leaf, nodes, grad, hess, selection);
    }
    for (let leaf = 0; leaf < this.leafCount; leaf++) {
      this.releaseHistogram(leaf);
      this.values[leaf] = (-this.leafGrad[leaf]! / (this.leafHess[leaf]! + rules.l2)) * rules.learningRate;
    }
    return nodes.toTree(this.values.slice(0, this.leafCount));
  }

  /** Adds the last grown tree's leaf values to `raw[row * stride + offset]` for the rows it was grown on. */
  addLeafValues(raw: Float64Array, stride: number, offset: number): void {
    const rows = this.rows;
    for (let leaf = 0; leaf < this.leafCount; leaf++) {
      const value = this.values[leaf]!;
      const end = this.leafEnd[leaf]!;
      for (let i = this.leafStart[leaf]!; i < end; i++) raw[rows[i]! * stride + offset]! += value;
    }
  }

  private setLeaf(leaf: number, start: number, end: number, depth: number, grad: number, hess: number, parent: number, isLeft: boolean): void {
    this.leafStart[leaf] = start;
    this.leafEnd[leaf] = end;
    this.leafDepth[leaf] = depth;
    this.leafGrad[leaf] = grad;
    this.leafHess[leaf] = hess;
    this.leafParent[leaf] = parent;
    this.leafIsLeft[leaf] = isLeft ? 1 : 0;
    this.leafHistogram[leaf] = null;
    (this.leafSplit[leaf] ??= new SplitInfo()).reset();
  }

  private canSplit(leaf: number): boolean {
    const { minSamplesLeaf, maxDepth } = this.rules;
    return (
      this.leafEnd[leaf]! - this.leafStart[leaf]! >= 2 * minSamplesLeaf &&
      this.leafHess[leaf]! >= 2 * MIN_CHILD_HESSIAN &&
      (maxDepth === 0 || this.leafDepth[leaf]! < maxDepth)
    );
  }

  private findSplit(leaf: number, selection: FeatureSelection): void {
    const count = this.leafEnd[leaf]! - this.leafStart[leaf]!;
    findBestSplit(this.leafHistogram[leaf]!, this.mapper, selection.features, this.leafGrad[leaf]!, this.leafHess[leaf]!, count, this.rules, this.leafSplit[leaf]!, this.scratch);
    // A leaf that will never be split needs no histogram (a split one hands its buffer to a child).
    if (this.leafSplit[leaf]!.feature < 0) this.releaseHistogram(leaf);
  }

  private bestLeaf(): number {
    let best = -1;
    let bestGain = 0;
    for (let leaf = 0; leaf < this.leafCount; leaf++) {
      const split = this.leafSplit[leaf]!;
      if (split.feature >= 0 && split.gain > bestGain) {
        best = leaf;
        bestGain = split.gain;
      }
    }
    return best;
  }

  private splitLeaf(leaf: number, nodes: NodeList, grad: Float64Array, hess: Float64Array, selection: FeatureSelection): void {
    const split = this.leafSplit[leaf]!;
    const start = this.leafStart[leaf]!;
    const end = this.leafEnd[leaf]!;
    const middle = this.partition(start, end, split.feature, split.leftBins);
    if (middle - start !== split.leftCount) throw new Error(`gbt: partition put ${middle - start} rows left, the histogram ${split.leftCount}`);

    const node = nodes.add(split, this.mapper);
    const parent = this.leafParent[leaf]!;
    if (parent >= 0) nodes.setChild(parent, this.leafIsLeft[leaf] === 1, node);
    const right = this.leafCount++;
    nodes.setChild(node, true, ~leaf);
    nodes.setChild(node, false, ~right);

    const depth = this.leafDepth[leaf]! + 1;
    const parentGrad = this.leafGrad[leaf]!;
    const parentHess = this.leafHess[leaf]!;
    const parentHistogram = this.leafHistogram[leaf]!;
    const leftGrad = split.leftGrad;
    const leftHess = split.leftHess;
    this.setLeaf(leaf, start, middle, depth, leftGrad, leftHess, node, true);
    this.setLeaf(right, middle, end, depth, parentGrad - leftGrad, parentHess - leftHess, node, false);

    const more = this.leafCount < this.rules.maxLeaves;
    const leftCan = more && this.canSplit(leaf);
    const rightCan = more && this.canSplit(right);
    if (!leftCan && !rightCan) {
      this.freeHistograms.push(parentHistogram);
      return;
    }
    const leftSmaller = middle - start <= end - middle;
    const small = leftSmaller ? leaf : right;
    const large = leftSmaller ? right : leaf;
    const smallHistogram = this.takeHistogram();
    buildHistogram(smallHistogram, this.spareHistogram, selection, this.binned, this.cols, this.rows, this.leafStart[small]!, this.leafEnd[small]!, grad, hess);
    subtractHistogram(parentHistogram, parentHistogram, smallHistogram, selection);
    this.leafHistogram[small] = smallHistogram;
    this.leafHistogram[large] = parentHistogram;
    if (leftCan) this.findSplit(leaf, selection);
    else this.releaseHistogram(leaf);
    if (rightCan) this.findSplit(right, selection);
    else this.releaseHistogram(right);
  }

  /**
   * Stable partition of rows[start..end) by the split's bin table; returns where the right rows
   * begin. Each row is written to both places and only one cursor moves: no branch to mispredict.
   */
  private partition(start: number, end: number, feature: number, leftBins: Uint8Array): number {
    const { rows, spare, binned, cols } = this;
    let write = start;
    let aside = 0;
    for (let i = start; i < end; i++) {
      const r = rows[i]!;
      const left = leftBins[binned[r * cols + feature]!]!;
      rows[write] = r;
      spare[aside] = r;
      write += left;
      aside += 1 - left;
    }
    rows.set(spare.subarray(0, aside), write);
    return write;
  }

  private takeHistogram(): Float64Array {
    return this.freeHistograms.pop() ?? createHistogram(this.mapper);
  }

  private releaseHistogram(leaf: number): void {
    const hist = this.leafHistogram[leaf];
    if (hist !== null && hist !== undefined) this.freeHistograms.push(hist);
    this.leafHistogram[leaf] = null;
  }
}

/** The split nodes of a tree under construction, turned into raw-unit arrays at the end. */
class NodeList {
  private readonly feature: number[] = [];
  private readonly threshold: number[] = [];
  private readonly left: number[] = [];
  private readonly right: number[] = [];
  private readonly defaultLeft: number[] = [];
  private readonly categoryStart: number[] = [];
  private readonly categoryBits: number[] = [];
  private readonly gain: number[] = [];

  add(split: SplitInfo, mapper: BinMapper): number {
    const bins = mapper.features[split.feature]!;
    this.feature.push(split.feature);
    this.defaultLeft.push(split.defaultLeft ? 1 : 0);
    this.gain.push(split.gain);
    this.left.push(0);
    this.right.push(0);
    if (bins.kind === 'numeric') {
      const t = split.binThreshold;
      this.threshold.push(t < bins.edges.length ? bins.edges[t]! : Number.POSITIVE_INFINITY);
      this.categoryStart.push(-1);
    } else {
      this.threshold.push(0);
      this.categoryStart.push(this.categoryBits.length);
      const start = this.categoryBits.length;
      for (let w = bitsetWords(bins.cardinality); w > 0; w--) this.categoryBits.push(0);
      const missingBin = bins.valueBins;
      for (let code = 0; code < bins.cardinality; code++) {
        const bin = bins.codeToBin[code]!;
        if (split.leftBins[bin < 0 ? missingBin : bin] === 1) this.categoryBits[start + (code >>> 5)]! |= 1 << (code & 31);
      }
    }
    return this.feature.length - 1;
  }

  setChild(node: number, isLeft: boolean, child: number): void {
    (isLeft ? this.left : this.right)[node] = child;
  }

  toTree(leafValue: Float64Array): GbtTree {
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      defaultLeft: Uint8Array.from(this.defaultLeft),
      categoryStart: Int32Array.from(this.categoryStart),
      categoryBits: Uint32Array.from(this.categoryBits, (w) => w >>> 0),
      gain: Float64Array.from(this.gain),
      leafValue,
    };
  }
}
