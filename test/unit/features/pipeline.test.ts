import { describe, expect, it } from 'vitest';
import type { DataRecord } from '../../../src/core/datasets/dataset-spec.js';
import { MlctlError } from '../../../src/core/errors.js';
import {
  fitPipeline,
  parsePipeline,
  summarizePipeline,
  transformRecordInto,
  transformRecords,
} from '../../../src/core/features/pipeline.js';
import type { UnseenCategory } from '../../../src/core/features/pipeline.js';
import type { PipelineSpec, UnseenCategoryPolicy } from '../../../src/core/features/pipeline-spec.js';
import { createRng } from '../../../src/core/random.js';

const SPEC: PipelineSpec = {
  columns: [
    { column: 'age', type: 'numeric', steps: [{ kind: 'impute', strategy: 'median' }, { kind: 'standardize' }] },
    { column: 'gain', type: 'numeric', steps: [{ kind: 'log1p' }] },
    { column: 'workclass', type: 'categorical', steps: [{ kind: 'impute', strategy: 'most-frequent' }, { kind: 'one-hot', unseen: 'ignore' }] },
    { column: 'smoker', type: 'boolean', steps: [{ kind: 'yes-no' }] },
  ],
};

const TRAIN: DataRecord[] = [
  { age: 20, gain: 0, workclass: 'State-gov', smoker: 'yes', id: 'a' },
  { age: 30, gain: 3, workclass: 'Private', smoker: 'No' },
  { age: null, gain: 7, workclass: 'Private', smoker: 'YES' },
  { age: 40, gain: 0, workclass: null, smoker: 'no' },
];

