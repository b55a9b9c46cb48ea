/**
 * Reads a CSV straight into columnar storage (`data-table.ts`), streaming: the file is read a
 * chunk at a time, each field is read where it lies (`field-bytes.ts`), and only the declared
 * columns are kept. Memory grows with the rows kept (8 bytes per number, 2 per category),
 * never with the file's text.
 *
 * Problems are those of the record reader (`csv-reader.ts`), with the same messages: a value
 * that is not a number, a line with the wrong number of fields (each naming the file and
 * line), listed up to 20 and counted beyond; the whole file is read first, so the count is
 * complete, and nothing is returned.
 */
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { BadLineCounter, type BadLineOptions, type BadLines } from './bad-lines.js';
import { checkHeader, CsvProblems, datasetFileLayout, userFileLayout, type FileLayout } from './csv-layout.js';
import { scanCsv, type CsvRow } from './csv-stream.js';
import { CodeColumnBuilder, createDataTable, LineIndex, NumberColumnBuilder, type DataColumn, type DataTable } from './data-table.js';
import type { ColumnDef, DatasetFile, DatasetSpec } from './dataset-spec.js';
import { ByteDictionary, createByteTextSet, decodeField, parseNumberBytes, type ByteTextSet } from './field-bytes.js';

/** How far a read has come, for a progress line. */
export interface ReadProgress {
  readonly bytes: number;
  readonly totalBytes: number;
  readonly rows: number;
}

export interface ReadTableOptions extends BadLineOptions {
  /** The columns to keep, typed. The file must hold each; its other columns are not read. */
  readonly columns: readonly ColumnDef[];
  /**
   * Number columns whose values that are not numbers are kept as missing and reported back
   * (a regression target: rows without a usable target are the caller's to drop, by line).
   */
  readonly lenient?: readonly string[];
  /** Field values meaning "missing" (replaces the defaults). */
  readonly missing?: readonly string[];
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ReadProgress) => void;
}

/** Values of a lenient column that were not numbers: how many, and the first few with their rows. */
export interface UnparsedValues {
  readonly count: number;
  readonly first: readonly { readonly row: number; readonly text: string }[];
}

export interface ReadTableResult {
  readonly table: DataTable;
  /** Per lenient column, the values that did not parse (absent when all did). */
  readonly unparsed: ReadonlyMap<string, UnparsedValues>;
  /** Lines skipped under `onBadLine: 'skip'` (null when none were). */
  readonly badLines: BadLines | null;
}

/** Values of a lenient column remembered for messages (the rest are counted). */
const UNPARSED_KEPT = 20;

/**
 * A user's CSV (header line required; a dataset `spec` lets it be in the dataset's own
 * headerless format, banner and label suffix included).
 */
export async function readCsvTable(path: string, options: ReadTableOptions & { readonly spec?: DatasetSpec }): Promise<ReadTableResult> {
  const layout = await userFileLayout(path, { ...(options.spec === undefined ? {} : { spec: options.spec }), ...(options.missing === undefined ? {} : { missing: options.missing }) });
  return readWithLayout(path, layout, options);
}

/** A dataset's file, read with the dataset's dialect and the file's overrides. */
export async function readDatasetTable(path: string, spec: DatasetSpec, file: DatasetFile | undefined, options: ReadTableOptions): Promise<ReadTableResult> {
  return readWithLayout(path, datasetFileLayout(path, spec, file, options.missing), options);
}

interface KeptColumn {
  readonly def: ColumnDef;
  /** Position of the column in the file's records. */
  readonly field: number;
  readonly numbers: NumberColumnBuilder | null;
  readonly codes: CodeColumnBuilder | null;
  readonly dictionary: ByteDictionary | null;
  readonly suffixes: readonly Uint8Array[];
  readonly lenient: { count: number; first: { row: number; text: string }[] } | null;
}

