import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../src/core/serving/http-error.js';
import { recordsFromCsv } from '../../../src/core/serving/request-csv.js';
import { MAX_JSON_DEPTH, parseRequestJson } from '../../../src/core/serving/request-json.js';
import { parseContentType } from '../../../src/core/serving/request-body.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof HttpError ? `${error.status} ${error.code}` : String(error);
  }
  return undefined;
}

describe('parseRequestJson', () => {
  it('reads plain JSON exactly as JSON.parse does', () => {
    const text = '{"a": [1, -2.5e3, "x\\"N\\\\", true, null, {"I": "Infinity"}], "__proto__": {"b": 1}}';
    expect(parseRequestJson(text)).toEqual(JSON.parse(text));
  });

  it("reads Python's NaN, Infinity and -Infinity literals as numbers, outside strings only", () => {
    const value = parseRequestJson('{"a": NaN, "b": [Infinity, -Infinity, 1e2], "c": "NaN", "d": {"__proto__": 1}}') as Record<string, unknown>;
    expect(Number.isNaN(value.a)).toBe(true);
    expect(value.b).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 100]);
    expect(value.c).toBe('NaN');
    expect(Object.keys(value.d as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(value.d)).toBe(Object.prototype);
  });

  it('refuses malformed bodies with 400, whichever parser reads them', () => {
    for (const text of ['{"a": 1', '{"a": Nan}', '[Infinity,]', '{"a" 1}', '[1] 2', 'NaNx', '{"a": -Inf}', '"unterminated']) {
      expect(code(() => parseRequestJson(text)), text).toBe('400 BODY_MALFORMED_JSON');
    }
  });

  it('refuses nesting deeper than the limit before walking it, with 400', () => {
    const ok = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(code(() => parseRequestJson(ok))).toBeUndefined();
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    expect(code(() => parseRequestJson(deep))).toBe('400 BODY_TOO_DEEP');
    // Brackets inside strings do not count.
    expect(parseRequestJson(JSON.stringify({ s: '['.repeat(1000) }))).toEqual({ s: '['.repeat(1000) });
    expect(code(() => parseRequestJson(`${'{"a":'.repeat(200_000)}NaN${'}'.repeat(200_000)}`))).toBe('400 BODY_TOO_DEEP');
  });
});

describe('recordsFromCsv', () => {
  it('reads a header and rows, RFC 4180 quotes, CRLF, a BOM, and pandas missing markers', () => {
    const text = '\ufeffname,age,note\r\n"Smith, J",39,"said ""hi"""\r\nNA,,nan\r\n\r\n';
    expect(recordsFromCsv(text)).toEqual([
      { name: 'Smith, J', age: '39', note: 'said "hi"' },
      { name: null, age: null, note: null },
    ]);
  });

  it('names rows with the wrong number of fields, counted from 1', () => {
    let error: HttpError | undefined;
    try {
      recordsFromCsv('a,b\n1,2\n3\n4,5,6\n');
    } catch (caught) {
      error = caught as HttpError;
    }
    expect(error?.status).toBe(422);
    expect(error?.problems).toEqual([
      { record: 2, message: 'row has 1 fields for 2 columns' },
      { record: 3, message: 'row has 3 fields for 2 columns' },
    ]);
    expect(code(() => recordsFromCsv('a,"b\n1,2'))).toBe('400 BODY_MALFORMED_CSV');
  });
});

describe('parseContentType', () => {
  it("reads JSON, CSV and MLflow 1's format parameter", () => {
    expect(parseContentType('application/json')).toMatchObject({ kind: 'json' });
    expect(parseContentType('Application/JSON; charset=utf-8; format=pandas-split')).toEqual({ kind: 'json', type: 'application/json', format: 'pandas-split' });
    expect(parseContentType('application/json; format="pandas-records"')?.format).toBe('pandas-records');
    expect(parseContentType('application/vnd.api+json')?.kind).toBe('json');
    expect(parseContentType('text/csv; charset=utf-8')?.kind).toBe('csv');
    expect(parseContentType('text/plain')?.kind).toBe('other');
    expect(parseContentType(undefined)).toBeUndefined();
    expect(code(() => parseContentType('application/json; format=tf-serving'))).toBe('415 UNSUPPORTED_MEDIA_TYPE');
  });
});
