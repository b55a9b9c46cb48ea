import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvFile, readDatasetFile } from '../../../src/core/datasets/csv-reader.js';
import { getDatasetSpec } from '../../../src/core/datasets/dataset-registry.js';
import { MlctlError, UsageError } from '../../../src/core/errors.js';

const income = getDatasetSpec('income');
const mirror = process.env.MLCTL_DATA_MIRROR as string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlctl-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fixture(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function errorOf(promise: Promise<unknown>): Promise<MlctlError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MlctlError);
  return error as MlctlError;
}

const ROW_1 = '39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K';
const ROW_2 = '52, ?, 209642, HS-grad, 9, Married-civ-spouse, ?, Husband, White, Male, 0, 0, 45, ?, >50K';

describe('readDatasetFile with the adult dialect', () => {
  it('splits on ", ", maps "?" to null, parses numbers and skips the trailing blank line', async () => {
    const path = await fixture('adult.data', `${ROW_1}\n${ROW_2}\n\n`);
    const table = await readDatasetFile(path, income);
    expect(table.columns).toEqual(income.columns.map((c) => c.name));
    expect(table.records).toHaveLength(2);
    expect(table.records[0]).toMatchObject({ age: 39, workclass: 'State-gov', capital_gain: 2174, income: '<=50K' });
    expect(table.records[1]).toMatchObject({ age: 52, workclass: null, occupation: null, native_country: null, income: '>50K' });
  });

  it("skips adult.test's banner line and strips the '.' after its labels", async () => {
    const path = await fixture('adult.test', `|1x3 Cross validator\n${ROW_1}.\n${ROW_2}.\n\n`);
    const table = await readDatasetFile(path, income);
    expect(table.records.map((r) => r.income)).toEqual(['<=50K', '>50K']);
    expect(table.records[0]?.age).toBe(39);
  });

  it('names the file, line and column of a value that is not a number', async () => {
    const path = await fixture('adult.test', `|1x3 Cross validator\n${ROW_1}.\n${ROW_2.replace('52,', 'fifty,')}.\n`);
    const error = await errorOf(readDatasetFile(path, income));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.code).toBe('CSV_INVALID_VALUE');
    expect(error.message).toContain(path);
    expect(error.message).toContain('line 3');
    expect(error.message).toContain('"age"');
    expect(error.message).toContain('"fifty"');
  });

  it('names the file and line of a row with the wrong number of fields', async () => {
    const path = await fixture('adult.data', `${ROW_1}\n\n39, State-gov, 77516\n`);
    const error = await errorOf(readDatasetFile(path, income));
    expect(error.code).toBe('CSV_FIELD_COUNT');
    expect(error.message).toContain(`${path} line 3: expected 15 fields, found 3`);
  });

  it('reports every problem, not only the first', async () => {
    const path = await fixture('adult.data', `${ROW_1.replace('39,', 'x,')}\n${ROW_1}\n${ROW_1.replace('77516', 'y')}\n1, 2\n`);
    const error = await errorOf(readDatasetFile(path, income));
    expect(error.message).toContain('line 1');
    expect(error.message).toContain('and 2 more problems');
    expect(error.problems).toHaveLength(3);
    expect(error.problems[1]).toContain('line 3, column "fnlwgt"');
    expect(error.problems[2]).toContain('line 4: expected 15 fields, found 2');
  });

  it('reads the real files: 32,561 training rows and 16,281 test rows with clean labels', async () => {
    const train = await readDatasetFile(join(mirror, 'income', 'adult.data'), income);
    const test = await readDatasetFile(join(mirror, 'income', 'adult.test'), income);
    expect(train.records).toHaveLength(32_561);
    expect(test.records).toHaveLength(16_281);
    expect(new Set(test.records.map((r) => r.income))).toEqual(new Set(['<=50K', '>50K']));
    expect(train.records.filter((r) => r.workclass === null)).toHaveLength(1_836);
  });

  it('matches a headed file to the spec by column name', async () => {
    const housing = getDatasetSpec('housing');
    const table = await readDatasetFile(join(mirror, 'housing', 'housing.csv'), housing);
    expect(table.records).toHaveLength(545);
    expect(table.records[0]).toMatchObject({ price: 13_300_000, area: 7420, mainroad: 'yes', furnishingstatus: 'furnished' });
  });
});

