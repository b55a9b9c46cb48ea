import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse } from 'csv-parse/sync';
import { UsageError } from '../errors.js';
import { didYouMean } from '../text/near-names.js';
import type { ColumnDef, ColumnType, CsvDialect, DataRecord, DatasetFile, DatasetSpec } from './dataset-spec.js';
import { parseSimpleCsv } from './simple-csv.js';

/** A parsed CSV: column names in file order and one record per data row. */
export interface CsvTable {
  columns: string[];
  /** The type of each column, parallel to `columns`. */
  columnTypes: ColumnType[];
  records: DataRecord[];
  /**
   * The 1-based line of the file that record `row` ends on (for messages that point into the
   * file). Computed on first call by a second parse; absent on tables not read from a file.
   */
  lineOf?: (row: number) => number;
}

/**
 * Field values read as missing in a user's CSV unless a task's `missing` list replaces them:
 * the empty field and the common spellings of "not available" (pandas' defaults, trimmed to
 * the ones that are rarely a real value).
 */
export const DEFAULT_MISSING_MARKERS: readonly string[] = Object.freeze(['', 'NA', 'N/A', 'NaN', 'null', '?', '.']);

/** Problems beyond this many are counted, not listed. */
const MAX_LISTED_PROBLEMS = 20;

/**
 * Reads a dataset file with the dataset's dialect merged with the file's overrides. Numbers
 * are parsed for 'number' columns; missing markers become null; `labelSuffix` is stripped from
 * the last column (the target); blank lines are skipped. A bad value throws UsageError
 * 'CSV_INVALID_VALUE' naming the file, line and column; a wrong field count
 * ('CSV_FIELD_COUNT') names the file and line. Every problem found is listed.
 */
export async function readDatasetFile(path: string, spec: DatasetSpec, file?: DatasetFile, options: { readonly missing?: readonly string[] } = {}): Promise<CsvTable> {
  const entry = file ?? spec.files.find((candidate) => candidate.name === basename(path));
  const dialect: CsvDialect = { ...spec.dialect, ...entry?.dialect, ...(options.missing === undefined ? {} : { missing: options.missing }) };
  const text = await readText(path);
  const raw = parseRaw(text, path, dialect);
  let columns: readonly ColumnDef[] = spec.columns;
  if (dialect.header) {
    const header = raw.header ?? [];
    columns = matchHeader(path, header, spec.columns, true);
  }
  const target = spec.columns.at(-1)?.name;
  return convert(raw, path, columns, {
    missing: new Set(dialect.missing),
    labelSuffixes: dialect.labelSuffix === undefined || target === undefined ? new Map() : new Map([[target, [dialect.labelSuffix]]]),
  });
}

export interface ReadCsvOptions {
  /** Column types by name; columns of the file not listed here are inferred. */
  columns?: readonly ColumnDef[];
  /** Field values meaning "missing" (a task's `missing` list); default: DEFAULT_MISSING_MARKERS, plus the spec's markers when `spec` is given. */
  missing?: readonly string[];
  /** Read every column not in `columns` as text (inference looks at the raw values itself). */
  inferTypes?: false;
  /** Lets the file be in the spec's own format (adult's headerless rows, its banner and its label suffix). */
  spec?: DatasetSpec;
}

/**
 * Reads a user's own CSV (header line required) for `evaluate --data x.csv` and custom tasks.
 * Types come from `columns` when given (header names matched; missing columns are reported
 * together), else are inferred (number when every non-missing value parses as one). When
 * `spec` is given and the first line is not a header, the file is read in the spec's
 * headerless format. Errors as readDatasetFile.
 */
