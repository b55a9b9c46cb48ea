/**
 * CSV into one record object per row: for inputs that arrive as records anyway (a file of
 * prediction input, tests, the database's population) and for small files. Training,
 * evaluation and profiling read columns instead (`table-reader.ts`, `csv-profile.ts`). The file
 * is streamed (`csv-stream.ts`); only its records are held.
 */
import { checkHeader, CsvProblems, datasetFileLayout, userFileLayout, type FileLayout } from './csv-layout.js';
import { scanCsv } from './csv-stream.js';
import type { ColumnDef, ColumnType, DataRecord, DatasetFile, DatasetSpec } from './dataset-spec.js';
import { createByteTextSet, decodeField } from './field-bytes.js';
import { UsageError } from '../errors.js';
import { BadLineCounter, type BadLineOptions, type BadLines } from './bad-lines.js';

export { DEFAULT_MISSING_MARKERS } from './csv-layout.js';

/** A parsed CSV: column names in file order and one record per data row. */
export interface CsvTable {
  columns: string[];
  /** The type of each column, parallel to `columns`. */
  columnTypes: ColumnType[];
  records: DataRecord[];
  /** The 1-based line of the file that record `row` ends on (absent on tables not read from a file). */
  lineOf?: (row: number) => number;
}

/**
 * Reads a dataset file with the dataset's dialect merged with the file's overrides. Numbers
 * are parsed for 'number' columns; missing markers become null; `labelSuffix` is stripped from
 * the last column (the target); blank lines are skipped. A bad value throws UsageError
 * 'CSV_INVALID_VALUE' naming the file, line and column; a wrong field count
 * ('CSV_FIELD_COUNT') names the file and line. Every problem found is listed.
 */
export async function readDatasetFile(path: string, spec: DatasetSpec, file?: DatasetFile, options: { readonly missing?: readonly string[] } = {}): Promise<CsvTable> {
  const layout = datasetFileLayout(path, spec, file, options.missing);
  const raw = await readRaw(path, layout);
  const columns = layout.headerless ?? typedHeader(path, raw.header ?? [], spec.columns, true);
  return convert(raw, path, columns, { missing: new Set(layout.dialect.missing), labelSuffixes: layout.labelSuffixes });
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
  const layout = await userFileLayout(path, { ...(options.spec === undefined ? {} : { spec: options.spec }), ...(options.missing === undefined ? {} : { missing: options.missing }) });
  if (layout.empty) return { columns: [], columnTypes: [], records: [] };
  const missing = new Set(layout.dialect.missing);
  const raw = await readRaw(path, layout);
  let columns: ColumnDef[];
  if (layout.headerless !== null) {
    columns = [...layout.headerless];
  } else {
    const declared = options.columns ?? options.spec?.columns ?? [];
    columns = typedHeader(path, raw.header ?? [], declared, options.columns !== undefined, options.inferTypes === false ? undefined : raw, missing);
  }
  return convert(raw, path, columns, { missing, labelSuffixes: layout.labelSuffixes });
}

export interface RecordStreamOptions extends BadLineOptions {
  /** Field values meaning "missing" (replaces DEFAULT_MISSING_MARKERS). */
  readonly missing?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Bytes per batch, about (default 1 MiB: some 10,000 records of a dozen fields). */
  readonly batchBytes?: number;
}

/** What a record stream read: its rows, and the lines skipped under `onBadLine: 'skip'`. */
export interface RecordStreamSummary {
  readonly rows: number;
  readonly badLines: BadLines | null;
}

/**
 * Streams a user's CSV (header line required) as batches of records, every value as text
 * (null for a missing marker), each batch with the file line of each record: a chunk of the
 * file at a time, the next read only once `onBatch` is done with the last. A line with the
 * wrong number of fields throws UsageError 'CSV_FIELD_COUNT' naming it, before its batch is
 * handed over, or is skipped and counted under `onBadLine: 'skip'`.
 */
