import { describe, expect, it } from 'vitest';
import { createSchemaValidator } from '../../../src/core/schema/json-schema-validator.js';
import { TASK_FILE_SCHEMA } from '../../../src/core/tasks/task-schema.js';

const check = createSchemaValidator(TASK_FILE_SCHEMA as unknown as Record<string, unknown>);

describe('task files checked by ajv, worded for a person', () => {
  it('passes a valid minimal file', () => {
    expect(check({ data: 'x.csv', target: 'y' })).toEqual([]);
  });

  it('reports a target of neither form once, listing both forms', () => {
    expect(check({ data: 'x.csv', target: 5 })).toEqual([{ pointer: '/target', message: 'expected a string or an object, got 5' }]);
  });

  it('reports against the form the value has', () => {
    expect(check({ data: 'x.csv', target: '' })).toEqual([{ pointer: '/target', message: 'must not be empty' }]);
    expect(check({ data: 'x.csv', target: { colum: 'y' } })).toEqual([
      { pointer: '/target', message: '"column" is required' },
      { pointer: '/target/colum', message: 'unknown key "colum" (did you mean "column"?); allowed here: column, positiveLabel, negativeLabel, transform' },
    ]);
  });

  it('reports a step against the kind it names, and an unknown kind with the closest one', () => {
    const file = (step: unknown) => ({ data: 'x.csv', target: 'y', features: { columns: [{ column: 'a', type: 'numeric', steps: [step] }] } });
    expect(check(file({ kind: 'impute', strategy: 'meen' }))).toEqual([
      { pointer: '/features/columns/0/steps/0/strategy', message: '"meen" is not allowed (did you mean "mean"?); use one of "median", "mean", "most-frequent", "constant"' },
    ]);
    expect(check(file({ kind: 'standardise' }))).toEqual([
      { pointer: '/features/columns/0/steps/0/kind', message: expect.stringMatching(/^unknown kind "standardise" \(did you mean "standardize"\?\); use one of impute, standardize/) },
    ]);
    expect(check(file({}))).toEqual([{ pointer: '/features/columns/0/steps/0', message: expect.stringMatching(/^"kind" is required: one of impute, /) }]);
  });

  it('names a duplicate and a bound', () => {
    expect(check({ data: 'x.csv', target: 'y', sensitive: ['a', 'b', 'a'] })).toEqual([{ pointer: '/sensitive/2', message: '"a" is listed twice' }]);
    expect(check({ data: 'x.csv', target: 'y', split: { test: 1 } })).toEqual([{ pointer: '/split/test', message: 'must be < 1, got 1' }]);
  });
});