export async function readCsvFile(path: string, options: ReadCsvOptions = {}): Promise<CsvTable> {
  const text = await readText(path);
  const spec = options.spec;
  const missing = new Set(options.missing ?? [...DEFAULT_MISSING_MARKERS, ...(spec?.dialect.missing ?? [])]);
  const delimiter = spec?.dialect.delimiter ?? ',';
  const lines = leadingLines(text, 2);
  // adult.test and friends open with a "|…" banner line (UCI's comment convention).
  const banner = lines[0] !== undefined && lines[0].text.trimStart().startsWith('|') ? lines[0] : undefined;
  const firstLine = banner === undefined ? lines[0] : lines[1];
  if (firstLine === undefined) return { columns: [], columnTypes: [], records: [] };
  const skipLines = firstLine.index;
  const headerless = spec !== undefined && !looksLikeHeader(firstLine.text, delimiter, spec.columns);
  const dialect: CsvDialect = {
    header: !headerless,
    delimiter,
    trim: true,
    missing: [...missing],
    skipLines,
  };
  const raw = parseRaw(text, path, dialect);
  let columns: ColumnDef[];
  if (headerless && spec !== undefined) {
    columns = [...spec.columns];
  } else {
    const declared = options.columns ?? spec?.columns ?? [];
    columns = matchHeader(path, raw.header ?? [], declared, options.columns !== undefined, options.inferTypes === false ? undefined : raw, missing);
  }
  const target = spec?.columns.at(-1)?.name;
  const suffixes = spec?.files.flatMap((f) => (f.dialect?.labelSuffix === undefined ? [] : [f.dialect.labelSuffix])) ?? [];
  return convert(raw, path, columns, {
    missing,
    labelSuffixes: target === undefined || suffixes.length === 0 ? new Map() : new Map([[target, suffixes]]),
  });
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError('CSV_NOT_FOUND', `${path}: no such file`, { cause: error });
    if (code === 'EISDIR') throw new UsageError('CSV_NOT_FOUND', `${path} is a directory, not a CSV file`, { cause: error });
    throw error;
  }
}

/** The first `count` non-blank lines with their 0-based line index. */
function leadingLines(text: string, count: number): { index: number; text: string }[] {
  const found: { index: number; text: string }[] = [];
  let start = 0;
  let index = 0;
  while (found.length < count && start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '').replace(/^\uFEFF/, '');
    if (line.trim() !== '') found.push({ index, text: line });
    start = end + 1;
    index++;
  }
  return found;
}

function looksLikeHeader(line: string, delimiter: string, columns: readonly ColumnDef[]): boolean {
  const names = new Set(columns.map((column) => column.name.toLowerCase()));
  return line.split(delimiter).some((field) => names.has(field.trim().replace(/^"|"$/g, '').toLowerCase()));
}

interface RawTable {
  header: string[] | null;
  rows: string[][];
  /** The 1-based line each row ends on, computed only when a problem must be reported. */
  lineOf(row: number): number;
}

function parseRaw(text: string, path: string, dialect: CsvDialect): RawTable {
  // Tracking line numbers slows parsing by a fifth; they are only needed to report a problem,
  // so the fast pass skips them and a second pass recovers them when needed.
  const rows = parseRecords(text, path, dialect, undefined);
  let lines: number[] | undefined;
  const header = dialect.header ? (rows.shift() ?? []) : null;
  const lineOf = (row: number): number => {
    if (lines === undefined) {
      const tracked: number[] = [];
      parseRecords(text, path, dialect, tracked);
      lines = dialect.header ? tracked.slice(1) : tracked;
    }
    return lines[row] ?? 0;
  };
  return { header, rows, lineOf };
}

function parseRecords(text: string, path: string, dialect: CsvDialect, lines: number[] | undefined): string[][] {
  // Most files need no quoting: split them with the string built-ins (simple-csv.ts). Line
  // numbers, wanted only to report a problem, still come from csv-parse.
  const simple = lines === undefined ? parseSimpleCsv(text, dialect) : undefined;
  if (simple !== undefined) return simple;
  try {
    return parse(text, {
      delimiter: dialect.delimiter,
      trim: dialect.trim,
      bom: true,
      from_line: dialect.skipLines + 1,
      skip_empty_lines: true,
      relax_column_count: true,
      ...(lines === undefined
        ? {}
        : {
            on_record: (record: string[], context: { lines: number }) => {
              lines.push(context.lines);
              return record;
            },
          }),
    }) as string[][];
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new UsageError('CSV_MALFORMED', `${path}${line === undefined ? '' : ` line ${line}`}: ${(error as Error).message}`, {
      hint: 'fix the file: check its quotes and separators',
      cause: error,
    });
  }
}

