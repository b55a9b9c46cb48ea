import { describe, expect, it } from 'vitest';
import { binDataset, fitBinMapper } from '../../../../src/core/models/gbt/binning.js';
import { datasetOf } from './gbt-fixtures.js';

describe('fitBinMapper', () => {
  it('gives each of few distinct values its own bin, edges at the midpoints, NaN its own bin', () => {
    const data = datasetOf([[3], [1], [Number.NaN], [2], [1], [3]], [0, 0, 0, 0, 0, 0]);
    const mapper = fitBinMapper(data, 255, 0);
    const bins = mapper.features[0]!;
    expect(bins.kind).toBe('numeric');
    if (bins.kind !== 'numeric') return;
    expect(Array.from(bins.edges)).toEqual([1.5, 2.5]);
    expect(bins.valueBins).toBe(3);
    expect(Array.from(binDataset(mapper, data.x, 6, 1))).toEqual([2, 0, 3, 1, 0, 2]);
  });

  it('uses at most maxBins quantile bins whose edges are Float32 values, and bins v ≤ edge low', () => {
    const rows = Array.from({ length: 1_000 }, (_, i) => [Math.fround(i * 0.1 + 0.01)]);
    const data = datasetOf(rows, new Array(1_000).fill(0));
    const mapper = fitBinMapper(data, 16, 0);
    const bins = mapper.features[0]!;
    if (bins.kind !== 'numeric') throw new Error('numeric expected');
    expect(bins.valueBins).toBe(16);
    for (const edge of bins.edges) expect(Math.fround(edge)).toBe(edge);
    const binned = binDataset(mapper, data.x, data.rows, 1);
    const counts = new Array(17).fill(0);
    for (const b of binned) counts[b]++;
    for (let b = 0; b < 16; b++) expect(counts[b]).toBeGreaterThanOrEqual(62);
    // The contract a raw-unit tree relies on: bin(v) ≤ t exactly when v ≤ edges[t].
    let broken = 0;
    for (let r = 0; r < data.rows; r++) {
      for (let t = 0; t < bins.edges.length; t++) if (binned[r]! <= t !== data.x[r]! <= bins.edges[t]!) broken++;
    }
    expect(broken).toBe(0);
  });

  it('bins categorical codes by code; NaN, unseen, negative, fractional and too-large codes share the missing bin', () => {
    const data = datasetOf([[0], [2], [2], [5], [Number.NaN], [-1], [1.5], [9]], [0, 0, 0, 0, 0, 0, 0, 0], [{ name: 'c', kind: 'categorical', cardinality: 6 }]);
    const mapper = fitBinMapper(data, 255, 0);
    const bins = mapper.features[0]!;
    if (bins.kind !== 'categorical') throw new Error('categorical expected');
    expect(Array.from(bins.binToCode)).toEqual([0, 2, 5]);
    expect(bins.cardinality).toBe(6);
    expect(Array.from(binDataset(mapper, data.x, data.rows, 1))).toEqual([0, 1, 1, 2, 3, 3, 3, 3]);
  });

  it('keeps the most frequent maxBins categories when there are more; the rest count as missing', () => {
    // Codes 0..5 with counts 1, 6, 2, 5, 3, 4: with 3 bins, codes 1, 3 and 5 stay.
    const codes = [0, 1, 1, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5];
    const data = datasetOf(codes.map((c) => [c]), codes.map(() => 0), [{ name: 'c', kind: 'categorical' }]);
    const mapper = fitBinMapper(data, 3, 0);
    const bins = mapper.features[0]!;
    if (bins.kind !== 'categorical') throw new Error('categorical expected');
    expect(bins.cardinality).toBe(6);
    expect(Array.from(bins.binToCode)).toEqual([1, 3, 5]);
    expect(Array.from(bins.codeToBin)).toEqual([-1, 0, -1, 1, -1, 2]);
  });
});
