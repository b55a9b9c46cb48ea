import { beforeAll, describe, expect, it } from 'vitest';
import { createBoosterScorer } from '../../../../src/core/models/gbt/booster-scorer.js';
import { parseBooster, serializeBooster } from '../../../../src/core/models/gbt/booster-serialization.js';
import type { Booster } from '../../../../src/core/models/gbt/gbt-booster.js';
import { trainBooster } from '../../../../src/core/models/gbt/train-booster.js';
import { createRng } from '../../../../src/core/random.js';
import { mixedBinary, params } from './gbt-fixtures.js';

/** Rows with NaN everywhere, unseen codes (6, 99, −1, 2.5) and values beyond the training range. */
function awkwardRows(rows: number): Float32Array {
  const rng = createRng(77);
  const x = new Float32Array(rows * 3);
  const codes = [0, 1, 2, 3, 4, 5, 6, 99, -1, 2.5, Number.NaN];
  for (let r = 0; r < rows; r++) {
    x[r * 3] = rng() < 0.15 ? Number.NaN : (rng() - 0.5) * 10;
    x[r * 3 + 1] = codes[Math.floor(rng() * codes.length)]!;
    x[r * 3 + 2] = rng() < 0.05 ? Number.POSITIVE_INFINITY : rng() * 4 - 2;
  }
  return x;
}

function expectBitIdentical(a: Float32Array, b: Float32Array): void {
  expect(b.length).toBe(a.length);
  let differ = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) differ++;
  expect(differ).toBe(0);
}

function reserialize(document: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(document));
}

describe('serializeBooster / parseBooster', () => {
  let binary: Booster;
  let multiclass: Booster;
  beforeAll(async () => {
    const data = mixedBinary(1_500, 12);
    binary = await trainBooster(data, undefined, params({ trees: 25, rowFraction: 0.8, featureFraction: 0.67 }), { objective: 'binary', seed: 5 });
    // Three classes from the same columns: label = group code mod 3.
    const y = Float32Array.from({ length: data.rows }, (_, r) => {
      const code = data.x[r * 3 + 1]!;
      return Number.isNaN(code) ? 0 : code % 3;
    });
    multiclass = await trainBooster({ ...data, y }, undefined, params({ trees: 6 }), { objective: 'multiclass', classes: 3, seed: 5 });
  });

  it('round-trips a binary booster to bit-identical scores on NaN and unseen categories', () => {
    const bytes = serializeBooster(binary);
    const parsed = parseBooster(bytes);
    const x = awkwardRows(1_003);
    const before = createBoosterScorer(binary).score(x, 1_003).slice();
    const after = createBoosterScorer(parsed).score(x, 1_003).slice();
    expectBitIdentical(before, after);
    expect(new Set(before).size).toBeGreaterThan(50);
    // And the format is stable: serializing the parsed booster gives the same bytes.
    expect(new TextDecoder().decode(serializeBooster(parsed))).toBe(new TextDecoder().decode(bytes));
    expect(Array.from(parsed.featureImportance)).toEqual(Array.from(binary.featureImportance));
    expect(parsed.params).toEqual(binary.params);
  });

  it('round-trips a multiclass booster', () => {
    const parsed = parseBooster(serializeBooster(multiclass));
    const x = awkwardRows(101);
    expectBitIdentical(createBoosterScorer(multiclass).score(x, 101).slice(), createBoosterScorer(parsed).score(x, 101).slice());
    expect(parsed.outputs).toBe(3);
  });

  it('writes a threshold of +Infinity as null and reads it back', () => {
    const document = JSON.parse(new TextDecoder().decode(serializeBooster(binary))) as { trees: { threshold: (number | null)[]; categoryStart: number[] }[] };
    const tree = document.trees[0]!;
    const numeric = tree.categoryStart.indexOf(-1);
    tree.threshold[numeric] = null;
    const parsed = parseBooster(reserialize(document));
    expect(parsed.trees[0]!.threshold[numeric]).toBe(Number.POSITIVE_INFINITY);
  });

  it('rejects malformed files with a message that says what is wrong', () => {
    const good = JSON.parse(new TextDecoder().decode(serializeBooster(binary))) as Record<string, unknown> & { trees: Record<string, unknown[]>[] };
    const broken = (change: (copy: typeof good) => void): Uint8Array => {
      const copy = structuredClone(good);
      change(copy);
      return reserialize(copy);
    };
    expect(() => parseBooster(new TextEncoder().encode('{"format": "mlctl-gbt"'))).toThrow(/gbt model: not a JSON document/);
    expect(() => parseBooster(Uint8Array.of(0xff, 0xfe))).toThrow(/not a JSON document/);
    expect(() => parseBooster(broken((c) => (c.format = 'xgboost')))).toThrow(/format must be "mlctl-gbt", got "xgboost"/);
    expect(() => parseBooster(broken((c) => (c.version = 9)))).toThrow(/version 9 is not supported/);
    expect(() => parseBooster(broken((c) => (c.objective = 'poisson')))).toThrow(/objective must be binary, regression or multiclass/);
    expect(() => parseBooster(broken((c) => (c.baseScores = [0, 1])))).toThrow(/baseScores has 2 values for 1 outputs/);
    expect(() => parseBooster(broken((c) => c.trees.pop()))).toThrow(/24 trees for 25 rounds of 1 outputs/);
    expect(() => parseBooster(broken((c) => (c.trees[3]!.leafValue![0] = 'x')))).toThrow(/trees\[3\]\.leafValue\[0\] must be a finite number, got "x"/);
    expect(() => parseBooster(broken((c) => c.trees[3]!.leafValue!.pop()))).toThrow(/trees\[3\]\.leafValue has \d+ entries/);
    expect(() => parseBooster(broken((c) => (c.trees[2]!.left![0] = 0)))).toThrow(/trees\[2\] node 0: child 0 is out of range/);
    expect(() => parseBooster(broken((c) => (c.trees[2]!.feature![0] = 7)))).toThrow(/trees\[2\] node 0: feature 7 is not one of the 3 features/);
    expect(() => parseBooster(broken((c) => (c.params = { ...(c.params as object), maxLeaves: 1 })))).toThrow(/params: maxLeaves: must be a whole number from 2 to 131072, got 1/);
    expect(() => parseBooster(broken((c) => (c.features = 'all')))).toThrow(/features must be an array/);
  });

  it('rejects a tree whose two children are the same leaf', () => {
    const document = JSON.parse(new TextDecoder().decode(serializeBooster(binary))) as { trees: { left: number[]; right: number[] }[] };
    const tree = document.trees[0]!;
    tree.right[0] = tree.left[0]!;
    expect(() => parseBooster(reserialize(document))).toThrow(/trees\[0\] node 0: child -?\d+ (has two parents|is out of range)/);
  });
});
