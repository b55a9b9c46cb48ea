/**
 * Streaming CSV: a file is read in chunks of bytes and handed to the caller one record at a
 * time, as byte ranges into the chunk (`CsvRow`), so nothing holds the whole file and no field
 * becomes a string unless its reader wants one.
 *
 * Most files need no quoting: their records are split here, byte by byte, on the delimiter and
 * "\n" (the fast path: fields trimmed of spaces and tabs, empty lines skipped, as csv-parse does
 * with the reader's options). From the first line holding a quote, a
 * "\r" or whitespace only csv-parse knows how to trim, the rest of the file goes through
 * csv-parse's streaming API instead, with the options the reader always gave it; both give the
 * same records (test/unit/datasets/csv-stream.test.ts compares them on random texts, cut into
 * chunks anywhere).
 */
import { open } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import type { CsvDialect } from './dataset-spec.js';

/**
 * One record. Field `i` is `bytes[starts[i], ends[i])`, UTF-8, trimmed as the dialect says.
 * The object and its arrays are reused for the next record: read what you need before
 * returning.
 */
export interface CsvRow {
  bytes: Uint8Array;
  starts: Int32Array;
  ends: Int32Array;
  /** Fields in this record. */
  count: number;
  /** The 1-based line of the file the record ends on. */
  line: number;
}

export interface CsvScanOptions {
  readonly dialect: Pick<CsvDialect, 'delimiter' | 'trim' | 'skipLines'>;
  /** Checked between chunks: the scan then throws an Error named AbortError. */
  readonly signal?: AbortSignal;
  /** Told after each chunk: bytes read so far and the file's size. */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
  /**
   * Awaited after each chunk's records were handed over, before the next chunk is read: a
   * caller that acts on records asynchronously (scores and writes them) keeps the scan at its pace.
   */
  readonly afterChunk?: () => Promise<void>;
  /** Bytes read at a time (tests make it small to cut records anywhere). Default 4 MiB. */
  readonly chunkBytes?: number;
}

export interface CsvScanSummary {
  /** Records handed over. */
  readonly rows: number;
  readonly bytes: number;
  /** Whether some of the file went through csv-parse (quotes, "\r", unusual whitespace). */
  readonly fullParser: boolean;
}

/** Return false from `onRow` to stop reading (the rest of the file is not read). */
export type CsvRowHandler = (row: CsvRow) => void | boolean;

const DEFAULT_CHUNK = 4 << 20;
const NEWLINE = 10;
const QUOTE = 34;
const CR = 13;
const SPACE = 32;
const TAB = 9;

/**
 * What sends the rest of a file to csv-parse: a quote, "\r", and the whitespace csv-parse's
 * `trim` removes but a split on spaces and tabs would keep. Single bytes are
 * searched directly; the multi-byte characters by their lead byte, then checked whole.
 */
const SINGLE_BYTE_NEEDLES = [QUOTE, CR, 0x0b, 0x0c];
const MULTI_BYTE_NEEDLES: readonly Uint8Array[] = ['\u0085', '\u00a0', '\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', ...Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i))].map((text) =>
  new TextEncoder().encode(text),
);
const LEAD_BYTES = [...new Set(MULTI_BYTE_NEEDLES.map((needle) => needle[0]!))];

/** Whether the delimiter can be split on bytewise (one ASCII character that is not whitespace or a quote). */
function fastDelimiter(delimiter: string): number | undefined {
  if (delimiter.length !== 1) return undefined;
  const code = delimiter.charCodeAt(0);
  if (code >= 0x80 || code === SPACE || code === TAB || code === NEWLINE || code === QUOTE || code === CR) return undefined;
  return code;
}

/** The first position in `bytes[from, to)` where csv-parse is needed, or -1. */
function firstNeedle(bytes: Uint8Array, from: number, to: number): number {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, to);
  let first = -1;
  for (const byte of SINGLE_BYTE_NEEDLES) {
    const at = view.indexOf(byte, from);
    if (at !== -1 && (first === -1 || at < first)) first = at;
  }
  for (const lead of LEAD_BYTES) {
    let at = view.indexOf(lead, from);
    while (at !== -1 && (first === -1 || at < first)) {
      if (MULTI_BYTE_NEEDLES.some((needle) => needle[0] === lead && startsWith(bytes, at, to, needle))) {
        first = at;
        break;
      }
      at = view.indexOf(lead, at + 1);
    }
  }
  return first;
}

function startsWith(bytes: Uint8Array, at: number, to: number, needle: Uint8Array): boolean {
  if (at + needle.length > to) return false;
  for (let i = 0; i < needle.length; i++) if (bytes[at + i] !== needle[i]) return false;
  return true;
}

