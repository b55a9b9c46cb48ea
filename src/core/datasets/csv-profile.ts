/**
 * Per-column statistics of a CSV in one streaming pass with bounded memory (`data describe`):
 * the file is scanned record by record (`csv-stream.ts`) and nothing grows with its rows.
 *
 * - Exact, always: rows, missing values, count, mean, standard deviation (Welford), min, max,
 *   and whether a column is all numbers, whole numbers, rising, ISO dates.
 * - Distinct values and the most frequent ones: exact while a column has at most
 *   EXACT_DISTINCT distinct values (a byte dictionary with a count per value). Past that the
 *   dictionary stops growing: the distinct count is estimated by a HyperLogLog sketch fed
 *   every value, and the top values are counted among the values the dictionary holds
 *   (values first seen later are not), both marked approximate.
 * - Quartiles: exact (every value kept) up to RESERVOIR_SIZE numbers in a column, else from a
 *   seeded uniform reservoir sample of that many, marked approximate.
 */
import { createRng } from '../random.js';
import { classifyColumn, type ColumnKind, type ColumnProfile } from '../tasks/column-profile.js';
import { parseDate } from '../features/dates.js';
import { checkHeader, CsvProblems, datasetFileLayout, userFileLayout, type FileLayout } from './csv-layout.js';
import { scanCsv, type CsvRow } from './csv-stream.js';
import type { ColumnType, DatasetFile, DatasetSpec } from './dataset-spec.js';
import { ByteDictionary, createByteTextSet, decodeField, parseNumberBytes } from './field-bytes.js';
import type { BadLineOptions, BadLines } from './bad-lines.js';
import { BadLineCounter } from './bad-lines.js';

/** Distinct values counted exactly per column; past this they are estimated. */
export const EXACT_DISTINCT = 100_000;
/** Numbers kept per column for quartiles: all of them up to this many, else a sample of this many. */
export const RESERVOIR_SIZE = 100_000;
/** Distinct values listed (sorted) for the column kind's rules: yes/no, constants. */
const LISTED_VALUES = 200;
/** HyperLogLog registers: 2^14, a standard error of about 0.8 %. */
const HLL_BITS = 14;

/** Which statistics of a column are estimates. */
export type ApproximateStatistic = 'distinct' | 'top' | 'quartiles';

/** Summary statistics of one column, as `mlctl data describe` shows them. */
export interface ColumnDescription {
  readonly name: string;
  readonly type: ColumnType;
  /** What a task inferred from this file would make of the column (task init's rules). */
  readonly kind: ColumnKind;
  readonly missing: number;
  readonly distinct: number;
  /** Number columns only. */
  readonly min?: number;
  readonly mean?: number;
  readonly max?: number;
  readonly std?: number;
  /** Number columns only: 25th, 50th and 75th percentiles (linear interpolation, as pandas). */
  readonly quartiles?: readonly [number, number, number];
  /** Text columns only: the most frequent values, most frequent first (ties by value). */
  readonly top?: readonly { readonly value: string; readonly count: number }[];
  /** The statistics that are estimates (absent when all are exact). */
  readonly approximate?: readonly ApproximateStatistic[];
}

export interface FileDescription {
  readonly rows: number;
  readonly bytes: number;
  readonly columns: readonly ColumnDescription[];
  /** Per column, what task inference reads (`profileColumn`'s answer, from the stream). */
  readonly profiles: readonly ColumnProfile[];
  /** Lines skipped under `onBadLine: 'skip'` (absent otherwise, or when none were). */
  readonly badLines?: BadLines;
}

export interface ProfileOptions extends BadLineOptions {
  /** Top values listed per text column (default 5). */
  readonly top?: number;
  /** Field values meaning missing (replaces the defaults). */
  readonly missing?: readonly string[];
  readonly signal?: AbortSignal;
  /** Told after each chunk read. */
  readonly onProgress?: (bytesRead: number, totalBytes: number, rows: number) => void;
  /** Reservoir seed (quartiles past RESERVOIR_SIZE values). */
  readonly seed?: number;
}