export async function streamCsvRecords(
  path: string,
  options: RecordStreamOptions,
  onBatch: (records: DataRecord[], lines: readonly number[]) => Promise<void>,
): Promise<RecordStreamSummary> {
  const layout = await userFileLayout(path, options.missing === undefined ? {} : { missing: options.missing });
  const markers = createByteTextSet(layout.dialect.missing);
  const badLines = new BadLineCounter(options.onBadLine ?? 'error');
  let header: string[] | null = null;
  let records: DataRecord[] = [];
  let lines: number[] = [];
  let rows = 0;
  await scanCsv(
    path,
    {
      dialect: layout.dialect,
      chunkBytes: options.batchBytes ?? 1 << 20,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
      afterChunk: async () => {
        if (records.length === 0) return;
        const batch = records;
        const batchLines = lines;
        records = [];
        lines = [];
        await onBatch(batch, batchLines);
      },
    },
    (row) => {
      if (header === null) {
        header = [];
        for (let i = 0; i < row.count; i++) header.push(decodeField(row.bytes, row.starts[i]!, row.ends[i]!));
        return;
      }
      if (row.count !== header.length) {
        if (badLines.skip(row.line)) return;
        throw new UsageError('CSV_FIELD_COUNT', `${path} line ${row.line}: expected ${header.length} fields, found ${row.count}`, {
          hint: 'fix the line so that it has one field per column, or pass --on-bad-line skip to leave such lines out',
        });
      }
      const record: DataRecord = {};
      for (let i = 0; i < row.count; i++) {
        const start = row.starts[i]!;
        const end = row.ends[i]!;
        record[header[i]!] = end - start <= markers.longest && markers.has(row.bytes, start, end) ? null : decodeField(row.bytes, start, end);
      }
      records.push(record);
      lines.push(row.line);
      rows++;
    },
  );
  return { rows, badLines: badLines.summary() };
}

interface RawTable {
  header: string[] | null;
  rows: string[][];
  lines: number[];
}

async function readRaw(path: string, layout: FileLayout): Promise<RawTable> {
  const rows: string[][] = [];
  const lines: number[] = [];
  let header: string[] | null = null;
  let wantHeader = layout.dialect.header;
  await scanCsv(path, { dialect: layout.dialect }, (row) => {
    const fields = new Array<string>(row.count);
    for (let i = 0; i < row.count; i++) fields[i] = decodeField(row.bytes, row.starts[i]!, row.ends[i]!);
    if (wantHeader) {
      header = fields;
      wantHeader = false;
      return;
    }
    rows.push(fields);
    lines.push(row.line);
  });
  return { header, rows, lines };
}

/** The header's columns, typed from the declared ones (when `required`, each must appear), else inferred. */
function typedHeader(path: string, header: readonly string[], declared: readonly ColumnDef[], required: boolean, raw?: RawTable, missing?: ReadonlySet<string>): ColumnDef[] {
  checkHeader(path, header, declared, required);
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
  const problems = new CsvProblems();
  const names = columns.map((column) => column.name);
  const numeric = columns.map((column) => column.type === 'number');
  const suffixes = names.map((name) => options.labelSuffixes.get(name) ?? []);
  const records: DataRecord[] = new Array(raw.rows.length);
  for (let r = 0; r < raw.rows.length; r++) {
    const row = raw.rows[r] as string[];
    const line = raw.lines[r]!;
    if (row.length !== names.length) {
      problems.add('CSV_FIELD_COUNT', () => `${path} line ${line}: expected ${names.length} fields, found ${row.length}`);
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
        if (n === null) problems.add('CSV_INVALID_VALUE', () => `${path} line ${line}, column "${name}": "${value}" is not a number`);
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
  problems.throwIfAny(options.missing);
  const lines = raw.lines;
  return { columns: [...names], columnTypes: columns.map((column) => column.type), records, lineOf: (row) => lines[row] ?? 0 };
}
