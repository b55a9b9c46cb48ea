import { describe, expect, it } from 'vitest';
import { createBoosterScorer } from '../../../../src/core/models/gbt/booster-scorer.js';
import { serializeBooster } from '../../../../src/core/models/gbt/booster-serialization.js';
import type { Booster } from '../../../../src/core/models/gbt/gbt-booster.js';
import { trainBooster, type GbtIterationReport } from '../../../../src/core/models/gbt/train-booster.js';
import { logLoss } from '../../../../src/core/metrics/classification.js';
import { regressionMetrics } from '../../../../src/core/metrics/regression.js';
import { createRng } from '../../../../src/core/random.js';
import { datasetOf, gaussian, mixedBinary, params, sliceRows } from './gbt-fixtures.js';

/** A booster's serialized form, compared as one string (fast, unlike element-wise byte equality). */
function text(booster: Booster): string {
  return new TextDecoder().decode(serializeBooster(booster));
}

/** One split only: the root of a one-tree, two-leaf booster. */
const STUMP = params({ trees: 1, maxLeaves: 2, minSamplesLeaf: 1, learningRate: 1, featureFraction: 1 });

describe('missing values', () => {
  // x in 1..20: y = 1 above 10. Five missing rows labelled like the high values (or the low ones).
  function data(missingLabel: number) {
    const rows: number[][] = [];
    const y: number[] = [];
    for (let v = 1; v <= 20; v++) {
      rows.push([v]);
      y.push(v > 10 ? 1 : 0);
    }
    for (let i = 0; i < 5; i++) {
      rows.push([Number.NaN]);
      y.push(missingLabel);
    }
    return datasetOf(rows, y);
  }

  it('send missing values right when they behave like the high values', async () => {
    const booster = await trainBooster(data(1), undefined, STUMP, { objective: 'binary', seed: 1 });
    const tree = booster.trees[0]!;
    expect(Array.from(tree.threshold)).toEqual([10.5]);
    expect(tree.defaultLeft[0]).toBe(0);
    const p = createBoosterScorer(booster).score(Float32Array.of(Number.NaN, 20, 1), 3);
    expect(p[0]).toBe(p[1]);
    expect(p[0]).toBeGreaterThan(p[2]!);
  });

  it('send missing values left when they behave like the low values', async () => {
    const booster = await trainBooster(data(0), undefined, STUMP, { objective: 'binary', seed: 1 });
    const tree = booster.trees[0]!;
    expect(Array.from(tree.threshold)).toEqual([10.5]);
    expect(tree.defaultLeft[0]).toBe(1);
    const p = createBoosterScorer(booster).score(Float32Array.of(Number.NaN, 20, 1), 3);
    expect(p[0]).toBe(p[2]);
  });
});

describe('categorical splits', () => {
  // Codes 0..4, 200 rows each; class 1 exactly for codes 1 and 3. A numeric noise column beside it.
  const rng = createRng(5);
  const rows: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 1_000; i++) {
    const code = i % 5;
    rows.push([rng(), code]);
    y.push(code === 1 || code === 3 ? 1 : 0);
  }
  const data = datasetOf(rows, y, [
    { name: 'noise', kind: 'numeric' },
    { name: 'code', kind: 'categorical', cardinality: 5 },
  ]);

  it('separate {1, 3} from {0, 2, 4} with one split', async () => {
    const booster = await trainBooster(data, undefined, params({ trees: 1, maxLeaves: 2, learningRate: 1, featureFraction: 1 }), { objective: 'binary', seed: 1 });
    const tree = booster.trees[0]!;
    expect(Array.from(tree.feature)).toEqual([1]);
    const left = [0, 1, 2, 3, 4].filter((code) => ((tree.categoryBits[tree.categoryStart[0]!]! >>> code) & 1) === 1);
    expect([[1, 3], [0, 2, 4]]).toContainEqual(left);
    const p = createBoosterScorer(booster).score(Float32Array.of(0.5, 1, 0.5, 3, 0.5, 0, 0.5, 2, 0.5, 4), 5);
    expect(p[0]).toBe(p[1]);
    expect(p[2]).toBe(p[3]);
    expect(p[3]).toBe(p[4]);
    expect(p[0]).toBeGreaterThan(0.6);
    expect(p[2]).toBeLessThan(0.4);
  });

  it('send codes never seen in training where missing values go', async () => {
    const booster = await trainBooster(data, undefined, params({ trees: 1, maxLeaves: 2, featureFraction: 1 }), { objective: 'binary', seed: 1 });
    const tree = booster.trees[0]!;
    const scorer = createBoosterScorer(booster);
    const missing = scorer.score(Float32Array.of(0.5, Number.NaN), 1)[0]!;
    for (const code of [5, 7, -1, 2.5, 1e9]) expect(scorer.score(Float32Array.of(0.5, code), 1)[0]).toBe(missing);
    // No missing rows in training: missing follows the larger child, {0, 2, 4} (600 rows).
    const zero = scorer.score(Float32Array.of(0.5, 0), 1)[0]!;
    expect(missing).toBe(zero);
    expect(tree.defaultLeft[0]).toBe(((tree.categoryBits[tree.categoryStart[0]!]! >>> 0) & 1) === 1 ? 1 : 0);
  });
});

