/**
 * `mlctl monitor drift --data new.csv`: reads a CSV of model inputs, bins it against the
 * bundle's reference profile, scores it through the model for the output distribution, and
 * compares. Everything that can be wrong is found before anything is written or scored: a
 * bundle without a profile, thresholds for inputs the model does not read, a CSV without
 * some of the model's inputs, no rows (exit 3), too few rows, values the model refuses (exit 2).
 *
 * `--since 24h` / `--window <from>..<to>` (driftFromStore): the same comparison over the
 * histograms `serve` stored for the model version, summed over the windows asked for.
 */
import type { LoadedModel } from '../bundle/load-model.js';
import { rowsAsRecords } from '../datasets/data-table.js';
import { readCsvTable } from '../datasets/table-reader.js';
import type { ColumnDef, DataRecord } from '../datasets/dataset-spec.js';
import { getDatasetSpec, isBuiltinDataset } from '../datasets/dataset-registry.js';
import { isMlctlError, NotFoundError, UsageError } from '../errors.js';
import { validateRecords } from '../features/record-validation.js';
import { createRng } from '../random.js';
import { compareWithProfile, type DriftComparison } from './compare-drift.js';
import { checkThresholdNames, DEFAULT_MIN_ROWS, resolveThresholds, type ThresholdFlags } from './drift-thresholds.js';
import { countsFromWindows, type HistogramStore } from './histogram-store.js';
import { createProfileBinner } from './profile-binner.js';

export type DriftPhase = 'read' | 'bin' | 'score' | 'compare';

/**
 * Rows scored for the output distribution unless `outputRows` says otherwise: a seeded
 * random sample of this many estimates ten output bins to a PSI error of about 0.0005 (nine
 * degrees of freedom over 20,000 rows), far below any threshold, while scoring is the
 * costliest step on large files (every input is still counted on every row).
 */
export const DEFAULT_OUTPUT_ROWS = 20_000;
/** The sample is the same for the same file, run after run. */
const OUTPUT_SAMPLE_SEED = 15;
/** Rows validated and binned at a time. */
const CHUNK_ROWS = 4096;

export interface DriftFromCsvOptions {
  /** The loaded bundle (scorer, pipeline, meaning and profile). */
  readonly model: Pick<LoadedModel, 'dir' | 'manifest' | 'pipeline' | 'meaning' | 'referenceProfile' | 'scoreRecords'>;
  readonly dataPath: string;
  /** Fewer rows are refused (default 100). */
  readonly minRows?: number;
  /** Threshold flags; the task's `monitoring` section and the defaults fill the rest. */
  readonly thresholds?: ThresholdFlags;
  /** Rows scored for the output distribution: a seeded sample when there are more (default 20,000; Infinity for all). */
  readonly outputRows?: number;
  readonly clock?: () => number;
  readonly onPhase?: (phase: DriftPhase) => void;
}

export interface DriftResult extends DriftComparison {
  readonly source: string;
  /** The output distribution was measured on a seeded random sample of the rows; null when on all of them. */
  readonly outputSample: { readonly rows: number; readonly seed: number } | null;
  /** Milliseconds per phase. */
  readonly timings: Readonly<Record<DriftPhase, number>>;
}

/** The model's input columns, typed, for reading a CSV of them. */
function inputColumns(model: DriftFromCsvOptions['model']): ColumnDef[] {
  return model.pipeline.columns.map((c) => ({ name: c.column, type: c.type === 'numeric' ? 'number' : 'string' }));
}