describe('readCsvFile', () => {
  it('infers number columns when every non-missing value parses', async () => {
    const path = await fixture('own.csv', 'id,score,city\n1,0.5,Paris\n2,,Lyon\n3,1e3,7\n');
    const table = await readCsvFile(path);
    expect(table.columns).toEqual(['id', 'score', 'city']);
    expect(table.columnTypes).toEqual(['number', 'number', 'string']);
    expect(table.records).toEqual([
      { id: 1, score: 0.5, city: 'Paris' },
      { id: 2, score: null, city: 'Lyon' },
      { id: 3, score: 1000, city: '7' },
    ]);
  });

  it('takes types from the given columns and lists every missing one', async () => {
    const path = await fixture('partial.csv', 'age,sex\n30,Male\n');
    const error = await errorOf(
      readCsvFile(path, {
        columns: [
          { name: 'age', type: 'number' },
          { name: 'workclass', type: 'string' },
          { name: 'sex', type: 'string' },
          { name: 'hours_per_week', type: 'number' },
        ],
      }),
    );
    expect(error.code).toBe('CSV_MISSING_COLUMNS');
    expect(error.message).toContain('has no column "workclass", "hours_per_week"');
    expect(error.problems).toHaveLength(2);
    expect(error.hint).toBe('its columns are: "age", "sex"');
  });

  it('names a missing column once, with what the file has and the nearest name', async () => {
    const path = await fixture('typo.csv', 'area,prcie\n30,100\n31,\n');
    const error = await errorOf(readCsvFile(path, { columns: [{ name: 'area', type: 'number' }, { name: 'price', type: 'string' }] }));
    expect(error.code).toBe('CSV_MISSING_COLUMNS');
    expect(error.message).toBe(`${path} has no column "price" (did you mean "prcie"?)`);
    expect(error.problems).toEqual([]);
    expect(error.hint).toBe('its columns are: "area", "prcie"');
  });

  it('reads the default missing markers as missing, and a given list instead', async () => {
    const path = await fixture('markers.csv', 'a,b\nNA,x\nN/A,NaN\nnull,?\n.,y\n,z\n7,NA\n');
    const table = await readCsvFile(path);
    expect(table.columnTypes).toEqual(['number', 'string']);
    expect(table.records.map((r) => r.a)).toEqual([null, null, null, null, null, 7]);
    expect(table.records.map((r) => r.b)).toEqual(['x', null, null, 'y', 'z', null]);
    const own = await readCsvFile(path, { missing: ['-', 'NA'] });
    expect(own.records.map((r) => r.b)).toEqual(['x', 'NaN', '?', 'y', 'z', null]);
    expect(own.records.map((r) => r.a)).toEqual(['NA', 'N/A', 'null', '.', '', '7'].map((v) => (v === 'NA' ? null : v)));
  });

  it('knows the file line of every record', async () => {
    const path = await fixture('lines.csv', 'a,b\n1,x\n\n2,\"two\nlines\"\n3,z\n');
    const table = await readCsvFile(path);
    expect([0, 1, 2].map((row) => table.lineOf?.(row))).toEqual([2, 5, 6]);
  });

  it('keeps a declared string column as text even when it looks numeric', async () => {
    const path = await fixture('zip.csv', 'zip,n\n01234,1\n');
    const table = await readCsvFile(path, { columns: [{ name: 'zip', type: 'string' }] });
    expect(table.records[0]).toEqual({ zip: '01234', n: 1 });
  });

  it('reads the headerless adult format (banner, label suffix) when given the spec', async () => {
    const path = await fixture('some-adult.test', `|1x3 Cross validator\n${ROW_1}.\n${ROW_2}.\n`);
    const table = await readCsvFile(path, { spec: income });
    expect(table.records).toHaveLength(2);
    expect(table.records[1]).toMatchObject({ age: 52, workclass: null, income: '>50K' });
  });

  it('reads a headed file with the spec column names and the spec missing marker', async () => {
    const header = income.columns.map((c) => c.name).join(',');
    const path = await fixture('headed-adult.csv', `${header}\n${ROW_2.replaceAll(', ', ',')}\n`);
    const table = await readCsvFile(path, { spec: income });
    expect(table.records[0]).toMatchObject({ age: 52, workclass: null, income: '>50K' });
  });

  it('turns a malformed quote into a usage error naming the line', async () => {
    const path = await fixture('quote.csv', 'a,b\n1,2\n"3,4\n');
    const error = await errorOf(readCsvFile(path));
    expect(error.code).toBe('CSV_MALFORMED');
    expect(error.message).toContain(`${path} line 3`);
  });

  it('refuses a header that names a column twice', async () => {
    const path = await fixture('dup.csv', 'a,b,a\n1,2,3\n');
    const error = await errorOf(readCsvFile(path));
    expect(error.code).toBe('CSV_DUPLICATE_COLUMNS');
    expect(error.message).toContain('a');
  });

  it('refuses a missing file with a usage error', async () => {
    const error = await errorOf(readCsvFile(join(dir, 'nope.csv')));
    expect(error.code).toBe('CSV_NOT_FOUND');
  });
});