/** Profiles a user's CSV (header line required): column types are inferred (number when every present value is one). */
export async function profileCsvFile(path: string, options: ProfileOptions = {}): Promise<FileDescription> {
  const layout = await userFileLayout(path, options.missing === undefined ? {} : { missing: options.missing });
  return profileWithLayout(path, layout, undefined, options);
}

/** Profiles a dataset's file with its dialect and declared column types (a number column holding text is an error, by line). */
export async function profileDatasetFile(path: string, spec: DatasetSpec, file: DatasetFile | undefined, options: ProfileOptions = {}): Promise<FileDescription> {
  const layout = datasetFileLayout(path, spec, file, options.missing);
  return profileWithLayout(path, layout, new Map(spec.columns.map((column) => [column.name, column.type])), options);
}

async function profileWithLayout(path: string, layout: FileLayout, declared: ReadonlyMap<string, ColumnType> | undefined, options: ProfileOptions): Promise<FileDescription> {
  const markers = createByteTextSet(layout.dialect.missing);
  const problems = new CsvProblems();
  const badLines = new BadLineCounter(options.onBadLine ?? 'error');
  const encoder = new TextEncoder();
  const rng = createRng(options.seed ?? 42);
  let columns: ColumnAccumulator[] | undefined;
  let rows = 0;
  let bytes = 0;

  const start = (names: readonly string[]): ColumnAccumulator[] => {
    if (declared !== undefined && layout.headerless === null) checkHeader(path, names, [...declared].map(([name, type]) => ({ name, type })), true);
    return names.map((name) => new ColumnAccumulator(name, declared?.get(name), (layout.labelSuffixes.get(name) ?? []).map((suffix) => encoder.encode(suffix)), rng));
  };
  if (layout.headerless !== null) columns = start(layout.headerless.map((column) => column.name));

  const onRow = (row: CsvRow): void => {
    if (columns === undefined) {
      const header: string[] = [];
      for (let i = 0; i < row.count; i++) header.push(decodeField(row.bytes, row.starts[i]!, row.ends[i]!));
      columns = start(header);
      return;
    }
    if (row.count !== columns.length) {
      const line = row.line;
      const found = row.count;
      const expected = columns.length;
      if (!badLines.skip(line)) problems.add('CSV_FIELD_COUNT', () => `${path} line ${line}: expected ${expected} fields, found ${found}`);
      return;
    }
    const { bytes: data, starts, ends } = row;
    const longest = markers.longest;
    for (let k = 0; k < columns.length; k++) {
      const start = starts[k]!;
      const end = ends[k]!;
      const column = columns[k]!;
      if (end - start <= longest && markers.has(data, start, end)) column.missing++;
      else if (!column.add(data, start, end)) {
        const line = row.line;
        problems.add('CSV_INVALID_VALUE', () => `${path} line ${line}, column "${column.name}": "${decodeField(data, start, end)}" is not a number`);
      }
    }
    rows++;
  };

  await scanCsv(
    path,
    {
      dialect: layout.dialect,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onProgress: (read, total) => {
        bytes = total;
        options.onProgress?.(read, total, rows);
      },
    },
    onRow,
  );
  problems.throwIfAny(layout.dialect.missing);
  const top = options.top ?? 5;
  const profiles = (columns ?? []).map((column) => column.profile(rows));
  const described = (columns ?? []).map((column, k) => column.describe(profiles[k]!, top));
  const skipped = badLines.summary();
  return { rows, bytes, columns: described, profiles, ...(skipped === null ? {} : { badLines: skipped }) };
}

/** One column's running statistics. */
class ColumnAccumulator {
  missing = 0;
  private present = 0;
  /** Still possibly a number column (always, for a declared one: a non-number is then an error). */
  private numeric = true;
  private integer = true;
  private rising = true;
  private previous = Number.NEGATIVE_INFINITY;
  private count = 0;
  private mean = 0;
  private m2 = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  /** Grows to RESERVOIR_SIZE as numbers come (a text column keeps next to nothing). */
  private reservoir: Float64Array = new Float64Array(64);
  private dates = true;
  private withTime = false;
  private readonly dictionary = new ByteDictionary(256);
  private counts: Float64Array = new Float64Array(256);
  /** Every distinct value's hash, once the dictionary is full; null while counts are exact. */
  private sketch: Uint8Array | null = null;

