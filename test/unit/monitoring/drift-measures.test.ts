import { describe, expect, it } from 'vitest';
import { jensenShannonDistance, populationStabilityIndex, PSI_EPSILON, smoothedShares } from '../../../src/core/monitoring/drift-measures.js';

describe('PSI', () => {
  it('matches the hand-computed value, and smoothing barely moves it when no bin is empty', () => {
    // Shares 0.5/0.5 against 0.9/0.1:
    //   (0.9 − 0.5)·ln(0.9/0.5) + (0.1 − 0.5)·ln(0.1/0.5) = 0.4·0.5877867 + 0.4·1.6094379 = 0.8788898
    expect(populationStabilityIndex([50, 50], [90, 10], 0)).toBeCloseTo(0.8788898, 7);
    // Smoothed: r = (0.5 + ε)/(1 + 2ε) = 0.5 on both sides; c = 0.9000/1.0002 = 0.8999200, 0.1001/1.0002 = 0.1000800:
    //   0.3999200·ln(1.7998400) + 0.3999200·ln(4.9960040) = 0.3999200·0.5876978 + 0.3999200·1.6086384 = 0.2350321 + 0.6433267 = 0.8783588
    expect(populationStabilityIndex([50, 50], [90, 10])).toBeCloseTo(0.8783588, 6);
  });

  it('stays finite where a bin is empty on one side (smoothed, never infinite or NaN)', () => {
    // Reference 100/0 → r = (1 + ε)/(1 + 2ε) = 0.9999000, ε/(1 + 2ε) = 0.0000999800; current 0.5/0.5:
    //   (0.5 − 0.9999000)·ln(0.5/0.9999000) + (0.5 − 0.0000999800)·ln(0.5/0.0000999800)
    //   = 0.4999000·0.6930472 + 0.4999000·8.5173932 = 0.3464543 + 4.2578450 = 4.6042993
    expect(populationStabilityIndex([100, 0], [50, 50])).toBeCloseTo(4.6042993, 6);
    expect(populationStabilityIndex([50, 50], [100, 0])).toBeCloseTo(4.6042993, 6);
    // Everything moves into a bin training never saw: large, still finite.
    const moved = populationStabilityIndex([100, 0, 0], [0, 0, 100]);
    expect(moved).toBeCloseTo(18.4153561, 6);
    for (const value of [moved, populationStabilityIndex([0, 0, 0], [0, 5, 0]), populationStabilityIndex([3, 0], [0, 0])]) {
      expect(Number.isFinite(value)).toBe(true);
    }
  });

  it('is 0 for identical shares at any scale, and never negative', () => {
    expect(populationStabilityIndex([10, 20, 70], [1, 2, 7])).toBe(0);
    expect(populationStabilityIndex([0, 0], [0, 0])).toBe(0);
    expect(populationStabilityIndex([1, 1, 1], [1, 1, 1 + 1e-12])).toBeGreaterThanOrEqual(0);
  });

  it('smooths shares to sum to 1, and reads an empty histogram as uniform', () => {
    const shares = smoothedShares([3, 0, 1]);
    expect(shares[1]).toBeCloseTo(PSI_EPSILON / (1 + 3 * PSI_EPSILON), 12);
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect([...smoothedShares([0, 0, 0, 0])]).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('refuses distributions over different bins', () => {
    expect(() => populationStabilityIndex([1, 2], [1, 2, 3])).toThrow(/different bins/);
  });
});

describe('Jensen–Shannon distance (base 2)', () => {
  it('matches the hand-computed value', () => {
    // p = (0.5, 0.5), q = (0.9, 0.1), m = (0.7, 0.3):
    //   KL(p‖m) = 0.5·log2(0.5/0.7) + 0.5·log2(0.5/0.3) = −0.2427134 + 0.3684828 = 0.1257694
    //   KL(q‖m) = 0.9·log2(0.9/0.7) + 0.1·log2(0.1/0.3) =  0.3263131 − 0.1584963 = 0.1678168
    //   JSD = (0.1257694 + 0.1678168)/2 = 0.1467931; distance = √0.1467931 = 0.3831359
    expect(jensenShannonDistance([50, 50], [90, 10])).toBeCloseTo(0.3831359, 6);
  });

  it('handles empty bins without smoothing: 0·log 0 = 0', () => {
    // p = (0.75, 0.25, 0), q = (0.25, 0.25, 0.5), m = (0.5, 0.25, 0.25):
    //   KL(p‖m) = 0.75·log2(1.5) = 0.4387219; KL(q‖m) = 0.25·log2(0.5) + 0.5·log2(2) = 0.25
    //   JSD = 0.3443609; distance = 0.5868228
    expect(jensenShannonDistance([3, 1, 0], [1, 1, 2])).toBeCloseTo(0.5868228, 6);
  });

  it('is 0 for identical shares, 1 for disjoint ones, and symmetric', () => {
    expect(jensenShannonDistance([1, 2, 3], [2, 4, 6])).toBe(0);
    expect(jensenShannonDistance([1, 0], [0, 1])).toBe(1);
    expect(jensenShannonDistance([5, 1, 0], [0, 2, 9])).toBeCloseTo(jensenShannonDistance([0, 2, 9], [5, 1, 0]), 14);
    expect(Number.isFinite(jensenShannonDistance([0, 0], [0, 4]))).toBe(true);
  });
});
