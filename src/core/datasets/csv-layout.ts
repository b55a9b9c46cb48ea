/**
 * How a CSV file is laid out before its records are read: the dialect (a dataset's, merged with
 * its file's overrides; or a user's file, which may be a dataset's headerless format with UCI's
 * banner line), the header matched to the declared columns, and the problems found while
 * reading, collected the same way by every reader.
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { didYouMean } from '../text/near-names.js';
import type { ColumnDef, CsvDialect, DatasetFile, DatasetSpec } from './dataset-spec.js';

/**
 * Field values read as missing in a user's CSV unless a task's `missing` list replaces them:
 * the empty field and the common spellings of "not available" (pandas' defaults, trimmed to
 * the ones that are rarely a real value).
 */
export const DEFAULT_MISSING_MARKERS: readonly string[] = Object.freeze(['', 'NA', 'N/A', 'NaN', 'null', '?', '.']);

/** Problems beyond this many are counted, not listed. */
export const MAX_LISTED_PROBLEMS = 20;

/** A file's dialect, and the label suffixes to strip per column (adult.test's "."). */
export interface FileLayout {
  readonly dialect: CsvDialect;
  /** The declared columns of a headerless file, in file order (null: the header names them). */
  readonly headerless: readonly ColumnDef[] | null;
  readonly labelSuffixes: ReadonlyMap<string, readonly string[]>;
}

/** A dataset file read with the dataset's dialect, the file's overrides and, when given, other missing markers. */
export function datasetFileLayout(path: string, spec: DatasetSpec, file?: DatasetFile, missing?: readonly string[]): FileLayout {
  const entry = file ?? spec.files.find((candidate) => candidate.name === basename(path));
  const dialect: CsvDialect = { ...spec.dialect, ...entry?.dialect, ...(missing === undefined ? {} : { missing }) };
  const target = spec.columns.at(-1)?.name;
  return {
    dialect,
    headerless: dialect.header ? null : spec.columns,
    labelSuffixes: dialect.labelSuffix === undefined || target === undefined ? new Map() : new Map([[target, [dialect.labelSuffix]]]),
  };
}

/**
 * A user's file (header line expected). With a dataset `spec`, a file whose first line is not
 * a header is read in the spec's headerless format, and a leading "|…" banner line (UCI's
 * comment convention, adult.test) is skipped. Missing markers: `missing`, else the defaults
 * plus the spec's.
 */
export async function userFileLayout(path: string, options: { readonly spec?: DatasetSpec; readonly missing?: readonly string[] } = {}): Promise<FileLayout & { readonly empty: boolean }> {
  const spec = options.spec;
  const missing = options.missing ?? [...new Set([...DEFAULT_MISSING_MARKERS, ...(spec?.dialect.missing ?? [])])];
  const delimiter = spec?.dialect.delimiter ?? ',';
  const lines = await leadingLines(path, 2);
  const banner = lines[0] !== undefined && lines[0].text.trimStart().startsWith('|') ? lines[0] : undefined;
  const firstLine = banner === undefined ? lines[0] : lines[1];
  const headerless = spec !== undefined && firstLine !== undefined && !looksLikeHeader(firstLine.text, delimiter, spec.columns);
  const target = spec?.columns.at(-1)?.name;
  const suffixes = spec?.files.flatMap((f) => (f.dialect?.labelSuffix === undefined ? [] : [f.dialect.labelSuffix])) ?? [];
  return {
    dialect: { header: !headerless, delimiter, trim: true, missing, skipLines: firstLine?.index ?? 0 },
    headerless: headerless ? spec.columns : null,
    labelSuffixes: target === undefined || suffixes.length === 0 ? new Map() : new Map([[target, suffixes]]),
    empty: firstLine === undefined,
  };
}

/** Bytes read from the top of a file to find its first lines, at most. */
const LEADING_BYTES_LIMIT = 16 << 20;