describe('trainBooster', () => {
  it('is deterministic for a seed, with row and feature sampling', async () => {
    const data = mixedBinary(800, 11);
    const sampled = params({ trees: 8, featureFraction: 0.67, rowFraction: 0.7, minSamplesLeaf: 5 });
    const a = await trainBooster(data, undefined, sampled, { objective: 'binary', seed: 42 });
    const b = await trainBooster(data, undefined, sampled, { objective: 'binary', seed: 42 });
    const c = await trainBooster(data, undefined, sampled, { objective: 'binary', seed: 43 });
    expect(text(b)).toBe(text(a));
    expect(text(c)).not.toBe(text(a));
    // Without sampling the seed changes nothing (binning has no subsample at this size).
    const all = params({ trees: 3, featureFraction: 1, rowFraction: 1 });
    const d = await trainBooster(data, undefined, all, { objective: 'binary', seed: 1 });
    const e = await trainBooster(data, undefined, all, { objective: 'binary', seed: 2 });
    expect(text(e)).toBe(text(d));
  });

  it('samples a fraction of the features per tree', async () => {
    const data = mixedBinary(1_500, 11);
    const booster = await trainBooster(data, undefined, params({ trees: 20, featureFraction: 0.34, minSamplesLeaf: 5 }), { objective: 'binary', seed: 3 });
    // One feature of three per tree: every split of a tree is on the same feature.
    for (const tree of booster.trees) expect(new Set(tree.feature).size).toBeLessThanOrEqual(1);
    const used = new Set(booster.trees.flatMap((tree) => Array.from(tree.feature)));
    expect(used.size).toBeGreaterThan(1);
  });

  it('stops early and keeps the rounds up to the best validation loss', async () => {
    // Few noisy rows and a high learning rate: the validation loss turns up after a few rounds.
    const data = mixedBinary(1_200, 21);
    const train = sliceRows(data, 0, 300);
    const validation = sliceRows(data, 300, 1_200);
    const reports: GbtIterationReport[] = [];
    const booster = await trainBooster(train, validation, params({ trees: 300, learningRate: 0.5, minSamplesLeaf: 2, earlyStoppingRounds: 5 }), {
      objective: 'binary',
      seed: 1,
      onIteration: (report) => reports.push(report),
    });
    expect(booster.iterationsRun).toBeLessThan(300);
    expect(booster.iterationsRun - booster.bestIteration).toBe(5);
    expect(booster.trees.length).toBe(booster.bestIteration);
    expect(reports.map((r) => r.iteration)).toEqual(Array.from({ length: booster.iterationsRun }, (_, i) => i + 1));
    const losses = reports.map((r) => r.validationLoss!);
    const best = Math.min(...losses);
    expect(losses.indexOf(best) + 1).toBe(booster.bestIteration);
    // The kept model scores the validation set at that best loss.
    const p = createBoosterScorer(booster).score(validation.x, validation.rows);
    expect(logLoss(validation.y, p)).toBeCloseTo(best, 5);
    // Training loss is reported each round and falls.
    expect(reports[reports.length - 1]!.trainLoss).toBeLessThan(reports[0]!.trainLoss);
    expect(reports[0]!.iterations).toBe(300);
  });

  it('reports training loss after each round that matches the model so far', async () => {
    const data = mixedBinary(400, 2);
    // With row sampling, rows a tree was not grown on get its outputs through the raw-unit tree.
    for (const rowFraction of [1, 0.6]) {
      const reports: GbtIterationReport[] = [];
      const booster = await trainBooster(data, undefined, params({ trees: 3, minSamplesLeaf: 5, rowFraction }), { objective: 'binary', seed: 1, onIteration: (r) => reports.push(r) });
      expect(reports.length).toBe(3);
      expect(reports[2]!.validationLoss).toBeUndefined();
      const p = createBoosterScorer(booster).score(data.x, data.rows);
      expect(logLoss(data.y, p)).toBeCloseTo(reports[2]!.trainLoss, 5);
    }
  });

  it('separates three classes (multiclass softmax)', async () => {
    const rng = createRng(9);
    const centres = [
      [0, 0],
      [4, 0],
      [0, 4],
    ];
    const rows: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 900; i++) {
      const k = i % 3;
      rows.push([centres[k]![0]! + gaussian(rng), centres[k]![1]! + gaussian(rng)]);
      y.push(k);
    }
    const data = datasetOf(rows, y);
    const train = sliceRows(data, 0, 600);
    const test = sliceRows(data, 600, 900);
    const booster = await trainBooster(train, undefined, params({ trees: 30 }), { objective: 'multiclass', classes: 3, seed: 1 });
    expect(booster.outputs).toBe(3);
    expect(booster.trees.length).toBe(90);
    const p = createBoosterScorer(booster).score(test.x, test.rows);
    let correct = 0;
    for (let r = 0; r < test.rows; r++) {
      const row = Array.from(p.subarray(r * 3, r * 3 + 3));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      if (row.indexOf(Math.max(...row)) === test.y[r]) correct++;
    }
    expect(correct / test.rows).toBeGreaterThanOrEqual(0.95);
  });

  it('fits y = 3·x1 − 2·x2 + noise (regression)', async () => {
    const rng = createRng(4);
    const rows: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < 1_500; i++) {
      const x1 = rng() * 4 - 2;
      const x2 = rng() * 4 - 2;
      rows.push([x1, x2]);
      y.push(3 * x1 - 2 * x2 + 0.5 * gaussian(rng));
    }
    const data = datasetOf(rows, y);
    const train = sliceRows(data, 0, 1_000);
    const test = sliceRows(data, 1_000, 1_500);
    const booster = await trainBooster(train, undefined, params({ trees: 200 }), { objective: 'regression', seed: 1 });
    let mean = 0;
    for (const v of train.y) mean += v / train.rows;
    expect(booster.baseScores[0]).toBeCloseTo(mean, 4);
    const predictions = createBoosterScorer(booster).score(test.x, test.rows);
    expect(regressionMetrics(test.y, predictions).r2).toBeGreaterThanOrEqual(0.9);
  });

  it('starts binary models from the log-odds of the training prior', async () => {
    const data = datasetOf([[1], [2], [3], [4]], [1, 0, 0, 0]);
    const booster = await trainBooster(data, undefined, params({ trees: 1 }), { objective: 'binary', seed: 1 });
    expect(booster.baseScores[0]).toBeCloseTo(Math.log(0.25 / 0.75), 12);
    // Four rows cannot make two leaves of 20: the single tree is one leaf.
    expect(booster.trees[0]!.feature.length).toBe(0);
  });

  it('ranks features by total split gain', async () => {
    const data = mixedBinary(2_000, 5);
    const booster = await trainBooster(data, undefined, params({ trees: 20 }), { objective: 'binary', seed: 1 });
    const [signal, group, noise] = booster.featureImportance;
    expect(signal).toBeGreaterThan(group!);
    expect(group).toBeGreaterThan(noise!);
    let total = 0;
    for (const tree of booster.trees) for (const gain of tree.gain) total += gain;
    expect(signal! + group! + noise!).toBeCloseTo(total, 8);
  });

  it('stops with an AbortError when the signal aborts', async () => {
    const data = mixedBinary(500, 1);
    const controller = new AbortController();
    let rounds = 0;
    const training = trainBooster(data, undefined, params({ trees: 1_000 }), {
      objective: 'binary',
      seed: 1,
      signal: controller.signal,
      onIteration: () => {
        rounds++;
        if (rounds === 2) controller.abort();
      },
    });
    await expect(training).rejects.toMatchObject({ name: 'AbortError' });
    expect(rounds).toBe(2);
    const aborted = AbortSignal.abort();
    await expect(trainBooster(data, undefined, params(), { objective: 'binary', seed: 1, signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects labels that do not fit the objective and inconsistent shapes', async () => {
    const data = datasetOf([[1], [2]], [0, 2]);
    await expect(trainBooster(data, undefined, params(), { objective: 'binary', seed: 1 })).rejects.toThrow(/binary labels must be 0 or 1, row 1 has 2/);
    await expect(trainBooster(data, undefined, params(), { objective: 'multiclass', classes: 2, seed: 1 })).rejects.toThrow(/whole numbers 0..1, row 1 has 2/);
    await expect(trainBooster({ ...data, rows: 3 }, undefined, params(), { objective: 'regression', seed: 1 })).rejects.toThrow(/x holds 2 values, expected rows × cols = 3/);
    const wide = datasetOf([[1, 2]], [0]);
    await expect(trainBooster(data, wide, params(), { objective: 'regression', seed: 1 })).rejects.toThrow(/validation set: has 2 columns, the training set 1/);
  });
});
