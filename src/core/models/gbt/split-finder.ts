/**
 * Best split of one node from its gradient histogram.
 *
 * The gain of sending rows with sums (G_L, H_L) left and (G_R, H_R) right is
 *   G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ)
 * (the loss reduction of a second-order step, as LightGBM and scikit-learn compute it, λ = l2),
 * and a leaf's value is −G/(H + λ).
 *
 * Numeric features: every bin threshold, with missing values (the missing bin) tried on each
 * side; when the node has no missing values they follow the child with more rows at scoring
 * (scikit-learn's rule). Categorical features, LightGBM's method: the categories with at
 * least `catSmooth` rows at the node are ordered by G/(H + catSmooth) and prefixes of that
 * order, scanned from both ends and at most `maxCatThreshold` long, are tried as the left set,
 * with λ + catL2 in the children's terms; the other categories present go right, and the
 * missing bin takes part like any category. Categories with no rows at the node go where
 * missing values go.
 */
import type { BinMapper } from './binning.js';
import { SLOT_WIDTH } from './histogram.js';

/** Smallest hessian sum a child may have (LightGBM's min_sum_hessian_in_leaf). */
export const MIN_CHILD_HESSIAN = 1e-3;

/** The parameters split finding depends on (a subset of GbtParams). */
export interface SplitRules {
  readonly minSamplesLeaf: number;
  readonly l2: number;
  readonly minGainToSplit: number;
  readonly maxCatThreshold: number;
  readonly catSmooth: number;
  readonly catL2: number;
  readonly minDataPerGroup: number;
}

/** The best split found for a node; reused from node to node. `feature` is −1 when there is none. */
export class SplitInfo {
  feature = -1;
  gain = 0;
  categorical = false;
  /** Numeric splits: the last value bin that goes left. */
  binThreshold = 0;
  /** Where missing values (and, for categorical splits, categories absent at the node) go. */
  defaultLeft = false;
  /** Per bin of the feature (value bins, then the missing bin): 1 when its rows go left. */
  readonly leftBins = new Uint8Array(256);
  leftGrad = 0;
  leftHess = 0;
  leftCount = 0;

  reset(): void {
    this.feature = -1;
    this.gain = 0;
  }
}

/** Scratch space for the categorical scan, allocated once per grower. */
export class CategoryScratch {
  readonly order = new Int32Array(257);
  readonly ratio = new Float64Array(257);
}

/**
 * Fills `best` with the best split over the features in `active` for a node whose histogram is
 * `hist` and whose totals are (sumGrad, sumHess, count). Only splits with gain > minGainToSplit
 * and children of at least minSamplesLeaf rows and MIN_CHILD_HESSIAN hessian are considered.
 */
export function findBestSplit(
  hist: Float64Array,
  mapper: BinMapper,
  active: Int32Array,
  sumGrad: number,
  sumHess: number,
  count: number,
  rules: SplitRules,
  best: SplitInfo,
  scratch: CategoryScratch,
): void {
  best.reset();
  best.gain = rules.minGainToSplit;
  for (let a = 0; a < active.length; a++) {
    const f = active[a]!;
    if (mapper.features[f]!.kind === 'numeric') findNumericSplit(hist, mapper, f, sumGrad, sumHess, count, rules, best);
    else findCategoricalSplit(hist, mapper, f, sumGrad, sumHess, count, rules, best, scratch);
  }
  if (best.feature < 0) best.gain = 0;
}

function findNumericSplit(hist: Float64Array, mapper: BinMapper, f: number, sumGrad: number, sumHess: number, count: number, rules: SplitRules, best: SplitInfo): void {
  const valueBins = mapper.features[f]!.valueBins;
  const base = mapper.offsets[f]! * SLOT_WIDTH;
  const missing = base + valueBins * SLOT_WIDTH;
  const missingCount = hist[missing + 2]!;
  const { minSamplesLeaf, l2 } = rules;
  const parentScore = (sumGrad * sumGrad) / (sumHess + l2);
  // Pass 0: missing values right; pass 1 (only when the node has some): missing values left.
  for (let pass = 0; pass < (missingCount > 0 ? 2 : 1); pass++) {
    let gl = pass === 0 ? 0 : hist[missing]!;
    let hl = pass === 0 ? 0 : hist[missing + 1]!;
    let cl = pass === 0 ? 0 : missingCount;
    // With missing values right, "every value left" (t = valueBins − 1) is a split too.
    const lastThreshold = pass === 0 && missingCount > 0 ? valueBins - 1 : valueBins - 2;
    for (let t = 0; t <= lastThreshold; t++) {
      const s = base + t * SLOT_WIDTH;
      gl += hist[s]!;
      hl += hist[s + 1]!;
      cl += hist[s + 2]!;
      if (cl < minSamplesLeaf || hl < MIN_CHILD_HESSIAN) continue;
      const cr = count - cl;
      const hr = sumHess - hl;
      if (cr < minSamplesLeaf || hr < MIN_CHILD_HESSIAN) break;
      const gr = sumGrad - gl;
      const gain = (gl * gl) / (hl + l2) + (gr * gr) / (hr + l2) - parentScore;
      if (gain > best.gain) {
        best.feature = f;
        best.gain = gain;
        best.categorical = false;
        best.binThreshold = t;
        best.defaultLeft = missingCount > 0 ? pass === 1 : cl >= cr;
        best.leftGrad = gl;
        best.leftHess = hl;
        best.leftCount = cl;
      }
    }
  }
  if (best.feature === f && !best.categorical) fillNumericLeftBins(best, valueBins);
}

