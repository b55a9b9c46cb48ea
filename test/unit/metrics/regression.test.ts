import { describe, expect, it } from 'vitest';
import { regressionMetrics } from '../../../src/core/metrics/regression.js';

describe('regressionMetrics', () => {
  it('matches hand-computed R², RMSE and MAE', () => {
    // y = [3, −0.5, 2, 7], ŷ = [2.5, 0, 2, 8]; errors 0.5, −0.5, 0, −1.
    // SS_res = .25 + .25 + 0 + 1 = 1.5 → RMSE = √(1.5/4) = 0.6123724; MAE = 2/4 = 0.5.
    // mean y = 2.875; SS_tot = .015625 + 11.390625 + .765625 + 17.015625 = 29.1875;
    // R² = 1 − 1.5/29.1875 = 0.9486081 (scikit-learn's r2_score docs give the same).
    const m = regressionMetrics([3, -0.5, 2, 7], [2.5, 0, 2, 8]);
    expect(m.n).toBe(4);
    expect(m.r2).toBeCloseTo(0.9486081, 6);
    expect(m.rmse).toBeCloseTo(0.6123724, 6);
    expect(m.mae).toBe(0.5);
  });

  it('is negative for predictions worse than the mean', () => {
    // y = [1, 2, 3], ŷ = [3, 2, 1]: SS_res = 4 + 0 + 4 = 8, SS_tot = 2 → R² = 1 − 4 = −3.
    const m = regressionMetrics([1, 2, 3], [3, 2, 1]);
    expect(m.r2).toBe(-3);
    expect(m.rmse).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(m.mae).toBeCloseTo(4 / 3, 12);
  });

  it('follows scikit-learn for a constant target: 1 when exact, else 0', () => {
    expect(regressionMetrics([2, 2], [2, 2]).r2).toBe(1);
    expect(regressionMetrics([2, 2], [1, 3]).r2).toBe(0);
  });

  it('refuses mismatched, empty or non-finite input', () => {
    expect(() => regressionMetrics([1, 2], [1])).toThrow(/2 true values but 1 predictions/);
    expect(() => regressionMetrics([], [])).toThrow(/no rows/);
    expect(() => regressionMetrics([1, Number.NaN], [1, 2])).toThrow(/index 1/);
  });
});
