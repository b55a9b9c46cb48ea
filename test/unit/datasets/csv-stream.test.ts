import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanCsv, type CsvScanOptions } from '../../../src/core/datasets/csv-stream.js';
import { createRng } from '../../../src/core/random.js';
import { SHARED_DATA } from '../../helpers/cli.js';

interface Dialect {
  delimiter: string;
  trim: boolean;
  skipLines: number;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlctl-csv-stream-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** csv-parse over the whole text, with the options the reader has always given it, and each record's line. */
function full(text: string, d: Dialect): { fields: string[]; line: number }[] {
  const rows: { fields: string[]; line: number }[] = [];
  parse(text, {
    delimiter: d.delimiter,
    trim: d.trim,
    bom: true,
    from_line: d.skipLines + 1,
    skip_empty_lines: true,
    relax_column_count: true,
    on_record: (record: string[], context: { lines: number }) => {
      rows.push({ fields: record, line: context.lines });
      return record;
    },
  });
  return rows;
}

async function scanned(path: string, options: CsvScanOptions): Promise<{ rows: { fields: string[]; line: number }[]; fullParser: boolean }> {
  const rows: { fields: string[]; line: number }[] = [];
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  const summary = await scanCsv(path, options, (row) => {
    const fields: string[] = [];
    for (let i = 0; i < row.count; i++) fields.push(decoder.decode(row.bytes.subarray(row.starts[i], row.ends[i])));
    rows.push({ fields, line: row.line });
  });
  expect(summary.rows).toBe(rows.length);
  return { rows, fullParser: summary.fullParser };
}

async function outcome<T>(promise: Promise<T>): Promise<T | { error: string }> {
  try {
    return await promise;
  } catch (error) {
    return { error: (error as { code?: string }).code ?? 'thrown' };
  }
}

describe('scanCsv (the streaming reader)', () => {
  it('gives exactly the records and lines csv-parse gives, on random texts cut into random chunks', async () => {
    const rng = createRng(21);
    const common = ['a', 'b', '7', 'é', ',', ',', ';', ' ', ' ', '\t', '\n', '\n', '\n'];
    const rare = ['"', '\r', '\u00a0', '\ufeff', '\r\n', '\u2003', '""'];
    let fast = 0;
    let slow = 0;
    for (let n = 0; n < 1_500; n++) {
      const length = Math.floor(rng() * 60);
      let text = rng() < 0.05 ? '\ufeff' : '';
      for (let i = 0; i < length; i++) text += rng() < 0.015 ? rare[Math.floor(rng() * rare.length)]! : common[Math.floor(rng() * common.length)]!;
      const dialect = { delimiter: rng() < 0.8 ? ',' : ';', trim: rng() < 0.8, skipLines: Math.floor(rng() * 3) };
      const path = join(dir, `random-${n}.csv`);
      await writeFile(path, text);
      let expected: { fields: string[]; line: number }[] | { error: string };
      try {
        expected = full(text, dialect);
      } catch {
        expected = { error: 'CSV_MALFORMED' };
      }
      const got = await outcome(scanned(path, { dialect, chunkBytes: 1 + Math.floor(rng() * 20) }));
      if ('error' in got) {
        expect(got, `${JSON.stringify(text)} ${JSON.stringify(dialect)}`).toEqual(expected);
        slow++;
        continue;
      }
      expect(got.rows, `${JSON.stringify(text)} ${JSON.stringify(dialect)}`).toEqual(expected);
      if (got.fullParser) slow++;
      else fast++;
    }
    expect(fast).toBeGreaterThan(1_000);
    expect(slow).toBeGreaterThan(50);
  });

  it('reads the shared datasets exactly as csv-parse does, on the fast path', async () => {
    for (const [file, skipLines] of [['income/adult.test', 1], ['housing/housing.csv', 0]] as const) {
      const path = join(SHARED_DATA, file);
      const dialect = { delimiter: ',', trim: true, skipLines };
      const got = await scanned(path, { dialect, chunkBytes: 65_536 });
      expect(got.fullParser, file).toBe(false);
      expect(got.rows, file).toEqual(full(readFileSync(path, 'utf8'), dialect));
    }
  });

  it('hands the rest of the file to csv-parse at the first quoted line, with the right line numbers', async () => {
    const path = join(dir, 'quoted-late.csv');
    await writeFile(path, 'a,b\n1,2\n\n3,"x\ny"\n4, 5 \n');
    const got = await scanned(path, { dialect: { delimiter: ',', trim: true, skipLines: 0 }, chunkBytes: 4 });
    expect(got.fullParser).toBe(true);
    expect(got.rows).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['1', '2'], line: 2 },
      { fields: ['3', 'x\ny'], line: 5 },
      { fields: ['4', '5'], line: 6 },
    ]);
  });

  it('names the line of a quote that is never closed, deep in the file', async () => {
    const path = join(dir, 'bad-quote.csv');
    await writeFile(path, `a,b\n${'1,2\n'.repeat(5_000)}"3,4\n`);
    const error = await scanCsv(path, { dialect: { delimiter: ',', trim: true, skipLines: 0 }, chunkBytes: 1_000 }, () => {}).catch((e: unknown) => e as Error);
    expect((error as { code?: string }).code).toBe('CSV_MALFORMED');
    expect((error as Error).message).toContain(`${path} line 5002`);
  });

  it('stops when the handler says so, and when the signal aborts', async () => {
    const path = join(dir, 'many.csv');
    await writeFile(path, 'x\n'.repeat(10_000));
    let seen = 0;
    const summary = await scanCsv(path, { dialect: { delimiter: ',', trim: true, skipLines: 0 }, chunkBytes: 100 }, () => ++seen < 10);
    expect(summary.rows).toBe(10);
    const controller = new AbortController();
    controller.abort();
    await expect(scanCsv(path, { dialect: { delimiter: ',', trim: true, skipLines: 0 }, signal: controller.signal }, () => {})).rejects.toMatchObject({ name: 'AbortError' });
  });
});
