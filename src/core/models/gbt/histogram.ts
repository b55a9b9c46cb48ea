/**
 * Gradient histograms: for each feature and bin, the sums of gradients and hessians and the
 * row count of a node's rows. One histogram is a Float64Array of `totalSlots × 3` values,
 * interleaved (gradient, hessian, count) per slot so one update touches one cache line; the
 * slots of feature f start at `mapper.offsets[f]`.
 *
 * The bins are row-major (rows × cols bytes): a node's rows are scattered over the data, and
 * one row's bins share a cache line, its gradient and hessian are read once for all features.
 * Rows are added in pairs, the second of each pair into a spare histogram merged at the end:
 * two rows in the same bin (common: most features have a dominant bin) would otherwise wait
 * on each other's store. Measured on Adult: 1.5× faster at the root than column-major bins,
 * 1.7× on a child node.
 */
import type { BinMapper } from './binning.js';

/** Values per histogram slot: gradient sum, hessian sum, row count. */
export const SLOT_WIDTH = 3;

/** Below this many rows a node's histogram is built without the spare (zeroing and merging it would cost more). */
const PAIRED_MIN_ROWS = 512;

export function createHistogram(mapper: BinMapper): Float64Array {
  return new Float64Array(mapper.totalSlots * SLOT_WIDTH);
}

/** Sets the histogram values of the selected features to zero. */
function clearSelected(hist: Float64Array, selection: FeatureSelection): void {
  const { valueStart, valueEnd } = selection;
  for (let a = 0; a < valueStart.length; a++) hist.fill(0, valueStart[a]!, valueEnd[a]!);
}

/**
 * Fills `hist` for the selected features from the rows `rows[start..end)` (every row
 * start..end−1 when `rows` is null). `binned` is row-major with `cols` bins per row;
 * `grad`/`hess` are indexed by row. `spare` is scratch of the same size as `hist`. The
 * spans of features not selected are left as they were.
 */
export function buildHistogram(
  hist: Float64Array,
  spare: Float64Array,
  selection: FeatureSelection,
  binned: Uint8Array,
  cols: number,
  rows: Uint32Array | null,
  start: number,
  end: number,
  grad: Float64Array,
  hess: Float64Array,
): void {
  const { features: active, slotBase } = selection;
  const features = active.length;
  clearSelected(hist, selection);
  let i = start;
  if (end - start >= PAIRED_MIN_ROWS) {
    clearSelected(spare, selection);
    for (; i + 1 < end; i += 2) {
      const r = rows === null ? i : rows[i]!;
      const q = rows === null ? i + 1 : rows[i + 1]!;
      const gr = grad[r]!;
      const hr = hess[r]!;
      const gq = grad[q]!;
      const hq = hess[q]!;
      const rb = r * cols;
      const qb = q * cols;
      for (let a = 0; a < features; a++) {
        const f = active[a]!;
        const base = slotBase[a]!;
        const s = (base + binned[rb + f]!) * SLOT_WIDTH;
        hist[s]! += gr;
        hist[s + 1]! += hr;
        hist[s + 2]! += 1;
        const t = (base + binned[qb + f]!) * SLOT_WIDTH;
        spare[t]! += gq;
        spare[t + 1]! += hq;
        spare[t + 2]! += 1;
      }
    }
    for (let a = 0; a < features; a++) {
      const end = selection.valueEnd[a]!;
      for (let j = selection.valueStart[a]!; j < end; j++) hist[j]! += spare[j]!;
    }
  }
  for (; i < end; i++) {
    const r = rows === null ? i : rows[i]!;
    const gr = grad[r]!;
    const hr = hess[r]!;
    const rb = r * cols;
    for (let a = 0; a < features; a++) {
      const s = (slotBase[a]! + binned[rb + active[a]!]!) * SLOT_WIDTH;
      hist[s]! += gr;
      hist[s + 1]! += hr;
      hist[s + 2]! += 1;
    }
  }
}

/** The features a tree may split on, with where each one's part of a histogram lies. */
export interface FeatureSelection {
  /** Ascending feature indices. */
  readonly features: Int32Array;
  /** First slot of each selected feature. */
  readonly slotBase: Int32Array;
  /** Each selected feature's histogram values are hist[valueStart[a] .. valueEnd[a]). */
  readonly valueStart: Int32Array;
  readonly valueEnd: Int32Array;
}

export function selectFeatures(mapper: BinMapper, features: Int32Array): FeatureSelection {
  const slotBase = Int32Array.from(features, (f) => mapper.offsets[f]!);
  return {
    features,
    slotBase,
    valueStart: slotBase.map((slot) => slot * SLOT_WIDTH),
    valueEnd: Int32Array.from(features, (f) => (mapper.offsets[f]! + mapper.features[f]!.valueBins + 1) * SLOT_WIDTH),
  };
}

/** `out = parent − child` for the selected features (the sibling's histogram; `out` may be `parent`). */
export function subtractHistogram(out: Float64Array, parent: Float64Array, child: Float64Array, selection: FeatureSelection): void {
  const { valueStart, valueEnd } = selection;
  for (let a = 0; a < valueStart.length; a++) {
    const end = valueEnd[a]!;
    for (let i = valueStart[a]!; i < end; i++) out[i] = parent[i]! - child[i]!;
  }
}