  constructor(
    readonly name: string,
    private readonly declared: ColumnType | undefined,
    private readonly suffixes: readonly Uint8Array[],
    private readonly rng: () => number,
  ) {}

  /** Adds a present value; false when a declared number column gets text. */
  add(bytes: Uint8Array, start: number, end: number): boolean {
    for (const suffix of this.suffixes) {
      if (endsWith(bytes, start, end, suffix)) {
        end -= suffix.length;
        break;
      }
    }
    this.present++;
    let isNumber = false;
    if (this.numeric || this.declared === 'number') {
      const value = parseNumberBytes(bytes, start, end);
      if (value === null) {
        if (this.declared === 'number') return false;
        this.numeric = false;
      } else {
        this.addNumber(value);
        isNumber = true;
      }
    }
    this.addText(bytes, start, end, isNumber);
    return true;
  }

  private addNumber(value: number): void {
    if (!Number.isInteger(value)) this.integer = false;
    if (value <= this.previous) this.rising = false;
    this.previous = value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    const n = ++this.count;
    const delta = value - this.mean;
    this.mean += delta / n;
    this.m2 += delta * (value - this.mean);
    if (n <= RESERVOIR_SIZE) {
      if (n > this.reservoir.length) {
        const grown = new Float64Array(Math.min(RESERVOIR_SIZE, this.reservoir.length * 2));
        grown.set(this.reservoir);
        this.reservoir = grown;
      }
      this.reservoir[n - 1] = value;
    } else {
      const j = Math.floor(this.rng() * n);
      if (j < RESERVOIR_SIZE) this.reservoir[j] = value;
    }
  }

  private addText(bytes: Uint8Array, start: number, end: number, isNumber: boolean): void {
    const dictionary = this.dictionary;
    if (this.sketch === null) {
      const before = dictionary.size;
      const code = dictionary.code(bytes, start, end);
      if (code === before) {
        if (code === this.counts.length) this.counts = growCounts(this.counts);
        this.checkDate(bytes, start, end, isNumber);
        if (dictionary.size > EXACT_DISTINCT) this.startSketch();
      }
      this.counts[code]! += 1;
      return;
    }
    const code = dictionary.find(bytes, start, end);
    if (code >= 0) this.counts[code]! += 1;
    else if (this.dates) this.checkDate(bytes, start, end, isNumber);
    addToSketch(this.sketch, dictionary.lastHash);
  }

  /** A new distinct value: is it an ISO date? (A number is not.) */
  private checkDate(bytes: Uint8Array, start: number, end: number, isNumber: boolean): void {
    if (!this.dates) return;
    if (isNumber) {
      this.dates = false;
      return;
    }
    const parsed = parseDate(decodeField(bytes, start, end));
    if (parsed === undefined) this.dates = false;
    else if (parsed.hasTime) this.withTime = true;
  }

  /** The dictionary is full: every value it holds goes into the sketch, and so does every value from now on. */
  private startSketch(): void {
    const sketch = new Uint8Array(1 << HLL_BITS);
    for (let code = 0; code < this.dictionary.size; code++) addToSketch(sketch, this.dictionary.hashOf(code));
    this.sketch = sketch;
  }

  /** The column as task inference profiles it (profileColumn's fields, from the stream). */
  profile(rows: number): ColumnProfile {
    const present = this.present;
    const numeric = present > 0 && this.numeric;
    const exact = this.sketch === null;
    // Rising numbers all differ: their count is exact whatever the sketch says.
    const distinct = numeric && this.rising ? this.count : exact ? this.dictionary.size : Math.max(this.dictionary.size, Math.round(estimateSketch(this.sketch!)));
    const values = exact && this.dictionary.size <= LISTED_VALUES ? sortedValues(this.dictionary.allTexts(), numeric) : undefined;
    const classified = classifyColumn({
      name: this.name,
      present,
      distinct,
      distinctExact: exact || (numeric && this.rising),
      numeric,
      integer: numeric && this.integer,
      rising: this.rising,
      min: this.min,
      max: this.max,
      dates: this.dates && !numeric,
      withTime: this.withTime,
      ...(values === undefined ? {} : { values }),
    });
    return {
      name: this.name,
      rows,
      missing: this.missing,
      distinct,
      numeric,
      integer: numeric && this.integer,
      ...(values === undefined ? {} : { values }),
      ...classified,
    };
  }