/** The first `count` non-blank lines of a file with their 0-based line index (reads only the top of the file). */
export async function leadingLines(path: string, count: number): Promise<{ index: number; text: string }[]> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw fileError(path, error);
  }
  try {
    if ((await handle.stat()).isDirectory()) throw new UsageError('CSV_NOT_FOUND', `${path} is a directory, not a CSV file`);
    const decoder = new TextDecoder();
    let text = '';
    let size = 65_536;
    let position = 0;
    for (;;) {
      const buffer = new Uint8Array(size);
      const { bytesRead } = await handle.read(buffer, 0, size, position);
      position += bytesRead;
      text += decoder.decode(buffer.subarray(0, bytesRead), { stream: bytesRead > 0 });
      const found = linesOf(text, count, bytesRead === 0);
      if (found !== undefined || bytesRead === 0 || position >= LEADING_BYTES_LIMIT) return found ?? linesOf(text, count, true)!;
      size *= 2;
    }
  } finally {
    await handle.close();
  }
}

/** The first `count` non-blank lines of `text`; undefined when more text may complete them. */
function linesOf(text: string, count: number, complete: boolean): { index: number; text: string }[] | undefined {
  const found: { index: number; text: string }[] = [];
  let start = 0;
  let index = 0;
  while (found.length < count) {
    let end = text.indexOf('\n', start);
    if (end === -1) {
      if (!complete) return undefined;
      end = text.length;
    }
    const line = text.slice(start, end).replace(/\r$/, '').replace(/^\uFEFF/, '');
    if (line.trim() !== '') found.push({ index, text: line });
    if (end >= text.length) break;
    start = end + 1;
    index++;
  }
  return found;
}

export function fileError(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new UsageError('CSV_NOT_FOUND', `${path}: no such file`, { cause: error });
  if (code === 'EISDIR') return new UsageError('CSV_NOT_FOUND', `${path} is a directory, not a CSV file`, { cause: error });
  return error as Error;
}

function looksLikeHeader(line: string, delimiter: string, columns: readonly ColumnDef[]): boolean {
  const names = new Set(columns.map((column) => column.name.toLowerCase()));
  return line.split(delimiter).some((field) => names.has(field.trim().replace(/^"|"$/g, '').toLowerCase()));
}

/**
 * Checks a header against declared columns: no name twice; when `required`, every declared
 * column present (all absent ones named, with a "did you mean").
 */
export function checkHeader(path: string, header: readonly string[], declared: readonly ColumnDef[], required: boolean): void {
  const seen = new Set<string>();
  const duplicates = header.filter((name) => (seen.has(name) ? true : (seen.add(name), false)));
  if (duplicates.length > 0) {
    throw new UsageError('CSV_DUPLICATE_COLUMNS', `${path} line 1: duplicate column names: ${[...new Set(duplicates)].join(', ')}`);
  }
  if (!required) return;
  const absent = declared.filter((column) => !seen.has(column.name)).map((column) => column.name);
  if (absent.length > 0) {
    const listed = absent.map((name) => `"${name}"`).join(', ');
    throw new UsageError('CSV_MISSING_COLUMNS', `${path} has no column ${listed}${absent.length === 1 ? didYouMean(absent[0]!, header) : ''}`, {
      problems: absent.length === 1 ? [] : absent.map((name) => `no column "${name}"${didYouMean(name, header)}`),
      hint: `its columns are: ${header.map((name) => JSON.stringify(name)).join(', ')}`,
    });
  }
}

/** Problems met while reading, listed up to MAX_LISTED_PROBLEMS and counted beyond. */
export class CsvProblems {
  private readonly listed: { code: string; text: string }[] = [];
  count = 0;

  add(code: string, text: () => string): void {
    this.count++;
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push({ code, text: text() });
  }

  /** Throws the problems as one UsageError (the first names the error), if there are any. */
  throwIfAny(missing: Iterable<string>): void {
    if (this.count === 0) return;
    const problems = this.listed;
    const first = problems[0]!;
    const more = this.count - 1;
    throw new UsageError(first.code, more === 0 ? first.text : `${first.text} (and ${more} more problem${more === 1 ? '' : 's'})`, {
      problems: this.count > 1 ? [...problems.map((p) => p.text), ...(this.count > problems.length ? [`… ${this.count - problems.length} more not shown`] : [])] : [],
      hint:
        first.code === 'CSV_INVALID_VALUE'
          ? `fix the value, or write a missing value as ${[...missing].map((m) => JSON.stringify(m)).join(' or ')}`
          : 'fix the line so that every row has one field per column, or pass --on-bad-line skip to leave such lines out (counted)',
    });
  }
}
