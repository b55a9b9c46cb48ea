import { describe, expect, it } from 'vitest';
import { binDataset, fitBinMapper } from '../../../../src/core/models/gbt/binning.js';
import { buildHistogram, createHistogram, selectFeatures, subtractHistogram } from '../../../../src/core/models/gbt/histogram.js';
import { createRng } from '../../../../src/core/random.js';
import { mixedBinary } from './gbt-fixtures.js';

describe('gradient histograms', () => {
  // 2,000 rows: nodes this large take the paired (two-accumulator) path, small ones the plain one.
  const data = mixedBinary(2_000, 7);
  const mapper = fitBinMapper(data, 255, 7);
  const binned = binDataset(mapper, data.x, data.rows, data.cols);
  const all = selectFeatures(mapper, Int32Array.of(0, 1, 2));
  const rng = createRng(3);
  const grad = Float64Array.from({ length: data.rows }, () => rng() - 0.5);
  const hess = Float64Array.from({ length: data.rows }, () => rng() * 0.25);

  function direct(rows: Uint32Array): Float64Array {
    const hist = createHistogram(mapper);
    buildHistogram(hist, createHistogram(mapper), all, binned, data.cols, rows, 0, rows.length, grad, hess);
    return hist;
  }

  it('sums gradients, hessians and counts per bin', () => {
    const rows = Uint32Array.from({ length: data.rows }, (_, i) => i);
    const hist = direct(rows);
    // Feature 1's slots cover every row once: totals equal the gradient sums.
    const offset = mapper.offsets[1]! * 3;
    let g = 0;
    let h = 0;
    let c = 0;
    for (let b = 0; b <= mapper.features[1]!.valueBins; b++) {
      g += hist[offset + 3 * b]!;
      h += hist[offset + 3 * b + 1]!;
      c += hist[offset + 3 * b + 2]!;
    }
    expect(c).toBe(data.rows);
    expect(g).toBeCloseTo(grad.reduce((a, b) => a + b, 0), 9);
    expect(h).toBeCloseTo(hess.reduce((a, b) => a + b, 0), 9);
    // The rows of code 4 land in code 4's bin.
    let count4 = 0;
    for (let r = 0; r < data.rows; r++) if (data.x[r * 3 + 1] === 4) count4++;
    const group = mapper.features[1]!;
    if (group.kind !== 'categorical') throw new Error('categorical expected');
    const bin4 = offset + 3 * group.codeToBin[4]!;
    expect(hist[bin4 + 2]).toBe(count4);
    // null rows means rows start..end−1 in order: the same histogram.
    const implicit = createHistogram(mapper);
    buildHistogram(implicit, createHistogram(mapper), all, binned, data.cols, null, 0, data.rows, grad, hess);
    expect(Array.from(implicit)).toEqual(Array.from(hist));
  });

  it('parent − child equals the sibling built directly', () => {
    for (const fraction of [0.5, 0.1]) {
      const left: number[] = [];
      const right: number[] = [];
      for (let r = 0; r < data.rows; r++) (rng() < fraction ? left : right).push(r);
      const parent = direct(Uint32Array.from({ length: data.rows }, (_, i) => i));
      const child = direct(Uint32Array.from(left));
      const sibling = direct(Uint32Array.from(right));
      const derived = createHistogram(mapper);
      subtractHistogram(derived, parent, child, all);
      let countsDiffer = 0;
      let largestError = 0;
      for (let i = 0; i < derived.length; i++) {
        if (i % 3 === 2) countsDiffer += derived[i] === sibling[i] ? 0 : 1;
        else largestError = Math.max(largestError, Math.abs(derived[i]! - sibling[i]!));
      }
      expect(countsDiffer).toBe(0);
      expect(largestError).toBeLessThan(1e-10);
      expect(sibling.some((v, i) => i % 3 === 0 && v !== 0)).toBe(true);
    }
  });

  it('leaves the spans of features not selected untouched', () => {
    const hist = createHistogram(mapper).fill(7);
    buildHistogram(hist, createHistogram(mapper), selectFeatures(mapper, Int32Array.of(0, 2)), binned, data.cols, null, 0, data.rows, grad, hess);
    const start = mapper.offsets[1]! * 3;
    const end = start + (mapper.features[1]!.valueBins + 1) * 3;
    expect(hist.subarray(start, end).every((v) => v === 7)).toBe(true);
    expect(hist[0]).not.toBe(7);
  });
});