function specWithPolicy(unseen: UnseenCategoryPolicy): PipelineSpec {
  return {
    columns: SPEC.columns.map((column) =>
      column.column === 'workclass' ? { ...column, steps: [{ kind: 'impute', strategy: 'most-frequent' }, { kind: 'one-hot', unseen }] } : column,
    ),
  };
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

function rowOf(matrix: { data: Float32Array; cols: number }, row: number): number[] {
  return [...matrix.data.subarray(row * matrix.cols, (row + 1) * matrix.cols)];
}

describe('fitPipeline', () => {
  const pipeline = fitPipeline(SPEC, TRAIN);

  it('learns imputation values, categories and z-score parameters', () => {
    // age: median of 20, 30, 40 = 30 fills the null → 20, 30, 30, 40;
    //   mean 30, population variance (100 + 0 + 0 + 100)/4 = 50 → std √50.
    // workclass: Private ×2 beats State-gov ×1 → fills the null; categories sorted.
    expect(pipeline.kind).toBe('mlctl.pipeline');
    expect(pipeline.version).toBe(1);
    expect(pipeline.fittedRows).toBe(4);
    expect(pipeline.featureNames).toEqual(['age', 'gain', 'workclass=Private', 'workclass=State-gov', 'smoker']);
    expect(pipeline.columns[0]!.steps).toEqual([
      { kind: 'impute', strategy: 'median', value: 30, imputedInFit: 1 },
      { kind: 'standardize', mean: 30, std: Math.sqrt(50) },
    ]);
    expect(pipeline.columns[2]!.steps).toEqual([
      { kind: 'impute', strategy: 'most-frequent', value: 'Private', imputedInFit: 1 },
      { kind: 'one-hot', unseen: 'ignore', categories: ['Private', 'State-gov'], mostFrequent: 'Private' },
    ]);
    expect(pipeline.columns[3]!.steps).toEqual([{ kind: 'yes-no', yes: ['yes'], no: ['no'] }]);
  });

  it('transforms the training rows as computed by hand', () => {
    // age z = (x − 30)/√50: −1.4142136, 0, 0, 1.4142136. gain log1p: 0, ln 4, ln 8, 0.
    // smoker (case-insensitive): 1, 0, 1, 0.
    const m = transformRecords(pipeline, TRAIN);
    expect([m.rows, m.cols]).toEqual([4, 5]);
    const expected = [
      [-Math.SQRT2, 0, 0, 1, 1],
      [0, Math.log(4), 1, 0, 0],
      [0, Math.log(8), 1, 0, 1],
      [Math.SQRT2, 0, 1, 0, 0],
    ];
    expected.forEach((row, i) => rowOf(m, i).forEach((value, j) => expect(value).toBeCloseTo(row[j]!, 6)));
  });

  it('sorts categories the same way whatever order the rows come in', () => {
    const reversed = fitPipeline(SPEC, [...TRAIN].reverse());
    expect(reversed.featureNames).toEqual(pipeline.featureNames);
    expect(JSON.stringify(reversed.columns)).toBe(JSON.stringify(pipeline.columns));
  });

  it('supports the mean, most-frequent and constant strategies', () => {
    const rows: DataRecord[] = [{ x: 1, c: 'b' }, { x: 1, c: null }, { x: 4, c: 'a' }, { x: null, c: 'a' }];
    const fitted = (strategy: 'mean' | 'most-frequent' | 'constant', value?: number) =>
      fitPipeline({ columns: [{ column: 'x', type: 'numeric', steps: [{ kind: 'impute', strategy, value }] }] }, rows);
    // mean of 1, 1, 4 = 2; most frequent 1; constant as given.
    expect(rowOf(transformRecords(fitted('mean'), rows), 3)).toEqual([2]);
    expect(rowOf(transformRecords(fitted('most-frequent'), rows), 3)).toEqual([1]);
    expect(rowOf(transformRecords(fitted('constant', -1), rows), 3)).toEqual([-1]);
    // A constant category is a known category even when no training value was missing.
    const constant = fitPipeline(
      { columns: [{ column: 'c', type: 'categorical', steps: [{ kind: 'impute', strategy: 'constant', value: 'none' }, { kind: 'one-hot', unseen: 'error' }] }] },
      rows.slice(2, 3),
    );
    expect(constant.featureNames).toEqual(['c=a', 'c=none']);
    expect(rowOf(transformRecords(constant, [{ c: null }]), 0)).toEqual([0, 1]);
  });

  it('keeps std 1 for a constant column (z-score 0 rather than NaN)', () => {
    const fitted = fitPipeline({ columns: [{ column: 'x', type: 'numeric', steps: [{ kind: 'standardize' }] }] }, [{ x: 5 }, { x: 5 }]);
    expect(fitted.columns[0]!.steps).toEqual([{ kind: 'standardize', mean: 5, std: 1 }]);
    expect(rowOf(transformRecords(fitted, [{ x: 5 }, { x: 7 }]), 1)).toEqual([2]);
  });

  it('applies log1p before standardize, fitting the z-score on the logged values', () => {
    // log1p(0) = 0, log1p(e − 1) = 1 → mean ½, std ½ → z = −1, 1.
    const fitted = fitPipeline({ columns: [{ column: 'x', type: 'numeric', steps: [{ kind: 'log1p' }, { kind: 'standardize' }] }] }, [{ x: 0 }, { x: Math.E - 1 }]);
    const step = fitted.columns[0]!.steps[1]!;
    expect(step.kind === 'standardize' && [step.mean, step.std]).toEqual([0.5, 0.5]);
    const m = transformRecords(fitted, [{ x: 0 }, { x: Math.E - 1 }]);
    expect(rowOf(m, 0)[0]).toBeCloseTo(-1, 6);
    expect(rowOf(m, 1)[0]).toBeCloseTo(1, 6);
  });

  it('reports every problem in the data at once', () => {
    const error = caught(() =>
      fitPipeline(
        {
          columns: [
            { column: 'a', type: 'numeric', steps: [] },
            { column: 'b', type: 'numeric', steps: [{ kind: 'log1p' }] },
            { column: 'c', type: 'boolean', steps: [{ kind: 'yes-no' }] },
            { column: 'd', type: 'numeric', steps: [] },
          ],
        },
        [
          { a: null, b: -2, c: 'maybe' },
          { a: 'x', b: 1, c: 'yes' },
        ],
      ),
    );
    expect(error.code).toBe('PIPELINE_FIT_FAILED');
    expect(error.category).toBe('usage');
    expect(error.problems).toHaveLength(5);
    expect(error.problems.join('\n')).toMatch(/"a" is numeric but holds non-numeric values in records\[1\]/);
    expect(error.problems.join('\n')).toMatch(/"a" has 1 missing values \(records\[0\]\) and no impute step/);
    expect(error.problems.join('\n')).toMatch(/"b" has negative values \(records\[0\]\)/);
    expect(error.problems.join('\n')).toMatch(/"c" holds "maybe", neither yes/);
    expect(error.problems.join('\n')).toMatch(/"d" is not in the training data/);
  });

  it('refuses a malformed spec, listing every problem', () => {
    const error = caught(() =>
      fitPipeline(
        {
          columns: [
            { column: 'n', type: 'numeric', steps: [{ kind: 'standardize' }, { kind: 'impute', strategy: 'median' }, { kind: 'one-hot', unseen: 'ignore' }] },
            { column: 'c', type: 'categorical', steps: [{ kind: 'impute', strategy: 'mean' }] },
            { column: 'n', type: 'boolean', steps: [{ kind: 'yes-no', yes: ['y'], no: ['Y'] }] },
          ],
        },
        [{ n: 1, c: 'a' }],
      ),
    );
    expect(error.code).toBe('PIPELINE_SPEC_INVALID');
    const text = error.problems.join('\n');
    expect(text).toMatch(/impute must be the first step/);
    expect(text).toMatch(/step "one-hot" does not apply to a numeric column/);
    expect(text).toMatch(/a categorical column needs a "one-hot" or "ordinal" step, last/);
    expect(text).toMatch(/"mean" needs numbers/);
    expect(text).toMatch(/column "n" is listed twice/);
    expect(text).toMatch(/"Y" listed as both yes and no/);
  });

  it('refuses zero training rows', () => {
    expect(caught(() => fitPipeline(SPEC, [])).code).toBe('PIPELINE_NO_ROWS');
  });
});

describe('transformRecords', () => {
  it('imputes missing values (null or absent) as fitted', () => {
    const pipeline = fitPipeline(SPEC, TRAIN);
    // age missing → 30 → z 0; workclass missing → Private.
    const m = transformRecords(pipeline, [{ gain: 0, smoker: 'no' }]);
    expect(rowOf(m, 0)).toEqual([0, 0, 1, 0, 0]);
  });

  it('refuses a missing value where no impute step exists, naming record and column', () => {
    const pipeline = fitPipeline(SPEC, TRAIN);
    const error = caught(() => transformRecordInto(pipeline, { age: 1, workclass: 'Private', smoker: 'no' }, new Float32Array(5), 0, undefined, 7));
    expect(error.code).toBe('VALUE_MISSING');
    expect(error.message).toMatch(/records\[7\]\.gain/);
  });

  it("encodes an unseen category as all zeros under 'ignore' and reports it", () => {
    const events: UnseenCategory[] = [];
    const m = transformRecords(fitPipeline(specWithPolicy('ignore'), TRAIN), [TRAIN[0]!, { ...TRAIN[0]!, workclass: 'Never-worked' }], {
      onUnseen: (event) => events.push(event),
    });
    expect(rowOf(m, 1).slice(2, 4)).toEqual([0, 0]);
    expect(events).toEqual([{ column: 'workclass', value: 'Never-worked', row: 1 }]);
  });

  it("encodes an unseen category as the most frequent one under 'most-frequent' and reports it", () => {
    const events: UnseenCategory[] = [];
    const m = transformRecords(fitPipeline(specWithPolicy('most-frequent'), TRAIN), [{ ...TRAIN[0]!, workclass: 'Never-worked' }], {
      onUnseen: (event) => events.push(event),
    });
    expect(rowOf(m, 0).slice(2, 4)).toEqual([1, 0]);
    expect(events).toEqual([{ column: 'workclass', value: 'Never-worked', row: 0 }]);
  });

  it("refuses unseen categories under 'error', listing every bad record", () => {
    const pipeline = fitPipeline(specWithPolicy('error'), TRAIN);
    const rows = [TRAIN[0]!, { ...TRAIN[0]!, workclass: 'Never-worked' }, { ...TRAIN[0]!, workclass: 'Without-pay' }];
    const error = caught(() => transformRecords(pipeline, rows));
    expect(error.code).toBe('RECORDS_INVALID');
    expect(error.problems).toEqual([
      expect.stringMatching(/^records\[1\]\.workclass: unknown category "Never-worked"/),
      expect.stringMatching(/^records\[2\]\.workclass: unknown category "Without-pay"/),
    ]);
    const single = caught(() => transformRecordInto(pipeline, rows[1]!, new Float32Array(5), 0, undefined, 1));
    expect(single.code).toBe('UNSEEN_CATEGORY');
    expect(single.hint).toMatch(/"Private", "State-gov"/);
  });

  it('maps yes/no case-insensitively and refuses anything else, naming the value', () => {
    const pipeline = fitPipeline(SPEC, TRAIN);
    const out = new Float32Array(5);
    transformRecordInto(pipeline, { ...TRAIN[1]!, smoker: ' Yes ' }, out, 0);
    expect(out[4]).toBe(1);
    const error = caught(() => transformRecordInto(pipeline, { ...TRAIN[1]!, smoker: 'sometimes' }, out, 0, undefined, 3));
    expect(error.code).toBe('VALUE_NOT_YES_NO');
    expect(error.message).toBe('records[3].smoker: "sometimes" is neither yes (yes) nor no (no).');
  });

  it('accepts custom yes/no spellings', () => {
    const fitted = fitPipeline({ columns: [{ column: 'f', type: 'boolean', steps: [{ kind: 'yes-no', yes: ['Y', 'true'], no: ['N', 'false'] }] }] }, [{ f: 'y' }, { f: 'FALSE' }]);
    expect([...transformRecords(fitted, [{ f: 'TRUE' }, { f: 'n' }]).data]).toEqual([1, 0]);
  });

  it('refuses a negative value under log1p and a non-numeric string', () => {
    const pipeline = fitPipeline(SPEC, TRAIN);
    const out = new Float32Array(5);
    expect(caught(() => transformRecordInto(pipeline, { ...TRAIN[1]!, gain: -1 }, out, 0)).code).toBe('VALUE_NEGATIVE_FOR_LOG1P');
    expect(caught(() => transformRecordInto(pipeline, { ...TRAIN[1]!, gain: 'lots' }, out, 0)).code).toBe('VALUE_NOT_NUMERIC');
    // A numeric string is read as its number.
    transformRecordInto(pipeline, { ...TRAIN[1]!, gain: '3' }, out, 0);
    expect(out[1]).toBeCloseTo(Math.log(4), 6);
  });

  it('writes into a shared buffer at an offset and clears stale one-hot slots', () => {
    const pipeline = fitPipeline(SPEC, TRAIN);
    const out = new Float32Array(12).fill(9);
    transformRecordInto(pipeline, TRAIN[0]!, out, 6);
    expect([...out.subarray(0, 6)]).toEqual([9, 9, 9, 9, 9, 9]);
    expect([...out.subarray(6, 11)]).toEqual([...transformRecords(pipeline, [TRAIN[0]!]).data]);
    expect(out[11]).toBe(9);
  });
});

describe('serialization', () => {
  function syntheticRows(count: number, seed: number): DataRecord[] {
    const rng = createRng(seed);
    const kinds = ['Private', 'Self-emp', 'Local-gov', 'State-gov', 'Federal-gov'];
    return Array.from({ length: count }, () => ({
      age: rng() < 0.05 ? null : 17 + rng() * 73,
      gain: rng() < 0.9 ? 0 : Math.floor(rng() * 99_999),
      workclass: rng() < 0.05 ? null : kinds[Math.floor(rng() * rng() * kinds.length)]!,
      smoker: rng() < 0.3 ? 'Yes' : 'no',
    }));
  }

  it('replays byte-identically after JSON.stringify / JSON.parse / parsePipeline', () => {
    const rows = syntheticRows(2000, 7);
    const fitted = fitPipeline(SPEC, rows.slice(0, 1500));
    const replayed = parsePipeline(JSON.parse(JSON.stringify(fitted)));
    expect(replayed).toEqual(fitted);
    const before = transformRecords(fitted, rows.slice(1500));
    const after = transformRecords(replayed, rows.slice(1500));
    expect(Buffer.from(after.data.buffer).equals(Buffer.from(before.data.buffer))).toBe(true);
    // A second round trip changes nothing either.
    expect(JSON.stringify(parsePipeline(JSON.parse(JSON.stringify(replayed))))).toBe(JSON.stringify(fitted));
  });

  it('stores no negative zero, which JSON would turn into 0 and so change an output bit', () => {
    // The median of [−0] is −0; imputing it must give the same bits before and after a round trip.
    const fitted = fitPipeline({ columns: [{ column: 'x', type: 'numeric', steps: [{ kind: 'impute', strategy: 'median' }] }] }, [{ x: -0 }, { x: null }]);
    const replayed = parsePipeline(JSON.parse(JSON.stringify(fitted)));
    const bytes = (p: typeof fitted) => [...new Uint8Array(transformRecords(p, [{ x: null }]).data.buffer)];
    expect(bytes(replayed)).toEqual(bytes(fitted));
  });

  it('does not mutate the pipeline it caches lookup tables for', () => {
    const fitted = fitPipeline(SPEC, TRAIN);
    const text = JSON.stringify(fitted);
    transformRecords(fitted, TRAIN);
    parsePipeline(fitted);
    expect(JSON.stringify(fitted)).toBe(text);
    expect(Object.keys(fitted)).toEqual(['kind', 'version', 'columns', 'featureNames', 'fittedRows']);
  });

  it('refuses a damaged pipeline, listing every problem', () => {
    const json = JSON.parse(JSON.stringify(fitPipeline(SPEC, TRAIN))) as Record<string, any>;
    json.version = 2;
    json.columns[0].steps[1].std = 0;
    json.columns[2].steps[1].categories = ['State-gov', 'Private'];
    json.columns[3].outputs = ['smoker', 'extra'];
    const error = caught(() => parsePipeline(json));
    expect(error.code).toBe('PIPELINE_INVALID');
    const text = error.problems.join('\n');
    expect(text).toMatch(/^version: 2, expected 1/m);
    expect(text).toMatch(/columns\[0\] \("age"\)\.steps\[1\]\.std: 0, expected a positive number/);
    expect(text).toMatch(/columns\[2\] \("workclass"\)\.steps\[1\]\.categories: expected a non-empty, sorted array/);
    expect(text).toMatch(/columns\[3\] \("smoker"\)\.outputs: expected \["smoker"\]/);
    expect(caught(() => parsePipeline('nope')).code).toBe('PIPELINE_INVALID');
    expect(caught(() => parsePipeline({ ...json, version: 1, kind: 'other' })).problems[0]).toMatch(/kind: "other"/);
  });
});

describe('summarizePipeline', () => {
  it('reports features in and out, categories, imputed counts and fitted stats', () => {
    const summary = summarizePipeline(fitPipeline(SPEC, TRAIN));
    expect(summary.fittedRows).toBe(4);
    expect(summary.featuresIn).toBe(4);
    expect(summary.featuresOut).toBe(5);
    expect(summary.columns[0]).toEqual({
      column: 'age',
      type: 'numeric',
      steps: ['impute', 'standardize'],
      outputs: 1,
      imputed: 1,
      impute: { strategy: 'median', value: 30 },
      mean: 30,
      std: Math.sqrt(50),
    });
    expect(summary.columns[2]).toMatchObject({ outputs: 2, imputed: 1, categories: ['Private', 'State-gov'], unseen: 'ignore' });
    expect(summary.columns[3]).toEqual({ column: 'smoker', type: 'boolean', steps: ['yes-no'], outputs: 1, imputed: 0 });
  });
});
