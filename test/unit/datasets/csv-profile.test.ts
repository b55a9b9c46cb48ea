import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXACT_DISTINCT, profileCsvFile, profileDatasetFile, quantile, RESERVOIR_SIZE } from '../../../src/core/datasets/csv-profile.js';
import { getDatasetSpec, listDatasetSpecs } from '../../../src/core/datasets/dataset-registry.js';
import { MlctlError, NotFoundError } from '../../../src/core/errors.js';
import { SHARED_DATA } from '../../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mlctl-profile-'));
function csv(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('profileCsvFile', () => {
  const small = csv('small.csv', 'x,colour\n1,red\n2,blue\nNA,red\n6,\n1,green\n');

  it('gives min, mean, max, sample std, quartiles, missing and distinct for numbers, all exact', async () => {
    const { rows, columns } = await profileCsvFile(small);
    expect(rows).toBe(5);
    const x = columns[0]!;
    expect(x).toMatchObject({ name: 'x', type: 'number', kind: 'numeric', missing: 1, distinct: 3, min: 1, max: 6, mean: 2.5 });
    // values 1, 2, 6, 1: squared deviations 2.25 + 0.25 + 12.25 + 2.25 = 17, / 3
    expect(x.std).toBeCloseTo(Math.sqrt(17 / 3), 12);
    // sorted 1, 1, 2, 6: positions 0.75, 1.5, 2.25 (pandas' linear interpolation)
    expect(x.quartiles).toEqual([1, 1.5, 3]);
    expect(x.approximate).toBeUndefined();
  });

  it('gives the top values, most frequent first and ties by value, for text', async () => {
    const { columns } = await profileCsvFile(small, { top: 2 });
    expect(columns[1]).toEqual({ name: 'colour', type: 'string', kind: 'categorical', missing: 1, distinct: 3, top: [{ value: 'red', count: 2 }, { value: 'blue', count: 1 }] });
  });

  it('estimates distinct counts and quartiles past its limits, and says so', async () => {
    const n = Math.max(EXACT_DISTINCT, RESERVOIR_SIZE) + 50_000;
    const lines = ['code,value'];
    // Codes all differ; values are 0 … n−1 shuffled by a multiplicative step (n is not a multiple of 7919).
    for (let i = 0; i < n; i++) lines.push(`c${i},${(i * 7919) % n}`);
    const { columns } = await profileCsvFile(csv('large.csv', `${lines.join('\n')}\n`));
    const [code, value] = columns;
    expect(code!.approximate).toEqual(['distinct', 'top']);
    expect(Math.abs(code!.distinct - n) / n).toBeLessThan(0.03);
    expect(code!.kind).toBe('id-like');
    expect(value!.approximate).toEqual(['distinct', 'quartiles']);
    expect(value!.mean).toBeCloseTo((n - 1) / 2, 6);
    expect(Math.abs(value!.quartiles![1] - (n - 1) / 2) / n).toBeLessThan(0.01);
  });

  it('names the line of a row with the wrong number of fields, or skips and counts such lines', async () => {
    const path = csv('bad.csv', 'a,b\n1,2\n3\n4,5\n6,7,8\n');
    const error = await profileCsvFile(path).catch((e: unknown) => e);
    expect((error as MlctlError).code).toBe('CSV_FIELD_COUNT');
    expect((error as MlctlError).message).toContain('bad.csv line 3: expected 2 fields, found 1');
    const skipped = await profileCsvFile(path, { onBadLine: 'skip' });
    expect(skipped.rows).toBe(2);
    expect(skipped.badLines).toEqual({ count: 2, lines: [3, 5] });
  });

  it('reads a dataset file with its dialect: Adult test labels lose their "."', async () => {
    const spec = getDatasetSpec('income');
    const profile = await profileDatasetFile(join(SHARED_DATA, 'income', 'adult.test'), spec, spec.files.find((f) => f.name === 'adult.test'));
    expect(profile.rows).toBe(16_281);
    const income = profile.columns.at(-1)!;
    expect(income.top!.map((t) => t.value)).toEqual(['<=50K', '>50K']);
    expect(profile.columns.find((c) => c.name === 'age')).toMatchObject({ type: 'number', min: 17, max: 90 });
  });

  it('computes quantiles as numpy does', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10], 0.25)).toBe(10);
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
