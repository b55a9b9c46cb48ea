import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { parseSimpleCsv } from '../../../src/core/datasets/simple-csv.js';
import { createRng } from '../../../src/core/random.js';
import { SHARED_DATA } from '../../helpers/cli.js';

interface Dialect {
  delimiter: string;
  trim: boolean;
  skipLines: number;
}

/** csv-parse with the options csv-reader.ts's parseRecords passes it. */
function full(text: string, d: Dialect): string[][] {
  return parse(text, { delimiter: d.delimiter, trim: d.trim, bom: true, from_line: d.skipLines + 1, skip_empty_lines: true, relax_column_count: true }) as string[][];
}

describe('parseSimpleCsv (the fast path of the CSV reader)', () => {
  it('gives exactly what csv-parse gives, on thousands of random texts', () => {
    const rng = createRng(15);
    const common = ['a', 'b', '7', ',', ',', ';', ' ', ' ', '\t', '\n', '\n', '\n'];
    const rare = ['"', '\r', '\u00a0', '\ufeff', '\r\n'];
    let compared = 0;
    let declined = 0;
    for (let n = 0; n < 5_000; n++) {
      const length = Math.floor(rng() * 40);
      let text = rng() < 0.05 ? '\ufeff' : '';
      for (let i = 0; i < length; i++) text += rng() < 0.01 ? rare[Math.floor(rng() * rare.length)]! : common[Math.floor(rng() * common.length)]!;
      const dialect = { delimiter: rng() < 0.8 ? ',' : ';', trim: rng() < 0.8, skipLines: Math.floor(rng() * 3) };
      const fast = parseSimpleCsv(text, dialect);
      if (fast === undefined) {
        declined++;
        continue;
      }
      compared++;
      expect(fast, `${JSON.stringify(text)} ${JSON.stringify(dialect)}`).toEqual(full(text, dialect));
    }
    // Most texts take the fast path; the ones with a quote, a "\r" or odd whitespace do not.
    expect(compared).toBeGreaterThan(4_000);
    expect(declined).toBeGreaterThan(100);
  });

  it('reads the shared datasets exactly as csv-parse does', () => {
    for (const [file, skipLines] of [['income/adult.data', 0], ['income/adult.test', 1], ['housing/housing.csv', 0]] as const) {
      const text = readFileSync(join(SHARED_DATA, file), 'utf8');
      const dialect = { delimiter: ',', trim: true, skipLines };
      expect(parseSimpleCsv(text, dialect), file).toEqual(full(text, dialect));
    }
  });

  it('leaves quoted fields, other line ends and whitespace delimiters to csv-parse', () => {
    const dialect = { delimiter: ',', trim: true, skipLines: 0 };
    expect(parseSimpleCsv('a,"b,c"\n', dialect)).toBeUndefined();
    expect(parseSimpleCsv('a,b\r\n1,2\r\n', dialect)).toBeUndefined();
    expect(parseSimpleCsv('a\tb\n', { ...dialect, delimiter: '\t' })).toBeUndefined();
    expect(parseSimpleCsv('\ufeffa, b\n\n 1 ,2\n', dialect)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});
