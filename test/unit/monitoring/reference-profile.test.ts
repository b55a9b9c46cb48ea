import { describe, expect, it } from 'vitest';
import { interpretOutput, type OutputDescription } from '../../../src/core/bundle/output-meaning.js';
import type { DataRecord } from '../../../src/core/datasets/dataset-spec.js';
import { MlctlError } from '../../../src/core/errors.js';
import { fitPipeline } from '../../../src/core/features/pipeline.js';
import type { PipelineSpec } from '../../../src/core/features/pipeline-spec.js';
import { binLabels, createProfileBinner, numericBin } from '../../../src/core/monitoring/profile-binner.js';
import {
  buildReferenceProfile,
  MAX_PROFILE_CATEGORIES,
  parseReferenceProfile,
  quantileEdges,
  serializeProfile,
  type BinnedDistribution,
  type CategoricalDistribution,
  type NumericDistribution,
  type ReferenceProfile,
} from '../../../src/core/monitoring/reference-profile.js';

const SPEC: PipelineSpec = {
  columns: [
    { column: 'age', type: 'numeric', steps: [{ kind: 'impute', strategy: 'median' }, { kind: 'standardize' }] },
    { column: 'workclass', type: 'categorical', steps: [{ kind: 'impute', strategy: 'most-frequent' }, { kind: 'one-hot', unseen: 'ignore' }] },
    { column: 'smoker', type: 'boolean', steps: [{ kind: 'yes-no' }] },
  ],
};

const BINARY: OutputDescription = { kind: 'binary-probability', target: 'income', positiveLabel: '>50K', negativeLabel: '<=50K', threshold: 0.5 };

/** Ten rows: ages 10…100 with one missing, three workclasses with one missing, yes/no in mixed case. */
function rows(): DataRecord[] {
  const workclass = ['Private', 'Private', 'Private', 'Private', 'State-gov', 'State-gov', 'Local-gov', null, 'Private', 'State-gov'];
  return workclass.map((w, i) => ({ age: i === 9 ? null : (i + 1) * 10, workclass: w, smoker: i % 3 === 0 ? 'YES' : 'no', id: `person-${i}` }));
}

function numeric(d: BinnedDistribution | undefined): NumericDistribution {
  if (d?.kind !== 'numeric') throw new Error(`expected a numeric distribution, got ${JSON.stringify(d)}`);
  return d;
}

function categorical(d: BinnedDistribution | undefined): CategoricalDistribution {
  if (d?.kind !== 'categorical') throw new Error(`expected a categorical distribution, got ${JSON.stringify(d)}`);
  return d;
}

function caught(fn: () => unknown): MlctlError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MlctlError) return error;
    throw error;
  }
  throw new Error('expected an MlctlError');
}