export function abortError(signal: AbortSignal): Error {
  const error = new Error('reading was interrupted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}

/**
 * Reads `path` record by record. Skips a UTF-8 BOM, the dialect's first `skipLines` lines and
 * empty lines (blank ones too when trimming). A malformed quote throws UsageError
 * 'CSV_MALFORMED' naming the line. A missing file throws UsageError 'CSV_NOT_FOUND'.
 */
export async function scanCsv(path: string, options: CsvScanOptions, onRow: CsvRowHandler): Promise<CsvScanSummary> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw notFound(path, error);
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new UsageError('CSV_NOT_FOUND', `${path} is a directory, not a CSV file`);
    const size = stat.size;
    const scanner = new FastScanner(options, onRow, path);
    const chunkBytes = Math.max(16, options.chunkBytes ?? DEFAULT_CHUNK);
    let buffer = new Uint8Array(chunkBytes * 2);
    let held = 0;
    let read = 0;
    for (;;) {
      if (options.signal?.aborted === true) throw abortError(options.signal);
      if (buffer.length - held < chunkBytes) {
        const grown = new Uint8Array(held + chunkBytes * 2);
        grown.set(buffer.subarray(0, held));
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, held, chunkBytes, null);
      read += bytesRead;
      const end = held + bytesRead;
      const last = bytesRead === 0;
      const used = await scanner.take(buffer, end, last);
      options.onProgress?.(read, size);
      if (options.afterChunk !== undefined) await options.afterChunk();
      if (scanner.stopped) break;
      if (last) break;
      buffer.copyWithin(0, used, end);
      held = end - used;
    }
    await scanner.finish();
    if (options.afterChunk !== undefined) await options.afterChunk();
    return { rows: scanner.rows, bytes: read, fullParser: scanner.fullParser };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new UsageError('CSV_NOT_FOUND', `${path} is a directory, not a CSV file`, { cause: error });
    throw error;
  } finally {
    await handle.close();
  }
}

function notFound(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new UsageError('CSV_NOT_FOUND', `${path}: no such file`, { cause: error });
  if (code === 'EISDIR') return new UsageError('CSV_NOT_FOUND', `${path} is a directory, not a CSV file`, { cause: error });
  return error as Error;
}

/** The fast path, and the hand-over to csv-parse when a chunk needs it. */
class FastScanner {
  rows = 0;
  stopped = false;
  fullParser = false;
  private readonly delimiter: number | undefined;
  private readonly trim: boolean;
  private readonly skipLines: number;
  private readonly row: CsvRow = { bytes: new Uint8Array(0), starts: new Int32Array(64), ends: new Int32Array(64), count: 0, line: 0 };
  /** Physical lines consumed so far. */
  private line = 0;
  private atStart = true;
  private full: FullParser | undefined;

  constructor(
    private readonly options: CsvScanOptions,
    private readonly onRow: CsvRowHandler,
    private readonly path: string,
  ) {
    this.delimiter = fastDelimiter(options.dialect.delimiter);
    this.trim = options.dialect.trim;
    this.skipLines = options.dialect.skipLines;
  }

