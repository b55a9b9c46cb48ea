import { describe, expect, it } from 'vitest';
import { fitPipeline, parsePipeline, transformRecords } from '../../../src/core/features/pipeline.js';
import { validateRecords } from '../../../src/core/features/record-validation.js';
import type { PipelineSpec } from '../../../src/core/features/pipeline-spec.js';

const spec: PipelineSpec = {
  columns: [
    { column: 'size', type: 'numeric', steps: [{ kind: 'impute', strategy: 'median' }] },
    { column: 'colour', type: 'categorical', steps: [{ kind: 'one-hot', unseen: 'ignore', drop: 'first' }] },
  ],
};
const rows = [
  { size: 1, colour: 'red' },
  { size: 2, colour: 'blue' },
  { size: 3, colour: 'green' },
  { size: 4, colour: 'red' },
];

describe('one-hot with drop "first"', () => {
  const pipeline = fitPipeline(spec, rows);

  it('keeps no indicator for the first sorted category', () => {
    // Categories sort to blue, green, red: blue is dropped and encodes as all zeros.
    expect(pipeline.featureNames).toEqual(['size', 'colour=green', 'colour=red']);
    const m = transformRecords(pipeline, [{ size: 1, colour: 'blue' }, { size: 1, colour: 'green' }, { size: 1, colour: 'red' }]);
    expect(Array.from(m.data)).toEqual([1, 0, 0, 1, 1, 0, 1, 0, 1]);
  });

  it('treats the dropped category as seen, and an unseen one by its policy', () => {
    const seen: string[] = [];
    transformRecords(pipeline, [{ size: 1, colour: 'blue' }, { size: 1, colour: 'purple' }], { onUnseen: (e) => seen.push(e.value) });
    expect(seen).toEqual(['purple']);
  });

  it('survives a JSON round trip and refuses a bad drop value', () => {
    const again = parsePipeline(JSON.parse(JSON.stringify(pipeline)));
    expect(again.featureNames).toEqual(pipeline.featureNames);
    expect(() => fitPipeline({ columns: [{ column: 'colour', type: 'categorical', steps: [{ kind: 'one-hot', unseen: 'ignore', drop: 'last' as 'first' }] }] }, rows)).toThrow(/drop/);
  });
});

describe('validateRecords absent fields', () => {
  const pipeline = fitPipeline(spec, rows);

  it('by default treats an absent field like null (imputed where it can be)', () => {
    expect(validateRecords(pipeline, [{ colour: 'red' }]).problems).toEqual([]);
  });

  it("with absent: 'error' reports every absent field, while null still asks for imputation", () => {
    const { problems } = validateRecords(pipeline, [{ colour: 'red' }, {}, { size: null, colour: 'red' }], { absent: 'error' });
    expect(problems.map((p) => `${p.record}:${p.field}`)).toEqual(['0:size', '1:size', '1:colour']);
    expect(problems[0]?.message).toMatch(/send null/);
  });

  it('with mayBeAbsent, lets the named fields be left out (imputed) and still reports the others', () => {
    const { problems, records } = validateRecords(pipeline, [{ colour: 'red' }, {}], { absent: 'error', mayBeAbsent: new Set(['size']) });
    expect(problems.map((p) => `${p.record}:${p.field}`)).toEqual(['1:colour']);
    expect(records[0]).toEqual({ size: null, colour: 'red' });
  });
});
