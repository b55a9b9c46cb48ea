import { describe, expect, it } from 'vitest';
import type { DataRecord } from '../../../src/core/datasets/dataset-spec.js';
import { MlctlError } from '../../../src/core/errors.js';
import { datePart, parseDate } from '../../../src/core/features/dates.js';
import { fitPipeline, parsePipeline, transformRecords } from '../../../src/core/features/pipeline.js';
import { pipelineInputSchema, validateRecords } from '../../../src/core/features/record-validation.js';
import { profileColumn } from '../../../src/core/tasks/column-profile.js';
import { inferBinaryLabels, inferFeatures, inferProblemType } from '../../../src/core/tasks/task-inference.js';
import { checkTargets } from '../../../src/core/training/task-data.js';
import { createDataTable, LineIndex, rowsAsRecords } from '../../../src/core/datasets/data-table.js';
import { getTask } from '../../../src/core/tasks/task-registry.js';
import type { TaskSpec } from '../../../src/core/tasks/task-spec.js';

const column = (name: string, values: readonly (string | number | null)[]): DataRecord[] => values.map((v) => ({ [name]: v }));
const kindOf = (values: readonly (string | number | null)[], name = 'c') => profileColumn(name, column(name, values)).kind;
const range = (n: number, f: (i: number) => string | number | null) => Array.from({ length: n }, (_, i) => f(i));

describe('column kinds', () => {
  it('tells numbers, categories, yes/no, dates, date-times, ids, constants and empty columns apart', () => {
    expect(kindOf(['1', '2.5', null, '3'])).toBe('numeric');
    expect(kindOf(['red', 'blue', 'red'])).toBe('categorical');
    expect(kindOf(['Yes', 'no', null, 'YES'])).toBe('boolean');
    expect(kindOf(['TRUE', 'false'])).toBe('boolean');
    expect(kindOf(['2024-01-31', '2023-12-01', null])).toBe('date');
    expect(kindOf(['2024-01-31T10:00:00Z', '2024-02-01 08:30'])).toBe('datetime');
    expect(kindOf(['03/09/2024', '04/09/2024'])).toBe('categorical');
    expect(kindOf(range(30, (i) => String(i + 1)))).toBe('id-like');
    expect(kindOf(range(30, (i) => String(1000 + i * 7)), 'customer_id')).toBe('id-like');
    expect(kindOf(range(30, (i) => String(1000 + i * 7)), 'income')).toBe('numeric');
    expect(kindOf(range(30, (i) => `user-${i}`))).toBe('id-like');
    expect(kindOf(range(200, (i) => `note ${i % 120}`))).toBe('high-cardinality');
    expect(kindOf(['a', 'a', null])).toBe('constant');
    expect(kindOf([null, null])).toBe('empty');
  });
});

describe('problem type', () => {
  const typeOf = (values: readonly (string | number | null)[]) => inferProblemType(profileColumn('y', column('y', values))).problemType;
  it('two values → binary, a few classes → multiclass, numbers → regression', () => {
    expect(typeOf(range(100, (i) => (i % 2 === 0 ? 'yes' : 'no')))).toBe('binary-classification');
    expect(typeOf(range(100, (i) => ['a', 'b', 'c'][i % 3]!))).toBe('multiclass-classification');
    expect(typeOf(range(100, (i) => String(i % 4)))).toBe('multiclass-classification');
    expect(typeOf(range(100, (i) => String(i * 1.5)))).toBe('regression');
    expect(typeOf(range(100, (i) => String(i % 40)))).toBe('regression');
  });

  it('refuses a target with one value', () => {
    expect(() => typeOf(['a', 'a'])).toThrow(/only one value/);
  });

  it('picks the plain positive label, else the larger value', () => {
    const labels = (values: string[]) => inferBinaryLabels(profileColumn('y', column('y', values)), { column: 'y' });
    expect(labels(['no', 'Yes'])).toMatchObject({ positiveLabel: 'Yes', negativeLabel: 'no' });
    expect(labels(['1', '0'])).toMatchObject({ positiveLabel: '1', negativeLabel: '0' });
    expect(labels(['<=50K', '>50K'])).toMatchObject({ positiveLabel: '>50K', negativeLabel: '<=50K' });
    expect(labels(['2', '10'])).toMatchObject({ positiveLabel: '10', negativeLabel: '2' });
  });
});