describe('quantile bins', () => {
  it('cuts at the 1/bins … (bins−1)/bins quantiles and merges tied cut points', () => {
    // n = 10, 5 bins: the values at positions ⌈2k⌉ − 1 = 1, 3, 5, 7.
    expect(quantileEdges([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5)).toEqual([2, 4, 6, 8]);
    // Mostly zeros (a capital-gain column): nine cut points collapse to two.
    expect(quantileEdges([0, 0, 0, 0, 0, 0, 0, 0, 5, 9], 10)).toEqual([0, 5]);
    expect(quantileEdges([7, 7, 7], 10)).toEqual([7]);
    expect(quantileEdges([], 10)).toEqual([]);
  });

  it('bins right-closed: a value on a cut point falls in the bin below it', () => {
    const edges = Float64Array.from([0, 5]);
    expect([-1, 0, 0.5, 5, 5.01, 1e9].map((x) => numericBin(edges, x))).toEqual([0, 0, 1, 1, 2, 2]);
    expect(numericBin(new Float64Array(0), 3)).toBe(0);
    expect(binLabels({ kind: 'numeric', name: 'x', edges: [0, 5, 12.34567], counts: [], missing: 0 })).toEqual(['≤ 0', '(0, 5]', '(5, 12.35]', '> 12.35', 'missing']);
  });
});

describe('buildReferenceProfile', () => {
  const pipeline = fitPipeline(SPEC, rows());
  const meaning = interpretOutput(BINARY);
  const outputs = Float32Array.from([0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]);
  const profile = buildReferenceProfile({ pipeline, records: rows(), meaning, outputs, bins: 5 });

  it('profiles every input the pipeline reads, missing values in their own bin', () => {
    expect(profile).toMatchObject({ kind: 'mlctl.profile', version: 1, rows: 10, bins: 5 });
    expect(profile.features.map((f) => f.name)).toEqual(['age', 'workclass', 'smoker']);
    // Nine ages 10…90: cut points at positions ⌈9k/5⌉ − 1 = 1, 3, 5, 7 → 20, 40, 60, 80.
    expect(profile.features[0]).toEqual({ kind: 'numeric', name: 'age', edges: [20, 40, 60, 80], counts: [2, 2, 2, 2, 1], missing: 1 });
    // Most frequent first; the missing workclass is counted as missing, not as the imputed value.
    expect(profile.features[1]).toEqual({ kind: 'categorical', name: 'workclass', categories: ['Private', 'State-gov', 'Local-gov'], counts: [5, 3, 1], other: 0, missing: 1 });
    // yes/no matched case-insensitively, as the pipeline matches them.
    expect(profile.features[2]).toEqual({ kind: 'categorical', name: 'smoker', categories: ['no', 'yes'], caseInsensitive: true, counts: [6, 4], other: 0, missing: 0 });
  });

  it('profiles the model output on the same rows: P(positive) in quantile bins', () => {
    expect(profile.output.name).toBe('P(income = >50K)');
    expect(profile.output.kind).toBe('numeric');
    expect(profile.output.counts).toEqual([2, 2, 2, 2, 2]);
  });

  it('bins regression outputs in the target’s units and multiclass outputs as the predicted class', () => {
    const regression = interpretOutput({ kind: 'regression', target: 'price', transform: 'log1p' });
    const logPrices = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((p) => Math.log1p(p * 1000)));
    const r = buildReferenceProfile({ pipeline, records: rows(), meaning: regression, outputs: logPrices, bins: 2 });
    expect(r.output.name).toBe('predicted price');
    expect(numeric(r.output).edges[0]).toBeCloseTo(5000, 0);

    const multiclass = interpretOutput({ kind: 'class-probabilities', target: 'species', classes: ['a', 'b', 'c'] });
    const probabilities = Float32Array.from(rows().flatMap((_, i) => (i < 6 ? [0.8, 0.1, 0.1] : [0.1, 0.1, 0.8])));
    const m = buildReferenceProfile({ pipeline, records: rows(), meaning: multiclass, outputs: probabilities });
    expect(m.output).toEqual({ kind: 'categorical', name: 'predicted species', categories: ['a', 'b', 'c'], counts: [6, 0, 4], other: 0, missing: 0 });
  });

  it('keeps the most frequent categories by name and counts the rest as "other"', () => {
    const many = Array.from({ length: 200 }, (_, i): DataRecord => ({ age: i, workclass: `w${String(i % 60).padStart(2, '0')}`, smoker: 'no' }));
    const fitted = fitPipeline(SPEC, many);
    const p = buildReferenceProfile({ pipeline: fitted, records: many, meaning, outputs: new Float32Array(200) });
    const workclass = categorical(p.features[1]);
    expect(workclass.categories).toHaveLength(MAX_PROFILE_CATEGORIES);
    expect(workclass.counts.reduce((a, b) => a + b, 0) + workclass.other).toBe(200);
    // w00…w19 appear 4 times, w20…w59 three times: the 50 kept are the 20 frequent ones and the first 30 others.
    expect(workclass.categories.slice(0, 21)).toEqual([...Array.from({ length: 20 }, (_, i) => `w${String(i).padStart(2, '0')}`), 'w20']);
    expect(workclass.other).toBe(10 * 3);
  });

  it('holds aggregates only: its size does not grow with the rows, and no identifier or raw row is in it', () => {
    const people = (n: number): DataRecord[] =>
      Array.from({ length: n }, (_, i) => ({ age: 17 + ((i * 7919) % 74) + (i % 1000) / 1000, workclass: i % 3 === 0 ? 'Private' : 'State-gov', smoker: 'no', id: `secret-${i}` }));
    const sizes = [1_000, 50_000].map((n) => {
      const records = people(n);
      const text = serializeProfile(buildReferenceProfile({ pipeline: fitPipeline(SPEC, records), records, meaning, outputs: new Float32Array(n) }));
      expect(text).not.toMatch(/secret/);
      // Ten bins: nine cut points, whatever the number of distinct ages.
      expect(numeric((JSON.parse(text) as ReferenceProfile).features[0]).edges.length).toBeLessThanOrEqual(9);
      return text.length;
    });
    expect(sizes[1]! - sizes[0]!).toBeLessThan(100);
  });

  it('refuses a bin count out of range', () => {
    expect(caught(() => buildReferenceProfile({ pipeline, records: rows(), meaning, outputs, bins: 1 })).code).toBe('PROFILE_BINS_INVALID');
  });
});

