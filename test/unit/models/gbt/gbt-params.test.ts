import { describe, expect, it } from 'vitest';
import { GBT_DEFAULTS, readGbtParams } from '../../../../src/core/models/gbt/gbt-params.js';

describe('gbt parameters (declared as data, checked by the family seam)', () => {
  it('merges a partial object over the defaults', () => {
    const { params, problems } = readGbtParams({ learningRate: 0.05, maxLeaves: 63 });
    expect(problems).toEqual([]);
    expect(params).toEqual({ ...GBT_DEFAULTS, learningRate: 0.05, maxLeaves: 63 });
    expect(readGbtParams({}).params).toEqual(GBT_DEFAULTS);
  });

  it('returns every problem, each naming the parameter and its allowed range', () => {
    const { problems } = readGbtParams({
      maxLeaves: 1,
      learningRate: 0,
      trees: -5,
      featureFraction: 1.5,
      maxBins: 256,
      minSamplesLeaf: 2.5,
      l2: 'a lot',
      earlyStoppingRounds: Number.NaN,
    });
    expect(problems.map((p) => `${p.param}: ${p.message}`)).toEqual([
      'maxLeaves: must be a whole number from 2 to 131072, got 1',
      'learningRate: must be a number > 0 and ≤ 1, got 0',
      'trees: must be a whole number from 1 to 100000, got -5',
      'featureFraction: must be a number > 0 and ≤ 1, got 1.5',
      'maxBins: must be a whole number from 2 to 255, got 256',
      'minSamplesLeaf: must be a whole number from 1 to 1000000000, got 2.5',
      'l2: must be a number from 0 to 1000000, got "a lot"',
      'earlyStoppingRounds: must be a whole number from 0 to 100000, got NaN',
    ]);
  });

  it('rejects unknown names, suggesting the closest known one', () => {
    const { problems } = readGbtParams({ maxLeafs: 31, learning_rate: 0.1, colour: 'red' });
    expect(problems.map((p) => p.param)).toEqual(['maxLeafs', 'learning_rate', 'colour']);
    expect(problems[0]!.message).toMatch(/^is not a parameter of this model family \(did you mean "maxLeaves"\?\); it takes trees, learningRate/);
    expect(problems[1]!.message).toMatch(/\(did you mean "learningRate"\?\)/);
    expect(problems[2]!.message).not.toMatch(/did you mean/);
  });

  it('accepts the edges of each range', () => {
    const { problems } = readGbtParams({ learningRate: 1, maxLeaves: 2, maxBins: 255, featureFraction: 1, rowFraction: 0.001, earlyStoppingRounds: 0, maxDepth: 0, l2: 0 });
    expect(problems).toEqual([]);
  });
});