  /**
   * Consumes the complete lines of `bytes[0, end)` (all of it when `last`); returns where the
   * unconsumed rest begins.
   */
  async take(bytes: Uint8Array, end: number, last: boolean): Promise<number> {
    if (this.full !== undefined) {
      await this.full.write(bytes.subarray(0, end));
      return end;
    }
    let start = 0;
    if (this.atStart) {
      // Wait for three bytes, or the end, to know whether there is a BOM.
      if (end < 3 && !last) return 0;
      this.atStart = false;
      if (end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
      if (this.delimiter === undefined) {
        this.full = await this.startFull();
        await this.full.write(bytes.subarray(0, end));
        return end;
      }
    }
    const complete = last ? end : lastIndexOf(bytes, NEWLINE, start, end) + 1;
    if (complete <= start) return start;
    const needle = firstNeedle(bytes, start, complete);
    const stop = needle === -1 ? complete : Math.max(start, lastIndexOf(bytes, NEWLINE, start, needle) + 1);
    this.splitLines(bytes, start, stop, last && needle === -1);
    if (this.stopped || needle === -1) return complete;
    // From the line holding the needle on, csv-parse reads the rest of the file.
    this.full = await this.startFull();
    await this.full.write(bytes.subarray(stop, end));
    return end;
  }

  async finish(): Promise<void> {
    // Stopped early, the rest of the file is of no interest, nor csv-parse's opinion of it.
    if (this.full !== undefined && !this.stopped) await this.full.end();
  }

  /** Splits the lines of `bytes[start, stop)`; `final` when the last line may lack its "\n". */
  private splitLines(bytes: Uint8Array, start: number, stop: number, final: boolean): void {
    this.row.bytes = bytes;
    const delimiter = this.delimiter!;
    let fieldStart = start;
    let lineStart = start;
    let count = 0;
    for (let i = start; i < stop; i++) {
      const b = bytes[i];
      if (b === delimiter) {
        count = this.addField(fieldStart, i, count);
        fieldStart = i + 1;
      } else if (b === NEWLINE) {
        this.endLine(lineStart, i, fieldStart, count);
        if (this.stopped) return;
        count = 0;
        fieldStart = i + 1;
        lineStart = i + 1;
      }
    }
    if (final && lineStart < stop) this.endLine(lineStart, stop, fieldStart, count);
  }

  /** A line ends at `end`: hand its record over unless the line is skipped or empty. */
  private endLine(lineStart: number, end: number, fieldStart: number, count: number): void {
    this.line++;
    if (this.line <= this.skipLines || end === lineStart) return;
    const row = this.row;
    row.count = this.addField(fieldStart, end, count);
    // csv-parse skips an empty line, and with `trim` a line of blanks too.
    if (this.trim && row.count === 1 && row.starts[0] === row.ends[0]) return;
    row.line = this.line;
    this.rows++;
    if (this.onRow(row) === false) this.stopped = true;
  }

  private addField(from: number, to: number, count: number): number {
    const row = this.row;
    if (count === row.starts.length) {
      const starts = new Int32Array(count * 2);
      starts.set(row.starts);
      row.starts = starts;
      const ends = new Int32Array(count * 2);
      ends.set(row.ends);
      row.ends = ends;
    }
    let s = from;
    let e = to;
    if (this.trim) {
      const bytes = row.bytes;
      while (s < e && (bytes[s] === SPACE || bytes[s] === TAB)) s++;
      while (e > s && (bytes[e - 1] === SPACE || bytes[e - 1] === TAB)) e--;
    }
    row.starts[count] = s;
    row.ends[count] = e;
    return count + 1;
  }

  /** Hands the rest of the file to csv-parse, in the state the whole-file parse would be in here. */
  private async startFull(): Promise<FullParser> {
    this.fullParser = true;
    return createFullParser({
      path: this.path,
      dialect: this.options.dialect,
      linesBefore: this.line,
      onRow: (row) => {
        this.rows++;
        if (this.onRow(row) === false) this.stopped = true;
      },
      isStopped: () => this.stopped,
    });
  }
}

function lastIndexOf(bytes: Uint8Array, byte: number, from: number, end: number): number {
  for (let i = end - 1; i >= from; i--) if (bytes[i] === byte) return i;
  return -1;
}

interface FullParser {
  write(bytes: Uint8Array): Promise<void>;
  end(): Promise<void>;
}

interface FullParserOptions {
  readonly path: string;
  readonly dialect: CsvScanOptions['dialect'];
  /** Lines of the file read before the first byte csv-parse sees (none: it reads the whole file). */
  readonly linesBefore: number;
  readonly onRow: (row: CsvRow) => void;
  readonly isStopped: () => boolean;
}

/** csv-parse's streaming parser, its records re-encoded as CsvRows. */
async function createFullParser(options: FullParserOptions): Promise<FullParser> {
  const { parse } = await import('csv-parse');
  const { dialect } = options;
  const lineOffset = options.linesBefore;
  // From the start, csv-parse finds the line end itself, as it always did; past a line the fast
  // path read, the file's line end is "\n" (lines holding "\r" never take the fast path).
  const parser = parse({
    delimiter: dialect.delimiter,
    trim: dialect.trim,
    bom: lineOffset === 0,
    from_line: Math.max(0, dialect.skipLines - lineOffset) + 1,
    ...(lineOffset === 0 ? {} : { record_delimiter: '\n' }),
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
  });
  const encoder = new TextEncoder();
  const row: CsvRow = { bytes: new Uint8Array(1024), starts: new Int32Array(64), ends: new Int32Array(64), count: 0, line: 0 };
  let failure: Error | undefined;
  parser.on('data', (item: { record: string[]; info: { lines: number } }) => {
    if (options.isStopped()) return;
    const fields = item.record;
    if (fields.length > row.starts.length) {
      row.starts = new Int32Array(fields.length * 2);
      row.ends = new Int32Array(fields.length * 2);
    }
    let at = 0;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      if (row.bytes.length - at < field.length * 3) {
        const grown = new Uint8Array((row.bytes.length + field.length * 3) * 2);
        grown.set(row.bytes.subarray(0, at));
        row.bytes = grown;
      }
      const written = encoder.encodeInto(field, row.bytes.subarray(at)).written;
      row.starts[i] = at;
      row.ends[i] = at + written;
      at += written;
    }
    row.count = fields.length;
    row.line = lineOffset + item.info.lines;
    options.onRow(row);
  });
  const ended = new Promise<void>((resolve) => parser.on('end', resolve));
  const failed = new Promise<never>((_, reject) =>
    parser.on('error', (error: Error & { lines?: number }) => {
      const line = error.lines === undefined ? undefined : lineOffset + error.lines;
      failure = new UsageError('CSV_MALFORMED', `${options.path}${line === undefined ? '' : ` line ${line}`}: ${error.message}`, {
        hint: 'fix the file: check its quotes and separators',
        cause: error,
      });
      reject(failure);
    }),
  );
  failed.catch(() => {});
  return {
    async write(bytes) {
      if (failure !== undefined) throw failure;
      // csv-parse takes text; a chunk may end inside a UTF-8 sequence, which Buffer input handles.
      const copy = Buffer.from(bytes);
      if (!parser.write(copy)) await Promise.race([new Promise<void>((resolve) => parser.once('drain', resolve)), failed]);
      if (failure !== undefined) throw failure;
    },
    async end() {
      if (failure !== undefined) throw failure;
      parser.end();
      await Promise.race([ended, failed]);
    },
  };
}
