import { describe, expect, it } from 'vitest';
import { createBoosterScorer } from '../../../../src/core/models/gbt/booster-scorer.js';
import { featureCardinalities } from '../../../../src/core/models/gbt/gbt-booster.js';
import { leafOf } from '../../../../src/core/models/gbt/gbt-tree.js';
import { trainBooster } from '../../../../src/core/models/gbt/train-booster.js';
import { createRng } from '../../../../src/core/random.js';
import { mixedBinary, params } from './gbt-fixtures.js';

describe('createBoosterScorer', () => {
  it('scores as the tree walk of the spec does, for any number of rows', async () => {
    const data = mixedBinary(1_000, 3);
    const booster = await trainBooster(data, undefined, params({ trees: 15 }), { objective: 'binary', seed: 1 });
    const cardinality = featureCardinalities(booster.features);
    const rng = createRng(8);
    const codes = [0, 1, 2, 3, 4, 5, 6, 42, -3, 0.5, Number.NaN];
    const scorer = createBoosterScorer(booster);
    for (const rows of [1, 3, 4, 7, 64]) {
      const x = new Float32Array(rows * 3);
      for (let i = 0; i < rows; i++) {
        x[i * 3] = rng() < 0.2 ? Number.NaN : (rng() - 0.5) * 6;
        x[i * 3 + 1] = codes[Math.floor(rng() * codes.length)]!;
        x[i * 3 + 2] = rng() - 0.5;
      }
      const p = scorer.score(x, rows);
      for (let r = 0; r < rows; r++) {
        let raw = booster.baseScores[0]!;
        for (const tree of booster.trees) raw += tree.leafValue[leafOf(tree, cardinality, x, r * 3)]!;
        expect(p[r]).toBe(Math.fround(1 / (1 + Math.exp(-raw))));
      }
    }
  });

  it('gives multiclass probabilities as the softmax of each class’s trees', async () => {
    const data = mixedBinary(900, 4);
    const y = Float32Array.from({ length: data.rows }, (_, r) => (Number.isNaN(data.x[r * 3 + 1]!) ? 0 : data.x[r * 3 + 1]! % 3));
    const booster = await trainBooster({ ...data, y }, undefined, params({ trees: 4 }), { objective: 'multiclass', classes: 3, seed: 1 });
    const cardinality = featureCardinalities(booster.features);
    const rows = 9;
    const p = createBoosterScorer(booster).score(data.x.subarray(0, rows * 3), rows);
    expect(p.length).toBe(rows * 3);
    for (let r = 0; r < rows; r++) {
      const raw = Array.from(booster.baseScores);
      booster.trees.forEach((tree, t) => (raw[t % 3]! += tree.leafValue[leafOf(tree, cardinality, data.x, r * 3)]!));
      const max = Math.max(...raw);
      const total = raw.reduce((sum, v) => sum + Math.exp(v - max), 0);
      for (let c = 0; c < 3; c++) expect(p[r * 3 + c]).toBe(Math.fround(Math.exp(raw[c]! - max) / total));
    }
  });

  it('returns a view of its own buffer, valid until the next call', async () => {
    const data = mixedBinary(500, 3);
    const booster = await trainBooster(data, undefined, params({ trees: 3 }), { objective: 'regression', seed: 1 });
    const scorer = createBoosterScorer(booster);
    expect(scorer.outputs).toBe(1);
    const first = scorer.score(data.x.subarray(0, 6), 2);
    const kept = first.slice();
    const second = scorer.score(data.x.subarray(6, 12), 2);
    expect(second.buffer).toBe(first.buffer);
    expect(Array.from(scorer.score(data.x.subarray(0, 6), 2))).toEqual(Array.from(kept));
    expect(scorer.score(new Float32Array(0), 0).length).toBe(0);
  });

  it('reads the first rows of a longer reusable buffer, and rejects one too short', async () => {
    const data = mixedBinary(300, 3);
    const booster = await trainBooster(data, undefined, params({ trees: 3 }), { objective: 'binary', seed: 1 });
    const scorer = createBoosterScorer(booster);
    const exact = Array.from(scorer.score(data.x.subarray(0, 6), 2));
    expect(Array.from(scorer.score(data.x, 2))).toEqual(exact);
    expect(() => scorer.score(new Float32Array(5), 2)).toThrow(/expected 2 rows × 3 features = 6 values, got 5/);
  });
});