/** Maps a header onto declared columns; when `required`, every declared column must appear. */
function matchHeader(
  path: string,
  header: readonly string[],
  declared: readonly ColumnDef[],
  required: boolean,
  raw?: RawTable,
  missing?: ReadonlySet<string>,
): ColumnDef[] {
  const seen = new Set<string>();
  const duplicates = header.filter((name) => (seen.has(name) ? true : (seen.add(name), false)));
  if (duplicates.length > 0) {
    throw new UsageError('CSV_DUPLICATE_COLUMNS', `${path} line 1: duplicate column names: ${[...new Set(duplicates)].join(', ')}`);
  }
  if (required) {
    const absent = declared.filter((column) => !seen.has(column.name)).map((column) => column.name);
    if (absent.length > 0) {
      const listed = absent.map((name) => `"${name}"`).join(', ');
      throw new UsageError('CSV_MISSING_COLUMNS', `${path} has no column ${listed}${absent.length === 1 ? didYouMean(absent[0]!, header) : ''}`, {
        problems: absent.length === 1 ? [] : absent.map((name) => `no column "${name}"${didYouMean(name, header)}`),
        hint: `its columns are: ${header.map((name) => JSON.stringify(name)).join(', ')}`,
      });
    }
  }
  const types = new Map(declared.map((column) => [column.name, column.type]));
  return header.map((name, index) => ({
    name,
    type: types.get(name) ?? (raw !== undefined && missing !== undefined ? inferType(raw, index, missing) : 'string'),
  }));
}

function inferType(raw: RawTable, index: number, missing: ReadonlySet<string>): ColumnType {
  let sawValue = false;
  for (const row of raw.rows) {
    const value = row[index];
    if (value === undefined || missing.has(value)) continue;
    if (parseNumber(value) === null) return 'string';
    sawValue = true;
  }
  return sawValue ? 'number' : 'string';
}

function parseNumber(value: string): number | null {
  if (value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

interface ConvertOptions {
  missing: ReadonlySet<string>;
  /** Per column: suffixes stripped from its values (adult.test's "."). */
  labelSuffixes: ReadonlyMap<string, readonly string[]>;
}

function convert(raw: RawTable, path: string, columns: readonly ColumnDef[], options: ConvertOptions): CsvTable {
  const found: { code: string; row: number; text: (line: number) => string }[] = [];
  let problemCount = 0;
  const report = (code: string, row: number, text: (line: number) => string): void => {
    problemCount++;
    if (found.length < MAX_LISTED_PROBLEMS) found.push({ code, row, text });
  };
  const names = columns.map((column) => column.name);
  const numeric = columns.map((column) => column.type === 'number');
  const suffixes = names.map((name) => options.labelSuffixes.get(name) ?? []);
  const records: DataRecord[] = new Array(raw.rows.length);
  for (let r = 0; r < raw.rows.length; r++) {
    const row = raw.rows[r] as string[];
    if (row.length !== names.length) {
      report('CSV_FIELD_COUNT', r, (line) => `${path} line ${line}: expected ${names.length} fields, found ${row.length}`);
      continue;
    }
    const record: DataRecord = {};
    for (let c = 0; c < names.length; c++) {
      let value = row[c] as string;
      const name = names[c] as string;
      if (options.missing.has(value)) {
        record[name] = null;
        continue;
      }
      if (numeric[c] === true) {
        const n = parseNumber(value);
        if (n === null) report('CSV_INVALID_VALUE', r, (line) => `${path} line ${line}, column "${name}": "${value}" is not a number`);
        record[name] = n;
        continue;
      }
      for (const suffix of suffixes[c] as readonly string[]) {
        if (value.endsWith(suffix)) {
          value = value.slice(0, -suffix.length);
          break;
        }
      }
      record[name] = value;
    }
    records[r] = record;
  }
  if (problemCount > 0) {
    const problems = found.map((problem) => ({ code: problem.code, text: problem.text(raw.lineOf(problem.row)) }));
    const first = problems[0] as { code: string; text: string };
    const more = problemCount - 1;
    throw new UsageError(first.code, more === 0 ? first.text : `${first.text} (and ${more} more problem${more === 1 ? '' : 's'})`, {
      problems: problemCount > 1 ? [...problems.map((p) => p.text), ...(problemCount > problems.length ? [`… ${problemCount - problems.length} more not shown`] : [])] : [],
      hint:
        first.code === 'CSV_INVALID_VALUE'
          ? `fix the value, or write a missing value as ${[...options.missing].map((m) => JSON.stringify(m)).join(' or ')}`
          : 'fix the line so that every row has one field per column',
    });
  }
  return { columns: [...names], columnTypes: columns.map((column) => column.type), records, lineOf: raw.lineOf };
}