describe('the binner', () => {
  const pipeline = fitPipeline(SPEC, rows());
  const meaning = interpretOutput(BINARY);
  const profile = buildReferenceProfile({ pipeline, records: rows(), meaning, outputs: new Float32Array(10).fill(0.5), bins: 5 });
  const binner = createProfileBinner(profile, meaning);

  it('lays out every distribution’s bins, "other" and "missing", output last', () => {
    expect(binner.features.map((s) => [s.name, s.offset, s.size])).toEqual([
      ['age', 0, 6],
      ['workclass', 6, 5],
      ['smoker', 11, 4],
    ]);
    expect(binner.output.offset).toBe(15);
    expect(binner.size).toBe(15 + binner.output.size);
    expect(binner.features[1]!.labels).toEqual(['Private', 'State-gov', 'Local-gov', 'other', 'missing']);
    expect(binner.features[1]!.reference).toEqual([5, 3, 1, 0, 1]);
  });

  it('counts unseen categories as "other", missing values as "missing", and yes/no in any case', () => {
    const counts = binner.newCounts();
    binner.addRecord({ age: 100, workclass: 'Gig-economy', smoker: 'Yes' }, counts);
    binner.addRecord({ age: null, workclass: null, smoker: null }, counts);
    binner.addRecord({ age: 20, workclass: 'Private', smoker: 'NO' }, counts);
    expect([...counts.subarray(0, 6)]).toEqual([1, 0, 0, 0, 1, 1]);
    expect([...counts.subarray(6, 11)]).toEqual([1, 0, 0, 1, 1]);
    expect([...counts.subarray(11, 15)]).toEqual([1, 1, 0, 1]);
    binner.addOutput(Float32Array.from([0.2, Number.NaN]), 1, counts);
    expect(counts[binner.size - 1]).toBe(1);
  });
});

describe('parseReferenceProfile', () => {
  const pipeline = fitPipeline(SPEC, rows());
  const meaning = interpretOutput(BINARY);
  const profile = buildReferenceProfile({ pipeline, records: rows(), meaning, outputs: new Float32Array(10) });

  it('reads back what serializeProfile wrote', () => {
    const text = serializeProfile(profile);
    // One line per distribution, so two profiles diff line by line.
    expect(text.trimEnd().split('\n').filter((line) => line.trimStart().startsWith('{"kind"'))).toHaveLength(3);
    expect(parseReferenceProfile(JSON.parse(text), pipeline, meaning)).toEqual(profile);
  });

  it('refuses a profile of other inputs, malformed bins, or a version it cannot read, listing every problem', () => {
    const bad = {
      ...profile,
      features: [{ ...profile.features[0]!, edges: [3, 1] }, profile.features[2], profile.features[1]],
      output: { kind: 'categorical', name: 'x', categories: ['a'], counts: [1], other: 0, missing: 0 },
    };
    const error = caught(() => parseReferenceProfile(bad, pipeline, meaning));
    expect(error.code).toBe('PROFILE_INVALID');
    expect(error.problems.join('\n')).toMatch(/pipeline reads age, workclass, smoker/);
    expect(error.problems.join('\n')).toMatch(/features\[0\]\.edges: expected increasing/);
    expect(error.problems.join('\n')).toMatch(/output: a categorical distribution, but the model's output is a number/);
    expect(caught(() => parseReferenceProfile({ ...profile, version: 2 }, pipeline, meaning)).problems[0]).toMatch(/version: 2 is not supported/);
  });
});
