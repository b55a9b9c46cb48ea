import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { NotFoundError, UsageError } from '../errors.js';
import { readCsvFile } from '../datasets/csv-reader.js';

/** Line and column (1-based) of a character offset in `text`. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line += 1;
      lastBreak = i;
    }
  }
  return { line, column: offset - lastBreak };
}

function jsonError(source: string, text: string, error: Error, lineOffset = 0): UsageError {
  const position = /position (\d+)/.exec(error.message);
  const where = position?.[1] === undefined ? undefined : lineColumn(text, Number(position[1]));
  const at = where === undefined ? (lineOffset > 0 ? ` line ${lineOffset}` : '') : ` line ${where.line + lineOffset - (lineOffset > 0 ? 1 : 0)}, column ${where.column}`;
  return new UsageError('INPUT_MALFORMED_JSON', `${source}:${at} is not valid JSON (${error.message.replace(/ in JSON at position \d+.*$/, '')})`, {
    hint: 'give one JSON object, an array of objects, or one object per line (JSON lines)',
  });
}

/**
 * Parses prediction input: one JSON object, an array of objects, or JSON lines. A syntax
 * error names the line (and column) it is on.
 */
export function parseJsonRecords(text: string, source: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new UsageError('INPUT_EMPTY', `${source} is empty: no records to predict`, { hint: 'pipe JSON in, or pass --input <file>' });
  if (trimmed.startsWith('[')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw jsonError(source, text, error as Error);
    }
    return value as unknown[];
  }
  try {
    return [JSON.parse(text)];
  } catch {
    // Not one document: JSON lines.
  }
  const records: unknown[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line));
    } catch (error) {
      throw jsonError(source, line, error as Error, i + 1);
    }
  });
  return records;
}

/** Every parsed item must be a JSON object; reports all that are not. */
export function requireObjects(records: readonly unknown[], source: string): Record<string, unknown>[] {
  const problems: string[] = [];
  records.forEach((r, i) => {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) problems.push(`record ${i + 1}: expected a JSON object, got ${Array.isArray(r) ? 'an array' : r === null ? 'null' : typeof r}`);
  });
  if (problems.length > 0) throw new UsageError('INPUT_NOT_OBJECTS', `${source}: every record must be a JSON object`, { problems });
  return records as Record<string, unknown>[];
}

/** Reads records from a .csv (with `missing` as its missing markers), .json or .jsonl file. */
export async function readRecordsFile(path: string, options: { readonly missing?: readonly string[] } = {}): Promise<Record<string, unknown>[]> {
  if (extname(path).toLowerCase() === '.csv') return (await readCsvFile(path, options.missing === undefined ? {} : { missing: options.missing })).records;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('INPUT_NOT_FOUND', `input file ${path} does not exist`);
    throw new UsageError('INPUT_UNREADABLE', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return requireObjects(parseJsonRecords(text, path), path);
}