export async function driftFromCsv(options: DriftFromCsvOptions): Promise<DriftResult> {
  const { model, dataPath } = options;
  const clock = options.clock ?? (() => performance.now());
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  if (!Number.isInteger(minRows) || minRows < 1) throw new UsageError('DRIFT_MIN_ROWS_INVALID', `--min-rows must be a whole number ≥ 1, got ${minRows}`);
  const outputRows = options.outputRows ?? DEFAULT_OUTPUT_ROWS;
  if (!(outputRows === Number.POSITIVE_INFINITY || (Number.isInteger(outputRows) && outputRows >= 1))) {
    throw new UsageError('DRIFT_OUTPUT_ROWS_INVALID', `--output-rows must be a whole number ≥ 1 or "all", got ${outputRows}`);
  }
  const profile = model.referenceProfile();
  const thresholds = resolveThresholds(model.manifest.task.monitoring, options.thresholds);
  checkThresholdNames(thresholds, profile.features);

  const timings: Record<DriftPhase, number> = { read: 0, bin: 0, score: 0, compare: 0 };
  let started = clock();
  const phase = (name: DriftPhase): void => {
    const now = clock();
    timings[name] = now - started;
    started = now;
  };
  options.onPhase?.('read');
  const task = model.manifest.task;
  const columns = inputColumns(model);
  let table;
  try {
    // Columns, not records: a row becomes a record only in its chunk below, so a large file
    // costs its columns' size, not an object per row.
    ({ table } = await readCsvTable(dataPath, { columns, ...(isBuiltinDataset(task.dataset) ? { spec: getDatasetSpec(task.dataset) } : {}) }));
  } catch (error) {
    if (isMlctlError(error) && error.code === 'CSV_MISSING_COLUMNS') {
      // The reader's message names the absent columns; say what they are to the model.
      throw new UsageError('DRIFT_INPUTS_MISSING', `${error.message}: the model reads ${columns.length} inputs and needs each of them; nothing was compared`, {
        problems: error.problems,
        hint: `the header must name every input: ${columns.map((c) => c.name).join(', ')}`,
      });
    }
    throw error;
  }
  const rows = table.rows;
  if (rows === 0) {
    throw new NotFoundError('DRIFT_NO_DATA', `${dataPath} holds no rows: there is nothing to compare with the reference profile`);
  }
  if (rows < minRows) {
    throw new UsageError('DRIFT_TOO_FEW_ROWS', `${dataPath} holds ${rows} row${rows === 1 ? '' : 's'}; drift is measured on at least ${minRows} (on fewer, PSI is mostly sampling noise)`, {
      hint: `collect more rows, or pass --min-rows ${rows} to accept the noise knowingly`,
    });
  }
  phase('read');

  // Validated and binned a chunk at a time: the coerced copies die young, which keeps the
  // garbage collector's work small on a large file; only the rows to score are kept.
  options.onPhase?.('bin');
  const binner = createProfileBinner(profile, model.meaning);
  const counts = binner.newCounts();
  const sample = rows > outputRows ? sampleIndices(rows, outputRows, OUTPUT_SAMPLE_SEED) : null;
  const scored: DataRecord[] = [];
  const problems: string[] = [];
  let problemCount = 0;
  let nextSampled = 0;
  const names = columns.map((c) => c.name);
  const index = new Uint32Array(Math.min(CHUNK_ROWS, rows));
  for (let start = 0; start < rows; start += CHUNK_ROWS) {
    const end = Math.min(rows, start + CHUNK_ROWS);
    for (let row = start; row < end; row++) index[row - start] = row;
    const chunk = validateRecords(model.pipeline, rowsAsRecords({ table, index: index.subarray(0, end - start) }, names));
    for (const p of chunk.problems) {
      problemCount++;
      if (problems.length < 20) problems.push(`row ${start + p.record + 1}, field "${p.field}": ${p.message}`);
    }
    if (problemCount > 0) continue;
    for (let i = 0; i < chunk.records.length; i++) {
      const record = chunk.records[i]!;
      binner.addRecord(record, counts);
      if (sample === null) scored.push(record);
      else if (sample[nextSampled] === start + i) {
        scored.push(record);
        nextSampled++;
      }
    }
  }
  if (problemCount > 0) {
    throw new UsageError('DRIFT_INPUT_INVALID', `${problemCount} problem${problemCount === 1 ? '' : 's'} in ${dataPath}: the model cannot score these rows; nothing was compared`, {
      problems: problemCount > problems.length ? [...problems, `… and ${problemCount - problems.length} more`] : problems,
    });
  }
  phase('bin');

  options.onPhase?.('score');
  const raw = await model.scoreRecords(scored);
  for (let row = 0; row < scored.length; row++) binner.addOutput(raw, row, counts);
  phase('score');

  options.onPhase?.('compare');
  const comparison = compareWithProfile(binner, counts, rows, thresholds);
  phase('compare');
  return { ...comparison, source: dataPath, outputSample: sample === null ? null : { rows: scored.length, seed: OUTPUT_SAMPLE_SEED }, timings };
}

