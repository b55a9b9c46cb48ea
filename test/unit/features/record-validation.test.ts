import { describe, expect, it } from 'vitest';
import type { DataRecord } from '../../../src/core/datasets/dataset-spec.js';
import { fitPipeline, transformRecords } from '../../../src/core/features/pipeline.js';
import type { PipelineSpec } from '../../../src/core/features/pipeline-spec.js';
import { pipelineInputSchema, validateRecords, WHOLE_RECORD } from '../../../src/core/features/record-validation.js';

const SPEC: PipelineSpec = {
  columns: [
    { column: 'age', type: 'numeric', steps: [{ kind: 'impute', strategy: 'median' }, { kind: 'standardize' }] },
    { column: 'gain', type: 'numeric', steps: [{ kind: 'log1p' }] },
    { column: 'workclass', type: 'categorical', steps: [{ kind: 'impute', strategy: 'most-frequent' }, { kind: 'one-hot', unseen: 'ignore' }] },
    { column: 'sector', type: 'categorical', steps: [{ kind: 'one-hot', unseen: 'error' }] },
    { column: 'smoker', type: 'boolean', steps: [{ kind: 'yes-no' }] },
  ],
};

const TRAIN: DataRecord[] = [
  { age: 20, gain: 0, workclass: 'State-gov', sector: 'public', smoker: 'yes' },
  { age: 30, gain: 3, workclass: 'Private', sector: 'private', smoker: 'no' },
];
const pipeline = fitPipeline(SPEC, TRAIN);

describe('validateRecords', () => {
  it('coerces numeric strings, trims strings, maps JSON booleans, drops extra fields', () => {
    const { records, problems } = validateRecords(pipeline, [
      { id: 'r1', age: '39', gain: 2, workclass: ' Private ', sector: 'public', smoker: true },
      { age: null, gain: '0', sector: 'private', smoker: 'NO' },
    ]);
    expect(problems).toEqual([]);
    expect(records).toEqual([
      { age: 39, gain: 2, workclass: 'Private', sector: 'public', smoker: 'yes' },
      { age: null, gain: 0, workclass: null, sector: 'private', smoker: 'NO' },
    ]);
    // The coerced records transform without complaint.
    expect(transformRecords(pipeline, records).rows).toBe(2);
  });

  it('returns every problem at once: missing fields, wrong types, several records', () => {
    const { problems } = validateRecords(pipeline, [
      { age: 40, gain: 1, workclass: 'Private', sector: 'public', smoker: 'yes' },
      { age: 'old', gain: 'abc', workclass: true, sector: 'military', smoker: 'maybe' },
      'not a record',
      { workclass: 'Private', smoker: 'yes', sector: null },
    ]);
    expect(problems).toEqual([
      { record: 1, field: 'age', message: 'expected a number, got string "old".' },
      { record: 1, field: 'gain', message: 'expected a number, got string "abc".' },
      { record: 1, field: 'workclass', message: 'expected a string, got boolean true.' },
      { record: 1, field: 'sector', message: 'unknown category "military"; known: "private", "public".' },
      { record: 1, field: 'smoker', message: '"maybe" is neither yes (yes) nor no (no).' },
      { record: 2, field: WHOLE_RECORD, message: 'expected a JSON object, got "not a record".' },
      { record: 3, field: 'gain', message: 'value is missing; the field is required (the pipeline has no impute step for it).' },
      { record: 3, field: 'sector', message: 'value is null; the field is required (the pipeline has no impute step for it).' },
    ]);
  });

  it('reads a number sent for a categorical column as its decimal spelling, as fitting does', () => {
    const codes = fitPipeline({ columns: [{ column: 'zip', type: 'categorical', steps: [{ kind: 'one-hot', unseen: 'error' }] }] }, [{ zip: 75001 }, { zip: '10115' }]);
    expect(codes.featureNames).toEqual(['zip=10115', 'zip=75001']);
    const { records, problems } = validateRecords(codes, [{ zip: 75001 }, { zip: 99999 }]);
    expect(records[0]).toEqual({ zip: '75001' });
    expect(problems).toEqual([{ record: 1, field: 'zip', message: 'unknown category "99999"; known: "10115", "75001".' }]);
  });

  it("accepts unseen categories where the policy is not 'error'", () => {
    const { problems } = validateRecords(pipeline, [{ gain: 0, workclass: 'Never-worked', sector: 'public', smoker: 'no' }]);
    expect(problems).toEqual([]);
  });
});

describe('pipelineInputSchema', () => {
  it('describes each input column, nullable where imputed, with known categories', () => {
    const schema = pipelineInputSchema(pipeline);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['gain', 'sector', 'smoker']);
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    expect(Object.keys(properties)).toEqual(['age', 'gain', 'workclass', 'sector', 'smoker']);
    expect(properties.age!.type).toEqual(['number', 'null']);
    expect(properties.gain!.type).toBe('number');
    expect(properties.workclass).toMatchObject({ type: ['string', 'null'], enum: ['Private', 'State-gov', null] });
    expect(properties.sector).toMatchObject({ type: 'string', enum: ['private', 'public'] });
    expect(properties.smoker).toMatchObject({ type: 'string', enum: ['yes', 'no'] });
    expect(properties.workclass!.description).toMatch(/unseen categories: ignore/);
    // Plain JSON: survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});
