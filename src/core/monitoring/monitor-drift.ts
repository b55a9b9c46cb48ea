/**
 * `mlctl monitor drift --data new.csv`: reads a CSV of model inputs, bins it against the
 * bundle's reference profile, scores it through the model for the output distribution, and
 * compares. Everything that can be wrong is checked before anything is computed: a bundle
 * without a profile, thresholds for inputs the model does not read, a CSV without some of
 * the model's inputs, no rows (exit 3), too few rows, values the model refuses (exit 2).
 */
import type { LoadedModel } from '../bundle/load-model.js';
import { readCsvFile } from '../datasets/csv-reader.js';
import type { ColumnDef } from '../datasets/dataset-spec.js';
import { getDatasetSpec, isBuiltinDataset } from '../datasets/dataset-registry.js';
import { isMlctlError, NotFoundError, UsageError } from '../errors.js';
import { validateRecords } from '../features/record-validation.js';
import { createRng } from '../random.js';
import { compareWithProfile, type DriftComparison } from './compare-drift.js';
import { checkThresholdNames, DEFAULT_MIN_ROWS, resolveThresholds, type ThresholdFlags } from './drift-thresholds.js';
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
    table = await readCsvFile(dataPath, { columns, ...(isBuiltinDataset(task.dataset) ? { spec: getDatasetSpec(task.dataset) } : {}) });
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
  const rows = table.records.length;
  if (rows === 0) {
    throw new NotFoundError('DRIFT_NO_DATA', `${dataPath} holds no rows: there is nothing to compare with the reference profile`);
  }
  if (rows < minRows) {
    throw new UsageError('DRIFT_TOO_FEW_ROWS', `${dataPath} holds ${rows} row${rows === 1 ? '' : 's'}; drift is measured on at least ${minRows} (on fewer, PSI is mostly sampling noise)`, {
      hint: `collect more rows, or pass --min-rows ${rows} to accept the noise knowingly`,
    });
  }
  const { records, problems } = validateRecords(model.pipeline, table.records);
  if (problems.length > 0) {
    throw new UsageError('DRIFT_INPUT_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${dataPath}: the model cannot score these rows; nothing was compared`, {
      problems: problems.slice(0, 20).map((p) => `row ${p.record + 1}, field "${p.field}": ${p.message}`).concat(problems.length > 20 ? [`… and ${problems.length - 20} more`] : []),
    });
  }
  phase('read');

  options.onPhase?.('bin');
  const binner = createProfileBinner(profile, model.meaning);
  const counts = binner.newCounts();
  for (let i = 0; i < records.length; i++) binner.addRecord(records[i]!, counts);
  phase('bin');

  options.onPhase?.('score');
  const scored = records.length > outputRows ? sampleRows(records, outputRows, OUTPUT_SAMPLE_SEED) : records;
  const raw = await model.scoreRecords(scored);
  for (let row = 0; row < scored.length; row++) binner.addOutput(raw, row, counts);
  phase('score');

  options.onPhase?.('compare');
  const comparison = compareWithProfile(binner, counts, rows, thresholds);
  phase('compare');
  return { ...comparison, source: dataPath, outputSample: scored === records ? null : { rows: scored.length, seed: OUTPUT_SAMPLE_SEED }, timings };
}

/** `count` of `items` drawn uniformly without replacement (a partial Fisher–Yates), in their own order. */
function sampleRows<T>(items: readonly T[], count: number, seed: number): T[] {
  const rng = createRng(seed);
  const order = Uint32Array.from(items.keys());
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng() * (order.length - i));
    const held = order[i]!;
    order[i] = order[j]!;
    order[j] = held;
  }
  return Array.from(order.subarray(0, count).sort(), (i) => items[i]!);
}
