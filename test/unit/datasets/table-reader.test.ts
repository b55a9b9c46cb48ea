import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvFile, readDatasetFile } from '../../../src/core/datasets/csv-reader.js';
import { allRows, valueAt, type DataTable } from '../../../src/core/datasets/data-table.js';
import { getDatasetSpec } from '../../../src/core/datasets/dataset-registry.js';
import { readCsvTable, readDatasetTable } from '../../../src/core/datasets/table-reader.js';
import { MlctlError } from '../../../src/core/errors.js';
import { SHARED_DATA } from '../../helpers/cli.js';

const income = getDatasetSpec('income');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlctl-table-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fixture(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

function recordsOf(table: DataTable): Record<string, string | number | null>[] {
  return Array.from({ length: table.rows }, (_, row) => Object.fromEntries(table.columns.map((column) => [column.name, valueAt(column, row)])));
}

describe('readDatasetTable', () => {
  it('holds what the record reader reads, value for value and line for line, on the Adult files', async () => {
    for (const name of ['adult.data', 'adult.test']) {
      const path = join(SHARED_DATA, 'income', name);
      const { table } = await readDatasetTable(path, income, undefined, { columns: income.columns });
      const records = await readDatasetFile(path, income);
      expect(table.rows).toBe(records.records.length);
      expect(recordsOf(table)).toEqual(records.records);
      for (const row of [0, 1, 100, table.rows - 1]) expect(table.lineOf(row), `${name} row ${row}`).toBe(records.lineOf!(row));
      expect(table.source).toBe(name);
    }
  });

  it('keeps only the columns asked for, numbers in a Float64Array and categories as codes', async () => {
    const path = join(SHARED_DATA, 'income', 'adult.data');
    const { table } = await readDatasetTable(path, income, undefined, { columns: [{ name: 'age', type: 'number' }, { name: 'workclass', type: 'string' }] });
    expect(table.columns.map((c) => c.name)).toEqual(['age', 'workclass']);
    const age = table.column('age')!;
    const workclass = table.column('workclass')!;
    expect(age.kind === 'number' && age.values).toBeInstanceOf(Float64Array);
    expect(workclass.kind === 'text' && workclass.codes).toBeInstanceOf(Uint16Array);
    expect(workclass.kind === 'text' && workclass.dictionary.length).toBe(8);
    expect(allRows(table).index.length).toBe(32_561);
  });
});

describe('readCsvTable', () => {
  it('reports bad values and field counts with the record reader’s messages', async () => {
    const path = await fixture('bad.csv', 'a,b\n1,x\nfoo,y\n\n2\n3,z\n');
    const columns = [{ name: 'a', type: 'number' as const }, { name: 'b', type: 'string' as const }];
    const error = (await readCsvTable(path, { columns }).catch((e: unknown) => e)) as MlctlError;
    const reference = (await readCsvFile(path, { columns }).catch((e: unknown) => e)) as MlctlError;
    expect(error).toBeInstanceOf(MlctlError);
    expect(error.code).toBe('CSV_INVALID_VALUE');
    expect(error.message).toBe(reference.message);
    expect(error.problems).toEqual(reference.problems);
    expect(error.problems[1]).toContain('line 5: expected 2 fields, found 1');
  });

  it('keeps a lenient number column’s text values as missing and says which', async () => {
    const path = await fixture('target.csv', 'x,price\n1,10\n2,\n3,n/a\n\n4,12.5\n');
    const { table, unparsed } = await readCsvTable(path, { columns: [{ name: 'x', type: 'number' }, { name: 'price', type: 'number' }], lenient: ['price'] });
    expect(recordsOf(table).map((r) => r.price)).toEqual([10, null, null, 12.5]);
    expect(unparsed.get('price')).toEqual({ count: 1, first: [{ row: 2, text: 'n/a' }] });
    expect([0, 1, 2, 3].map((row) => table.lineOf(row))).toEqual([2, 3, 4, 6]);
  });

  it('reads a headerless file in the dataset’s format, banner and label suffix included', async () => {
    const row = '39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, >50K.';
    const path = await fixture('some.test', `|1x3 Cross validator\n${row}\n`);
    const { table } = await readCsvTable(path, { columns: [{ name: 'age', type: 'number' }, { name: 'income', type: 'string' }], spec: income });
    expect(recordsOf(table)).toEqual([{ age: 39, income: '>50K' }]);
    expect(table.lineOf(0)).toBe(2);
  });

  it('names the columns the file lacks', async () => {
    const path = await fixture('partial.csv', 'age,sex\n30,Male\n');
    const error = (await readCsvTable(path, { columns: [{ name: 'age', type: 'number' }, { name: 'hours', type: 'number' }] }).catch((e: unknown) => e)) as MlctlError;
    expect(error.code).toBe('CSV_MISSING_COLUMNS');
    expect(error.message).toBe(`${path} has no column "hours"`);
  });

  it('reads quoted files through csv-parse, lines of multi-line records included', async () => {
    const path = await fixture('quoted.csv', 'a,b\n1,x\n\n2,"two\nlines"\n3,z\n');
    const { table } = await readCsvTable(path, { columns: [{ name: 'a', type: 'number' }, { name: 'b', type: 'string' }] });
    expect(recordsOf(table)).toEqual([{ a: 1, b: 'x' }, { a: 2, b: 'two\nlines' }, { a: 3, b: 'z' }]);
    expect([0, 1, 2].map((row) => table.lineOf(row))).toEqual([2, 5, 6]);
  });
});