/** `count` of the indices 0…n−1 drawn uniformly without replacement (a partial Fisher–Yates), ascending. */
function sampleIndices(n: number, count: number, seed: number): Uint32Array {
  const rng = createRng(seed);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng() * (n - i));
    const held = order[i]!;
    order[i] = order[j]!;
    order[j] = held;
  }
  return order.subarray(0, count).sort();
}

export interface DriftFromStoreOptions {
  /** The loaded bundle: its profile, output meaning and task thresholds. */
  readonly model: Pick<LoadedModel, 'manifest' | 'meaning' | 'referenceProfile'>;
  readonly store: HistogramStore;
  /** The name and version `serve` stored the model's histograms under (servedIdentity). */
  readonly name: string;
  readonly version: string;
  /** Windows starting in [from, to). */
  readonly from: Date;
  readonly to: Date;
  /** Fewer records are refused (default 100). */
  readonly minRows?: number;
  readonly thresholds?: ThresholdFlags;
  /** Where the store is, for messages ("the database at …"). */
  readonly storeName?: string;
  readonly clock?: () => number;
}

export interface StoredDriftResult extends DriftResult {
  /** Windows read, and the first start and last end among them. */
  readonly windows: number;
  readonly first: Date;
  readonly last: Date;
}

/**
 * Compares the served records `serve` stored for one model version between `from` and `to`
 * (every record's output was counted as it was answered: no sample) with the profile. Exit
 * codes as for a CSV: 3 when no record was stored in the period, 2 for fewer than `minRows`.
 */
export async function driftFromStore(options: DriftFromStoreOptions): Promise<StoredDriftResult> {
  const { model } = options;
  const clock = options.clock ?? (() => performance.now());
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  if (!Number.isInteger(minRows) || minRows < 1) throw new UsageError('DRIFT_MIN_ROWS_INVALID', `--min-rows must be a whole number ≥ 1, got ${minRows}`);
  if (!(options.from.getTime() < options.to.getTime())) throw new UsageError('DRIFT_WINDOW_INVALID', `the period must end after it starts: ${options.from.toISOString()} .. ${options.to.toISOString()}`);
  const profile = model.referenceProfile();
  const thresholds = resolveThresholds(model.manifest.task.monitoring, options.thresholds);
  checkThresholdNames(thresholds, profile.features);

  let started = clock();
  const windows = await options.store.windows({ model: options.name, version: options.version, from: options.from, to: options.to });
  const read = clock() - started;
  const period = `${options.from.toISOString()} and ${options.to.toISOString()}`;
  const served = `${options.name} version ${options.version}`;
  const rows = windows.reduce((sum, w) => sum + w.rows, 0);
  if (rows === 0) {
    throw new NotFoundError('DRIFT_NO_DATA', `no served records of ${served} were stored between ${period}${options.storeName === undefined ? '' : ` in ${options.storeName}`}: there is nothing to compare with the reference profile`, {
      hint: '`mlctl serve` writes drift histograms when each --monitor-window ends (and when it stops), where DATABASE_URL names a migrated database (`mlctl db migrate`); read the same DATABASE_URL and name the model as serve did',
    });
  }
  if (rows < minRows) {
    throw new UsageError('DRIFT_TOO_FEW_ROWS', `${served} answered ${rows} record${rows === 1 ? '' : 's'} between ${period}; drift is measured on at least ${minRows} (on fewer, PSI is mostly sampling noise)`, {
      hint: `widen the period, or pass --min-rows ${rows} to accept the noise knowingly`,
    });
  }
  started = clock();
  const binner = createProfileBinner(profile, model.meaning);
  const summed = countsFromWindows(binner, windows);
  const comparison = compareWithProfile(binner, summed.counts, summed.rows, thresholds);
  const compare = clock() - started;
  return {
    ...comparison,
    source: `records ${served} answered between ${period}`,
    outputSample: null,
    timings: { read, bin: 0, score: 0, compare },
    windows: windows.length,
    first: windows[0]!.start,
    last: windows.reduce((latest, w) => (w.end > latest ? w.end : latest), windows[0]!.end),
  };
}
