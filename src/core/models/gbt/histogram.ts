/**
 * Gradient histograms: for each feature and bin, the sums of gradients and hessians and the
 * row count of a node's rows. One histogram is a Float64Array of `totalSlots × 3` values,
 * interleaved (gradient, hessian, count) per slot so one update touches one cache line; the
 * slots of feature f start at `mapper.offsets[f]`.
 */
import type { BinMapper } from './binning.js';

/** Values per histogram slot: gradient sum, hessian sum, row count. */
export const SLOT_WIDTH = 3;

export function createHistogram(mapper: BinMapper): Float64Array {
  return new Float64Array(mapper.totalSlots * SLOT_WIDTH);
}

/** The range of histogram values that belongs to feature `f`. */
export function featureSpan(mapper: BinMapper, f: number): { start: number; end: number } {
  const start = mapper.offsets[f]! * SLOT_WIDTH;
  return { start, end: start + (mapper.features[f]!.valueBins + 1) * SLOT_WIDTH };
}

/**
 * Fills `hist` for the features in `active` from the node's rows `rows[start..end)`.
 * `orderedGrad`/`orderedHess` hold the gradients of those rows in the same order (gathered once
 * per node, so the per-feature loops read them sequentially). `binned` is column-major with
 * `rowCount` rows per column. Features not in `active` are left as they were.
 */
export function buildHistogram(
  hist: Float64Array,
  mapper: BinMapper,
  active: Int32Array,
  binned: Uint8Array,
  rowCount: number,
  rows: Uint32Array,
  start: number,
  end: number,
  orderedGrad: Float64Array,
  orderedHess: Float64Array,
): void {
  const n = end - start;
  const offsets = mapper.offsets;
  for (let a = 0; a < active.length; a++) {
    const f = active[a]!;
    const base = offsets[f]! * SLOT_WIDTH;
    const slots = mapper.features[f]!.valueBins + 1;
    hist.fill(0, base, base + slots * SLOT_WIDTH);
    const column = f * rowCount;
    for (let i = 0; i < n; i++) {
      const s = base + binned[column + rows[start + i]!]! * SLOT_WIDTH;
      hist[s]! += orderedGrad[i]!;
      hist[s + 1]! += orderedHess[i]!;
      hist[s + 2]! += 1;
    }
  }
}

/** Like buildHistogram for a node holding every row 0..rowCount−1 in order: no gathering needed. */
export function buildRootHistogram(
  hist: Float64Array,
  mapper: BinMapper,
  active: Int32Array,
  binned: Uint8Array,
  rowCount: number,
  grad: Float64Array,
  hess: Float64Array,
): void {
  const offsets = mapper.offsets;
  for (let a = 0; a < active.length; a++) {
    const f = active[a]!;
    const base = offsets[f]! * SLOT_WIDTH;
    const slots = mapper.features[f]!.valueBins + 1;
    hist.fill(0, base, base + slots * SLOT_WIDTH);
    const column = f * rowCount;
    for (let r = 0; r < rowCount; r++) {
      const s = base + binned[column + r]! * SLOT_WIDTH;
      hist[s]! += grad[r]!;
      hist[s + 1]! += hess[r]!;
      hist[s + 2]! += 1;
    }
  }
}

/** `out = parent − child` for the features in `active` (the sibling's histogram; `out` may be `parent`). */
export function subtractHistogram(out: Float64Array, parent: Float64Array, child: Float64Array, mapper: BinMapper, active: Int32Array): void {
  for (let a = 0; a < active.length; a++) {
    const { start, end } = featureSpan(mapper, active[a]!);
    for (let i = start; i < end; i++) out[i] = parent[i]! - child[i]!;
  }
}