  describe(profile: ColumnProfile, topCount: number): ColumnDescription {
    const exact = this.sketch === null;
    const type: ColumnType = this.declared ?? (profile.numeric ? 'number' : 'string');
    const approximate: ApproximateStatistic[] = [];
    if (!exact && !(profile.numeric && this.rising)) approximate.push('distinct');
    const kind = profile.kind;
    const distinct = profile.distinct;
    const base = { name: this.name, type, kind, missing: this.missing, distinct };
    if (type === 'number') {
      if (this.count === 0) return withApproximate(base, approximate);
      const kept = this.reservoir.slice(0, Math.min(this.count, RESERVOIR_SIZE)).sort();
      if (this.count > RESERVOIR_SIZE) approximate.push('quartiles');
      return withApproximate(
        {
          ...base,
          min: this.min,
          mean: this.mean,
          max: this.max,
          std: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : 0,
          quartiles: [quantile(kept, 0.25), quantile(kept, 0.5), quantile(kept, 0.75)],
        },
        approximate,
      );
    }
    if (!exact) approximate.push('top');
    return withApproximate({ ...base, top: this.topValues(topCount) }, approximate);
  }

  private topValues(count: number): { value: string; count: number }[] {
    const codes = Array.from({ length: this.dictionary.size }, (_, code) => code);
    const texts = (code: number) => this.dictionary.text(code);
    // Most frequent first; ties by value (code-unit order).
    codes.sort((a, b) => this.counts[b]! - this.counts[a]! || (texts(a) < texts(b) ? -1 : texts(a) > texts(b) ? 1 : 0));
    return codes.slice(0, count).map((code) => ({ value: texts(code), count: this.counts[code]! }));
  }
}

function withApproximate<T extends object>(description: T, approximate: readonly ApproximateStatistic[]): T & { approximate?: readonly ApproximateStatistic[] } {
  return approximate.length === 0 ? description : { ...description, approximate };
}

function sortedValues(values: string[], numeric: boolean): string[] {
  return numeric ? values.sort((a, b) => Number(a) - Number(b)) : values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The q-quantile of ascending values, interpolated linearly between neighbours (numpy's and pandas' default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = (n - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(n - 1, below + 1);
  const fraction = position - below;
  return sorted[below]! + (sorted[above]! - sorted[below]!) * fraction;
}

function growCounts(counts: Float64Array): Float64Array {
  const grown = new Float64Array(counts.length * 2);
  grown.set(counts);
  return grown;
}

function endsWith(bytes: Uint8Array, start: number, end: number, suffix: Uint8Array): boolean {
  if (end - start < suffix.length) return false;
  const at = end - suffix.length;
  for (let i = 0; i < suffix.length; i++) if (bytes[at + i] !== suffix[i]) return false;
  return true;
}

/** Spreads a 32-bit FNV hash's bits (murmur3's finaliser) so that its top bits pick registers evenly. */
function mix(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function addToSketch(sketch: Uint8Array, hash: number): void {
  const h = mix(hash);
  const register = h >>> (32 - HLL_BITS);
  const rest = (h << HLL_BITS) >>> 0;
  const rank = rest === 0 ? 32 - HLL_BITS + 1 : Math.clz32(rest) + 1;
  if (rank > sketch[register]!) sketch[register] = rank;
}

/** HyperLogLog's estimate, with the small-range (linear counting) correction. */
function estimateSketch(sketch: Uint8Array): number {
  const m = sketch.length;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    sum += 2 ** -sketch[i]!;
    if (sketch[i] === 0) zeros++;
  }
  const estimate = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
  return estimate <= 2.5 * m && zeros > 0 ? m * Math.log(m / zeros) : estimate;
}
