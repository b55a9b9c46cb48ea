import { describe, expect, it } from 'vitest';
import { describeTable } from '../../../src/core/datasets/dataset-describe.js';
import { getDatasetSpec, listDatasetSpecs } from '../../../src/core/datasets/dataset-registry.js';
import { NotFoundError } from '../../../src/core/errors.js';

describe('describeTable', () => {
  const table = {
    columns: ['x', 'colour'],
    columnTypes: ['number' as const, 'string' as const],
    records: [
      { x: 1, colour: 'red' },
      { x: 2, colour: 'blue' },
      { x: null, colour: 'red' },
      { x: 6, colour: null },
      { x: 1, colour: 'green' },
    ],
  };

  it('gives min, mean, max, sample std, missing and distinct for numbers', () => {
    const [x] = describeTable(table).columns;
    expect(x).toMatchObject({ name: 'x', type: 'number', missing: 1, distinct: 3, min: 1, max: 6, mean: 2.5 });
    // values 1, 2, 6, 1: squared deviations 2.25 + 0.25 + 12.25 + 2.25 = 17, / 3
    expect(x?.std).toBeCloseTo(Math.sqrt(17 / 3), 12);
  });

  it('gives the top values, most frequent first and ties by value, for strings', () => {
    const colour = describeTable(table, { top: 2 }).columns[1];
    expect(colour).toEqual({ name: 'colour', type: 'string', missing: 1, distinct: 3, top: [{ value: 'red', count: 2 }, { value: 'blue', count: 1 }] });
  });

  it('leaves the statistics out of a column with only missing values', () => {
    const result = describeTable({ columns: ['x'], columnTypes: ['number'], records: [{ x: null }] });
    expect(result).toEqual({ rows: 1, columns: [{ name: 'x', type: 'number', missing: 1, distinct: 0 }] });
  });
});

describe('dataset registry', () => {
  it('knows income and housing', () => {
    expect(listDatasetSpecs().map((spec) => spec.name)).toEqual(['income', 'housing']);
    expect(getDatasetSpec('income').files.map((file) => file.role)).toEqual(['train', 'test', 'doc']);
  });

  it('names the known datasets when asked for an unknown one', () => {
    expect(() => getDatasetSpec('incme')).toThrow(NotFoundError);
    expect(() => getDatasetSpec('incme')).toThrow(/known datasets: income, housing/);
  });
});
