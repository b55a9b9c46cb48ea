import { describe, expect, it } from 'vitest';
import { sliceMetrics } from '../../../src/core/report/slice-metrics.js';
import { thresholdTable } from '../../../src/core/report/threshold-table.js';

describe('sliceMetrics', () => {
  // Group F: 4 rows (2 positive); the model flags one positive and one negative.
  // Group M: 4 rows (2 positive); the model flags both positives and nothing else.
  const records = [
    { sex: 'F' }, { sex: 'F' }, { sex: 'F' }, { sex: 'F' },
    { sex: 'M' }, { sex: 'M' }, { sex: 'M' }, { sex: 'M' },
    { sex: null },
  ];
  const y = [1, 1, 0, 0, 1, 1, 0, 0, 1];
  const p = [0.9, 0.2, 0.7, 0.1, 0.8, 0.6, 0.3, 0.4, 0.9];
  const report = sliceMetrics(records, y, p, 'sex', { minRows: 2 });

  it('computes positive rate, TPR, FPR and accuracy per group by hand', () => {
    const f = report.groups.find((g) => g.value === 'F')!;
    expect(f).toMatchObject({ rows: 4, baseRate: 0.5, positiveRate: 0.5, tpr: 0.5, fpr: 0.5, accuracy: 0.5, small: false });
    const m = report.groups.find((g) => g.value === 'M')!;
    expect(m).toMatchObject({ rows: 4, baseRate: 0.5, positiveRate: 0.5, tpr: 1, fpr: 0, accuracy: 1, small: false });
  });

  it('puts missing values in their own group and leaves small groups out of the gaps', () => {
    const missing = report.groups.find((g) => g.value === '(missing)')!;
    expect(missing).toMatchObject({ rows: 1, small: true, tpr: 1 });
    // The missing group has positive rate 1; were it compared, the positive-rate gap would be 0.5.
    expect(report.gaps.find((g) => g.measure === 'positiveRate')!.gap).toBe(0);
  });

  it('orders gaps largest first and names the groups at both ends', () => {
    expect(report.gaps.map((g) => [g.measure, g.gap])).toEqual([
      ['tpr', 0.5],
      ['fpr', 0.5],
      ['accuracy', 0.5],
      ['positiveRate', 0],
    ]);
    expect(report.largestGap).toMatchObject({ measure: 'tpr', highest: { group: 'M', value: 1 }, lowest: { group: 'F', value: 0.5 } });
    expect(report.disparateImpact).toBe(1);
  });

  it('has no gaps with fewer than two comparable groups', () => {
    const one = sliceMetrics(records, y, p, 'sex', { minRows: 5 });
    expect(one.gaps).toEqual([]);
    expect(one.largestGap).toBeNull();
    expect(one.disparateImpact).toBeNull();
  });

  it('honours the threshold', () => {
    const strict = sliceMetrics(records, y, p, 'sex', { minRows: 2, threshold: 0.85 });
    expect(strict.groups.find((g) => g.value === 'F')!.positiveRate).toBe(0.25);
    expect(strict.groups.find((g) => g.value === 'M')!.positiveRate).toBe(0);
    expect(strict.disparateImpact).toBe(0);
  });
});

describe('thresholdTable', () => {
  it('gives precision, recall, F1, positive rate and accuracy at each threshold (positive when p ≥ t)', () => {
    const y = [1, 1, 0, 0];
    const p = [0.9, 0.5, 0.5, 0.1];
    const [low, mid, high] = thresholdTable(y, p, [0.05, 0.5, 0.95]);
    expect(low).toEqual({ threshold: 0.05, precision: 0.5, recall: 1, f1: 2 / 3, positiveRate: 1, accuracy: 0.5 });
    expect(mid).toEqual({ threshold: 0.5, precision: 2 / 3, recall: 1, f1: 0.8, positiveRate: 0.75, accuracy: 0.75 });
    // Nothing predicted positive: precision and F1 are 0, never NaN.
    expect(high).toEqual({ threshold: 0.95, precision: 0, recall: 0, f1: 0, positiveRate: 0, accuracy: 0.5 });
  });

  it('defaults to 0.1 … 0.9', () => {
    expect(thresholdTable([1, 0], [0.6, 0.4]).map((r) => r.threshold)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  });
});
