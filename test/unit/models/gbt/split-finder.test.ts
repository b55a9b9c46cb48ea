import { describe, expect, it } from 'vitest';
import { binDataset, fitBinMapper } from '../../../../src/core/models/gbt/binning.js';
import { buildHistogram, createHistogram, selectFeatures } from '../../../../src/core/models/gbt/histogram.js';
import { CategoryScratch, findBestSplit, SplitInfo } from '../../../../src/core/models/gbt/split-finder.js';
import { TreeGrower } from '../../../../src/core/models/gbt/tree-grower.js';
import { datasetOf, params } from './gbt-fixtures.js';

// Six rows, gradients g and hessians h = 1 (squared error at prediction 0 has g = −y), λ = l2 = 1.
//
//   x0:  1   2   3   4   5   6
//   x1: 10  10  20  20  30  30
//   g:  −2  −1  −2   1   2   2        G = 0, H = 6, parent term G²/(H+λ) = 0
//
// gain(L | R) = G_L²/(H_L+1) + G_R²/(H_R+1) − 0. On x0, after k rows:
//   k=1: 4/2 + 4/6   = 2.667      k=2: 9/3 + 9/5 = 4.8      k=3: 25/4 + 25/4 = 12.5
//   k=4: 16/5 + 16/3 = 8.533      k=5: 4/6 + 4/2 = 2.667
// On x1: {10} | rest: 9/3 + 9/5 = 4.8;  {10, 20} | {30}: 16/5 + 16/3 = 8.533.
// Best: x0 ≤ 3.5 (midpoint of 3 and 4), gain 12.5, G_L = −5, H_L = 3; leaf values
// −G/(H+λ): left 5/4 = 1.25, right −5/4 = −1.25.
const X = [
  [1, 10],
  [2, 10],
  [3, 20],
  [4, 20],
  [5, 30],
  [6, 30],
];
const G = Float64Array.of(-2, -1, -2, 1, 2, 2);
const H = new Float64Array(6).fill(1);
const RULES = params({ minSamplesLeaf: 1, l2: 1, learningRate: 1, maxLeaves: 2 });

describe('findBestSplit', () => {
  it('picks the hand-computed feature, bin, gain and left sums', () => {
    const data = datasetOf(X, [0, 0, 0, 0, 0, 0]);
    const mapper = fitBinMapper(data, 255, 0);
    const binned = binDataset(mapper, data.x, data.rows, data.cols);
    const selection = selectFeatures(mapper, Int32Array.of(0, 1));
    const hist = createHistogram(mapper);
    buildHistogram(hist, createHistogram(mapper), selection, binned, data.cols, null, 0, 6, G, H);
    const best = new SplitInfo();
    findBestSplit(hist, mapper, selection.features, 0, 6, 6, RULES, best, new CategoryScratch());
    expect(best.feature).toBe(0);
    expect(best.categorical).toBe(false);
    expect(best.binThreshold).toBe(2);
    expect(best.gain).toBeCloseTo(12.5, 12);
    expect([best.leftGrad, best.leftHess, best.leftCount]).toEqual([-5, 3, 3]);
  });

  it('finds the runner-up feature when the best one is not selected', () => {
    const data = datasetOf(X, [0, 0, 0, 0, 0, 0]);
    const mapper = fitBinMapper(data, 255, 0);
    const binned = binDataset(mapper, data.x, data.rows, data.cols);
    const selection = selectFeatures(mapper, Int32Array.of(1));
    const hist = createHistogram(mapper);
    buildHistogram(hist, createHistogram(mapper), selection, binned, data.cols, null, 0, 6, G, H);
    const best = new SplitInfo();
    findBestSplit(hist, mapper, selection.features, 0, 6, 6, RULES, best, new CategoryScratch());
    expect(best.feature).toBe(1);
    expect(best.gain).toBeCloseTo(16 / 5 + 16 / 3, 12);
    expect(best.binThreshold).toBe(1);
  });

  it('respects minSamplesLeaf and minGainToSplit', () => {
    const data = datasetOf(X, [0, 0, 0, 0, 0, 0]);
    const mapper = fitBinMapper(data, 255, 0);
    const binned = binDataset(mapper, data.x, data.rows, data.cols);
    const selection = selectFeatures(mapper, Int32Array.of(0, 1));
    const hist = createHistogram(mapper);
    buildHistogram(hist, createHistogram(mapper), selection, binned, data.cols, null, 0, 6, G, H);
    const best = new SplitInfo();
    // Leaves of ≥ 4 rows: no split of 6 rows qualifies.
    findBestSplit(hist, mapper, selection.features, 0, 6, 6, { ...RULES, minSamplesLeaf: 4 }, best, new CategoryScratch());
    expect(best.feature).toBe(-1);
    // Gain must exceed 12.5: the best split (exactly 12.5) does not.
    findBestSplit(hist, mapper, selection.features, 0, 6, 6, { ...RULES, minGainToSplit: 12.5 }, best, new CategoryScratch());
    expect(best.feature).toBe(-1);
    findBestSplit(hist, mapper, selection.features, 0, 6, 6, { ...RULES, minGainToSplit: 12.4 }, best, new CategoryScratch());
    expect(best.feature).toBe(0);
  });
});

