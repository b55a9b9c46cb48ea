import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/core/errors.js';
import { parseOrderBy, parseRunFilter } from '../../../src/core/tracking/run-filter.js';

function parseError(source: string): UsageError {
  try {
    parseRunFilter(source);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error(`"${source}" parsed`);
}

/** The column the caret points at (0-based), read from the error's second problem line. */
function caretColumn(error: UsageError): number {
  return error.problems[1]!.indexOf('^');
}

describe('parseRunFilter', () => {
  it('parses comparisons joined by AND with fields of every kind', () => {
    expect(parseRunFilter("metrics.accuracy > 0.8 and params.lr = 0.001 AND tags.team = 'ml'")).toEqual({
      kind: 'and',
      left: {
        kind: 'and',
        left: { kind: 'comparison', field: { kind: 'metric', key: 'accuracy' }, op: '>', value: 0.8, fieldPosition: 0, valuePosition: 19 },
        right: { kind: 'comparison', field: { kind: 'param', key: 'lr' }, op: '=', value: 0.001, fieldPosition: 27, valuePosition: 39 },
      },
      right: { kind: 'comparison', field: { kind: 'tag', key: 'team' }, op: '=', value: 'ml', fieldPosition: 49, valuePosition: 61 },
    });
  });

  it('binds AND tighter than OR, and parentheses override', () => {
    const flat = parseRunFilter("status = 'FAILED' or metrics.auc > 0.9 and params.x = 1");
    expect(flat?.kind).toBe('or');
    const grouped = parseRunFilter("(status = 'FAILED' or metrics.auc > 0.9) and params.x = 1");
    expect(grouped?.kind).toBe('and');
  });

  it('reads operators, quoted keys, attributes and their aliases', () => {
    const e = parseRunFilter('tags."my key" LIKE \'a%\' or attributes.run_name != "x" or metrics.`val.auc` <= -1e-3 or params.opt NOT LIKE \'s%\' or name ILIKE \'B%\' or duration <> 3');
    const ops: string[] = [];
    const walk = (x: typeof e): void => {
      if (x === undefined) return;
      if (x.kind === 'comparison') ops.push(`${JSON.stringify(x.field)} ${x.op} ${JSON.stringify(x.value)}`);
      else {
        walk(x.left);
        walk(x.right);
      }
    };
    walk(e);
    expect(ops).toEqual([
      '{"kind":"tag","key":"my key"} LIKE "a%"',
      '{"kind":"attribute","name":"name"} != "x"',
      '{"kind":"metric","key":"val.auc"} <= -0.001',
      '{"kind":"param","key":"opt"} NOT LIKE "s%"',
      '{"kind":"attribute","name":"name"} ILIKE "B%"',
      '{"kind":"attribute","name":"duration"} != 3',
    ]);
  });

  it('treats an empty filter as no filter', () => {
    expect(parseRunFilter('   ')).toBeUndefined();
  });

  it.each([
    ['metrics.accuracy >', 18, 'expected a number or a quoted string'],
    ['metrics.accuracy 0.8', 17, 'expected a comparison'],
    ['(metrics.a > 1 or params.b = 2', 30, 'expected ")"'],
    ['metrics.a > 1)', 13, 'expected AND, OR or the end'],
    ['metrics.a > 1 and', 17, 'expected a field'],
    ['colour = 1', 0, 'unknown field "colour"'],
    ["params.x = 'open", 11, 'unterminated string'],
    ['params.opt = adam', 13, 'expected a number or a quoted string'],
    ["metrics.auc = 'high'", 14, 'metrics are numbers'],
    ['metrics.auc LIKE 3', 17, 'needs a quoted pattern'],
    ['metrics.a > 1 && metrics.b > 2', 14, 'unexpected character "&"'],
  ])('rejects %j at column %i', (source, column, message) => {
    const error = parseError(source);
    expect(error.code).toBe('INVALID_RUN_FILTER');
    expect(error.message).toContain(message);
    expect(error.message).toContain(`position ${column + 1}`);
    expect(error.problems[0]).toBe(source);
    expect(caretColumn(error)).toBe(column);
  });
});

describe('parseOrderBy', () => {
  it('parses several terms with directions', () => {
    expect(parseOrderBy('metrics.auc desc, start_time, params.lr ASC')).toEqual([
      { field: { kind: 'metric', key: 'auc' }, descending: true },
      { field: { kind: 'attribute', name: 'start_time' }, descending: false },
      { field: { kind: 'param', key: 'lr' }, descending: false },
    ]);
  });

  it('points at a bad direction', () => {
    expect(() => parseOrderBy('metrics.auc downwards')).toThrow(/order-by at position 13/);
  });
});