async function readWithLayout(path: string, layout: FileLayout, options: ReadTableOptions): Promise<ReadTableResult> {
  const markers: ByteTextSet = createByteTextSet(layout.dialect.missing);
  const problems = new CsvProblems();
  const badLines = new BadLineCounter(options.onBadLine ?? 'error');
  const lines = new LineIndex();
  const lenient = new Set(options.lenient ?? []);
  const encoder = new TextEncoder();
  let kept: KeptColumn[] | undefined;
  let width = 0;
  let rows = 0;

  const keep = (fileColumns: readonly string[]): KeptColumn[] => {
    checkHeader(path, fileColumns, options.columns, true);
    width = fileColumns.length;
    return options.columns.map((def) => ({
      def,
      field: fileColumns.indexOf(def.name),
      numbers: def.type === 'number' ? new NumberColumnBuilder(def.name) : null,
      codes: def.type === 'number' ? null : new CodeColumnBuilder(),
      dictionary: def.type === 'number' ? null : new ByteDictionary(),
      suffixes: (layout.labelSuffixes.get(def.name) ?? []).map((suffix) => encoder.encode(suffix)),
      lenient: def.type === 'number' && lenient.has(def.name) ? { count: 0, first: [] } : null,
    }));
  };
  if (layout.headerless !== null) kept = keep(layout.headerless.map((column) => column.name));

  const onRow = (row: CsvRow): void => {
    if (kept === undefined) {
      const header: string[] = [];
      for (let i = 0; i < row.count; i++) header.push(decodeField(row.bytes, row.starts[i]!, row.ends[i]!));
      kept = keep(header);
      return;
    }
    if (row.count !== width) {
      if (badLines.skip(row.line)) return;
      const line = row.line;
      const found = row.count;
      problems.add('CSV_FIELD_COUNT', () => `${path} line ${line}: expected ${width} fields, found ${found}`);
      return;
    }
    const store = problems.count === 0;
    const { bytes, starts, ends } = row;
    const longestMarker = markers.longest;
    for (let k = 0; k < kept.length; k++) {
      const column = kept[k]!;
      const start = starts[column.field]!;
      let end = ends[column.field]!;
      const missing = end - start <= longestMarker && markers.has(bytes, start, end);
      const numbers = column.numbers;
      if (numbers !== null) {
        const value = missing ? Number.NaN : parseNumberBytes(bytes, start, end);
        if (value !== null) {
          if (store) numbers.push(value);
          continue;
        }
        const text = decodeField(bytes, start, end);
        const unparsed = column.lenient;
        if (unparsed !== null) {
          unparsed.count++;
          if (unparsed.first.length < UNPARSED_KEPT) unparsed.first.push({ row: rows, text });
          if (store) numbers.push(Number.NaN);
          continue;
        }
        const line = row.line;
        problems.add('CSV_INVALID_VALUE', () => `${path} line ${line}, column "${column.def.name}": "${text}" is not a number`);
        continue;
      }
      if (missing) {
        if (store) column.codes!.push(0);
        continue;
      }
      const suffixes = column.suffixes;
      for (let j = 0; j < suffixes.length; j++) {
        const suffix = suffixes[j]!;
        if (endsWith(bytes, start, end, suffix)) {
          end -= suffix.length;
          break;
        }
      }
      if (store) column.codes!.push(column.dictionary!.code(bytes, start, end) + 1);
    }
    if (store) lines.add(rows, row.line);
    rows++;
  };

  await scanCsv(
    path,
    {
      dialect: layout.dialect,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.onProgress === undefined ? {} : { onProgress: (bytes: number, totalBytes: number) => options.onProgress!({ bytes, totalBytes, rows }) }),
    },
    onRow,
  );
  problems.throwIfAny(layout.dialect.missing);
  // An empty file (not even a header) reads as no rows of the declared columns.
  kept ??= options.columns.map((def) => ({ def, field: -1, numbers: def.type === 'number' ? new NumberColumnBuilder(def.name) : null, codes: def.type === 'number' ? null : new CodeColumnBuilder(), dictionary: def.type === 'number' ? null : new ByteDictionary(), suffixes: [], lenient: null }));
  const columns: DataColumn[] = kept.map((column) =>
    column.numbers !== null ? column.numbers.finish() : { kind: 'text', name: column.def.name, codes: column.codes!.finish(), dictionary: uniqueTexts(column.dictionary!) },
  );
  const unparsed = new Map<string, UnparsedValues>();
  for (const column of kept) if (column.lenient !== null && column.lenient.count > 0) unparsed.set(column.def.name, column.lenient);
  return { table: createDataTable(basename(path), rows, columns, lines), unparsed, badLines: badLines.summary() };
}

function endsWith(bytes: Uint8Array, start: number, end: number, suffix: Uint8Array): boolean {
  if (end - start < suffix.length) return false;
  const at = end - suffix.length;
  for (let i = 0; i < suffix.length; i++) if (bytes[at + i] !== suffix[i]) return false;
  return true;
}

/**
 * The dictionary's texts. Two byte strings decode to the same text only when both are invalid
 * UTF-8 (each bad byte reads as U+FFFD); such a file is refused rather than given two codes
 * for one value.
 */
function uniqueTexts(dictionary: ByteDictionary): string[] {
  const texts = dictionary.allTexts();
  if (new Set(texts).size !== texts.length) {
    throw new UsageError('CSV_INVALID_TEXT', 'the file holds bytes that are not UTF-8 text', { hint: 'save the file as UTF-8' });
  }
  return texts;
}