describe('TreeGrower', () => {
  it('turns the best split into a raw-unit node with the hand-computed leaf values', () => {
    const data = datasetOf(X, [0, 0, 0, 0, 0, 0]);
    const mapper = fitBinMapper(data, 255, 0);
    const binned = binDataset(mapper, data.x, data.rows, data.cols);
    const grower = new TreeGrower(mapper, binned, data.rows, data.cols, RULES);
    const tree = grower.grow(G, H, null, selectFeatures(mapper, Int32Array.of(0, 1)));
    expect(Array.from(tree.feature)).toEqual([0]);
    expect(Array.from(tree.threshold)).toEqual([3.5]);
    expect(tree.gain[0]).toBeCloseTo(12.5, 12);
    expect(Array.from(tree.leafValue)).toEqual([1.25, -1.25]);
    expect([tree.left[0], tree.right[0]]).toEqual([~0, ~1]);
    // No missing values at the node: they follow the larger child (a tie goes left).
    expect(tree.defaultLeft[0]).toBe(1);
  });

  it('grows leaf-wise: the second split goes to the leaf with the larger gain', () => {
    // Left of x0 ≤ 3.5 (g −2 −1 −2) the best split gains 4/2 + 9/3 − 25/4 = −1.25 < 0 (none);
    // right (g 1 2 2) best: {4} | {5, 6}: 1/2 + 16/3 − 25/4 = −0.417 < 0, so with λ = 1 there is no
    // second split. With λ = 0 the right leaf's {4} | {5, 6} gains 1 + 16/2 − 25/3 = 0.667 and the
    // left leaf's best ({1} | {2, 3} or {1, 2} | {3}) 0.167, so the right leaf is split first.
    const data = datasetOf(X, [0, 0, 0, 0, 0, 0]);
    const mapper = fitBinMapper(data, 255, 0);
    const binned = binDataset(mapper, data.x, data.rows, data.cols);
    const selection = selectFeatures(mapper, Int32Array.of(0));
    const none = new TreeGrower(mapper, binned, 6, 2, { ...RULES, maxLeaves: 4 }).grow(G, H, null, selection);
    expect(none.feature.length).toBe(1);
    const three = new TreeGrower(mapper, binned, 6, 2, { ...RULES, l2: 0, maxLeaves: 3 }).grow(G, H, null, selection);
    expect(Array.from(three.threshold)).toEqual([3.5, 4.5]);
    expect(three.right[0]).toBe(1);
    expect(three.gain[1]).toBeCloseTo(1 + 8 - 25 / 3, 12);
  });
});