describe('inferred features', () => {
  it('leaves out the target, sensitive, id-like and constant columns, each with a note', () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ id: String(i + 1), x: String(i % 7), same: 'k', group: i % 2 === 0 ? 'a' : 'b', y: String(i % 2) }));
    const { features, notes } = inferFeatures(['id', 'x', 'same', 'group', 'y'], (name) => profileColumn(name, records), { target: 'y', sensitive: ['group'] });
    expect(features.columns.map((c) => c.column)).toEqual(['x']);
    expect(notes.map((n) => n.message)).toEqual([
      '1 feature: 1 numeric',
      '"id" left out: id-like: the row number 1…40',
      '"same" left out: constant: every value is "k"',
      '"group" left out: sensitive (kept for the report\'s fairness slices)',
    ]);
  });
});

describe('the date step', () => {
  it('parses ISO dates and date-times, and refuses impossible days and ambiguous spellings', () => {
    expect(parseDate('2024-02-29')?.ms).toBe(Date.UTC(2024, 1, 29));
    expect(parseDate('2023-02-29')).toBeUndefined();
    expect(parseDate('2024-03-09T14:30:00+02:00')).toEqual({ ms: Date.UTC(2024, 2, 9, 14, 30), hasTime: true });
    expect(parseDate('09/03/2024')).toBeUndefined();
    // 2024-03-09 was a Saturday: Monday is 0.
    expect(datePart(Date.UTC(2024, 2, 9), 'day_of_week')).toBe(5);
    expect(datePart(Date.UTC(2024, 2, 9), 'day_of_year')).toBe(69);
    expect(datePart(Date.UTC(1970, 0, 2), 'days_since_epoch')).toBe(1);
  });

  it('is fitted, saved as JSON and replayed on raw date strings; an unparseable date names the field', () => {
    const records = range(20, (i) => `2020-01-${String(i + 1).padStart(2, '0')}`).map((d, i) => ({ when: i === 3 ? null : d }));
    const spec = { columns: [{ column: 'when', type: 'date' as const, steps: [{ kind: 'impute' as const, strategy: 'median' as const }, { kind: 'date' as const }] }] };
    const fitted = fitPipeline(spec, records);
    expect(fitted.featureNames).toEqual(['when.year', 'when.month', 'when.day_of_week', 'when.day_of_year', 'when.days_since_epoch']);
    const replayed = parsePipeline(JSON.parse(JSON.stringify(fitted)));
    expect(Array.from(transformRecords(replayed, [{ when: '2020-01-05' }]).data)).toEqual(Array.from(transformRecords(fitted, [{ when: '2020-01-05' }]).data));
    const { problems } = validateRecords(replayed, [{ when: '2020-13-01' }, { when: 20200101 }]);
    expect(problems.map((p) => [p.record, p.field])).toEqual([
      [0, 'when'],
      [1, 'when'],
    ]);
    expect(problems[0]!.message).toMatch(/"2020-13-01" is not a date/);
    expect((pipelineInputSchema(replayed).properties as Record<string, { type: unknown }>).when!.type).toEqual(['string', 'null']);
  });
});

describe('missing targets', () => {
  const regression: TaskSpec = { ...getTask('housing'), dataset: 'x.csv' };
  // price as the reader keeps a regression target: numbers, NaN for missing, "n/a" set aside as unparsed.
  const lines = new LineIndex();
  lines.add(0, 2);
  const table = {
    table: createDataTable('x.csv', 5, [{ kind: 'number', name: 'price', values: Float64Array.from([10, Number.NaN, 12, Number.NaN, Number.NaN]) }], lines),
    unparsed: new Map([['price', { count: 1, first: [{ row: 3, text: 'n/a' }] }]]),
    badLines: null,
  };

  it('drops rows with a missing or unparseable target before the split, naming their file lines', () => {
    const { rows, dropped } = checkTargets(regression, table, 'x.csv');
    expect(rowsAsRecords(rows, ['price'])).toEqual([{ price: 10 }, { price: 12 }]);
    expect(dropped).toEqual({ file: 'x.csv', count: 3, lines: [3, 5, 6] });
  });

  it('refuses them with onMissingTarget "error", by line', () => {
    try {
      checkTargets({ ...regression, onMissingTarget: 'error' }, table, 'x.csv');
      expect.unreachable();
    } catch (error) {
      expect((error as MlctlError).code).toBe('TARGET_MISSING');
      expect((error as MlctlError).category).toBe('usage');
      expect((error as MlctlError).problems).toEqual(['x.csv line 3: price is missing', 'x.csv line 5: price is "n/a"', 'x.csv line 6: price is missing']);
    }
  });
});