function fillNumericLeftBins(best: SplitInfo, valueBins: number): void {
  const lut = best.leftBins;
  for (let b = 0; b < valueBins; b++) lut[b] = b <= best.binThreshold ? 1 : 0;
  lut[valueBins] = best.defaultLeft ? 1 : 0;
}

function findCategoricalSplit(
  hist: Float64Array,
  mapper: BinMapper,
  f: number,
  sumGrad: number,
  sumHess: number,
  count: number,
  rules: SplitRules,
  best: SplitInfo,
  scratch: CategoryScratch,
): void {
  const slots = mapper.features[f]!.valueBins + 1;
  const base = mapper.offsets[f]! * SLOT_WIDTH;
  const { minSamplesLeaf, l2, catSmooth, catL2, minDataPerGroup, maxCatThreshold } = rules;
  const { order, ratio } = scratch;
  // Categories taking part, ordered by G/(H + catSmooth); insertion sort is stable and the lists are short.
  const minRows = Math.max(catSmooth, 1);
  let used = 0;
  for (let b = 0; b < slots; b++) {
    const s = base + b * SLOT_WIDTH;
    if (hist[s + 2]! < minRows) continue;
    const key = hist[s]! / (hist[s + 1]! + catSmooth);
    let i = used++;
    while (i > 0 && ratio[i - 1]! > key) {
      ratio[i] = ratio[i - 1]!;
      order[i] = order[i - 1]!;
      i--;
    }
    ratio[i] = key;
    order[i] = b;
  }
  if (used < 2) return;
  const parentScore = (sumGrad * sumGrad) / (sumHess + l2);
  const l2Children = l2 + catL2;
  const maxLeftCategories = Math.min(maxCatThreshold, (used + 1) >> 1);
  let bestDirection = 0;
  let bestLength = 0;
  for (let direction = 1; direction >= -1; direction -= 2) {
    let position = direction === 1 ? 0 : used - 1;
    let gl = 0;
    let hl = 0;
    let cl = 0;
    let groupRows = 0;
    for (let i = 0; i < used && i < maxLeftCategories; i++) {
      const s = base + order[position]! * SLOT_WIDTH;
      position += direction;
      gl += hist[s]!;
      hl += hist[s + 1]!;
      cl += hist[s + 2]!;
      groupRows += hist[s + 2]!;
      if (cl < minSamplesLeaf || hl < MIN_CHILD_HESSIAN) continue;
      const cr = count - cl;
      const hr = sumHess - hl;
      if (cr < minSamplesLeaf || cr < minDataPerGroup || hr < MIN_CHILD_HESSIAN) break;
      if (groupRows < minDataPerGroup) continue;
      groupRows = 0;
      const gr = sumGrad - gl;
      const gain = (gl * gl) / (hl + l2Children) + (gr * gr) / (hr + l2Children) - parentScore;
      if (gain > best.gain) {
        best.feature = f;
        best.gain = gain;
        best.categorical = true;
        best.leftGrad = gl;
        best.leftHess = hl;
        best.leftCount = cl;
        bestDirection = direction;
        bestLength = i + 1;
      }
    }
  }
  if (bestDirection === 0) return;
  // The winning left set: its bins go left, other bins with rows go right, empty bins follow missing.
  const lut = best.leftBins;
  lut.fill(0, 0, slots);
  for (let i = 0; i < bestLength; i++) lut[order[bestDirection === 1 ? i : used - 1 - i]!] = 1;
  const missingBin = slots - 1;
  const missingCount = hist[base + missingBin * SLOT_WIDTH + 2]!;
  const defaultLeft = missingCount > 0 ? lut[missingBin] === 1 : best.leftCount >= count - best.leftCount;
  best.defaultLeft = defaultLeft;
  for (let b = 0; b < slots; b++) if (hist[base + b * SLOT_WIDTH + 2]! === 0) lut[b] = defaultLeft ? 1 : 0;
}
