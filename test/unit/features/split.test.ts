import { describe, expect, it } from 'vitest';
import { randomSplit, stratifiedSplit } from '../../../src/core/features/split.js';
import type { SplitIndices } from '../../../src/core/features/split.js';
import { createRng, shuffleInPlace } from '../../../src/core/random.js';

function labelsWith(count: number, positiveEvery: (i: number) => boolean): number[] {
  return Array.from({ length: count }, (_, i) => (positiveEvery(i) ? 1 : 0));
}

function expectPartition(split: SplitIndices, rows: number): void {
  const all = [...split.train, ...split.holdout].sort((a, b) => a - b);
  expect(all).toEqual(Array.from({ length: rows }, (_, i) => i));
  expect([...split.train]).toEqual([...split.train].sort((a, b) => a - b));
  expect([...split.holdout]).toEqual([...split.holdout].sort((a, b) => a - b));
}

function countWhere(indices: Uint32Array, labels: readonly number[], label: number): number {
  let count = 0;
  for (const i of indices) if (labels[i] === label) count++;
  return count;
}

describe('stratifiedSplit', () => {
  it('preserves the class ratio: 300 positives of 1000, 20% held out → 60 + 140', () => {
    const labels = labelsWith(1000, (i) => i % 10 < 3);
    const split = stratifiedSplit(labels, 0.2, 42);
    expectPartition(split, 1000);
    expect(split.holdout.length).toBe(200);
    expect(countWhere(split.holdout, labels, 1)).toBe(60);
    expect(countWhere(split.holdout, labels, 0)).toBe(140);
  });

  it('keeps each class within one row of its exact share, and the total at round(n × f)', () => {
    // 101 rows, 33 positives, 25%: exact shares 8.25 and 17, total round(25.25) = 25.
    const labels = labelsWith(101, (i) => i % 3 === 0 && i < 99);
    for (const seed of [1, 2, 3]) {
      const split = stratifiedSplit(labels, 0.25, seed);
      expectPartition(split, 101);
      expect(split.holdout.length).toBe(25);
      expect(Math.abs(countWhere(split.holdout, labels, 1) - 33 * 0.25)).toBeLessThanOrEqual(1);
      expect(Math.abs(countWhere(split.holdout, labels, 0) - 68 * 0.25)).toBeLessThanOrEqual(1);
    }
  });

  it('handles class ids beyond 0/1', () => {
    const labels = Array.from({ length: 90 }, (_, i) => i % 3);
    const split = stratifiedSplit(labels, 1 / 3, 5);
    for (const label of [0, 1, 2]) expect(countWhere(split.holdout, labels, label)).toBe(10);
  });

  it('is deterministic per seed and differs between seeds', () => {
    const labels = labelsWith(500, (i) => i % 4 === 0);
    const a = stratifiedSplit(labels, 0.1, 7);
    const b = stratifiedSplit(labels, 0.1, 7);
    const c = stratifiedSplit(labels, 0.1, 8);
    expect([...a.holdout]).toEqual([...b.holdout]);
    expect([...a.train]).toEqual([...b.train]);
    expect([...a.holdout]).not.toEqual([...c.holdout]);
  });

  it('holds out nothing at fraction 0 and refuses fractions outside [0, 1)', () => {
    expect(stratifiedSplit([0, 1, 0], 0, 1).holdout.length).toBe(0);
    expect(() => stratifiedSplit([0, 1], 1, 1)).toThrow(/out of range/);
    expect(() => stratifiedSplit([0, 1], -0.1, 1)).toThrow(/out of range/);
    expect(() => stratifiedSplit([0, Number.NaN], 0.5, 1)).toThrow(/row 1/);
  });
});

describe('randomSplit', () => {
  it('holds out round(n × f) rows, deterministically per seed', () => {
    const a = randomSplit(1001, 0.3, 9);
    expectPartition(a, 1001);
    expect(a.holdout.length).toBe(300);
    expect([...randomSplit(1001, 0.3, 9).holdout]).toEqual([...a.holdout]);
    expect([...randomSplit(1001, 0.3, 10).holdout]).not.toEqual([...a.holdout]);
  });
});

describe('random', () => {
  it('repeats a stream per seed, stays in [0, 1) and differs between seeds', () => {
    const a = createRng(123);
    const b = createRng(123);
    const c = createRng(124);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    // Roughly uniform: the mean of 1000 draws within 0.05 of ½ (fails only for a broken generator).
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.05);
  });

  it('shuffles into a permutation, the same one for the same seed', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const once = [...items];
    shuffleInPlace(once, createRng(3));
    const twice = new Uint32Array(items);
    shuffleInPlace(twice, createRng(3));
    expect([...twice]).toEqual(once);
    expect(once).not.toEqual(items);
    expect([...once].sort((x, y) => x - y)).toEqual(items);
  });
});
