import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { sha256File } from '../fs/hash.js';
import { readCsvFile, readDatasetFile, type CsvTable } from '../datasets/csv-reader.js';
import type { ColumnDef, DataRecord } from '../datasets/dataset-spec.js';
import { getDatasetSpec, isBuiltinDataset } from '../datasets/dataset-registry.js';
import { ensureDataset, type DatasetStoreOptions } from '../datasets/dataset-store.js';
import { randomSplit, stratifiedSplit } from '../features/split.js';
import { sklearnTrainTestSplit } from '../compat/numpy-random.js';
import type { TaskSpec } from '../tasks/task-spec.js';
import { describeOutput, interpretOutput, type OutputDescription, type OutputMeaning } from '../bundle/output-meaning.js';

/** The rows a task trains and is tested on, and where they came from. */
export interface TaskData {
  readonly train: readonly DataRecord[];
  readonly test: readonly DataRecord[];
  /** 'file': the dataset's own test file; 'split': held out from the training rows. */
  readonly testSource: 'file' | 'split';
  readonly dataset: string;
  /** File name → SHA-256 of every file read. */
  readonly files: Readonly<Record<string, string>>;
  /** What the model's outputs will mean: the classes are those of the training rows. */
  readonly output: OutputDescription;
  /** Rows left out before the split because their target was missing or unparseable, per file. */
  readonly dropped?: readonly DroppedRows[];
}

/** Rows of one file left out for a missing or unparseable target. */
export interface DroppedRows {
  readonly file: string;
  readonly count: number;
  /** The first few, as 1-based lines of the file. */
  readonly lines: readonly number[];
}

/** How many dropped rows are named by line. */
export const DROPPED_LINES_LISTED = 5;

export interface TaskDataOptions extends DatasetStoreOptions {
  /** A CSV (path, or a URL the caller already fetched to a local path) replacing the task's dataset. */
  readonly dataPath?: string;
}

/**
 * The columns a task reads, typed, for reading a user's CSV. The target is read as text: a
 * value that does not parse is the target-check's to report or drop, by line.
 */
export function taskColumns(task: TaskSpec): ColumnDef[] {
  const columns: ColumnDef[] = task.features.columns.map((c) => ({ name: c.column, type: c.type === 'numeric' ? 'number' : 'string' }));
  for (const name of task.sensitive ?? []) columns.push({ name, type: 'string' });
  columns.push({ name: task.target.column, type: 'string' });
  return columns;
}

/** Reads the CSV a task names with the task's missing markers; every column as text. */
export async function readInferenceTable(path: string, missing: readonly string[] | undefined): Promise<CsvTable> {
  return readCsvFile(path, { inferTypes: false, ...(missing === undefined ? {} : { missing }) });
}

/** Whether a target value can be learned from: present, and a number for a regression. */
function usableTarget(task: TaskSpec, value: string | number | null | undefined): boolean {
  if (value === null || value === undefined) return false;
  if (task.problemType !== 'regression') return String(value).trim() !== '';
  const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
  return Number.isFinite(n) && (task.target.transform !== 'log1p' || n > -1);
}

/**
 * Leaves out the rows whose target is missing or unparseable, before any split, and says
 * which (by file line); with `onMissingTarget: "error"` refuses the file instead. A binary
 * target holding a third label is refused, by line, either way.
 */
export function checkTargets(task: TaskSpec, table: CsvTable, file: string): { records: CsvTable['records']; dropped: DroppedRows | null } {
  const column = task.target.column;
  const lineOf = (row: number): number => table.lineOf?.(row) ?? row + 2;
  const drop: number[] = [];
  const strays: number[] = [];
  const labels = task.problemType === 'binary-classification' && task.target.positiveLabel !== undefined && task.target.negativeLabel !== undefined ? [task.target.positiveLabel, task.target.negativeLabel] : null;
  const records = table.records.filter((record, row) => {
    const value = record[column];
    if (!usableTarget(task, value)) {
      drop.push(row);
      return false;
    }
    if (labels !== null && !labels.includes(String(value).trim())) strays.push(row);
    return true;
  });
  if (strays.length > 0) {
    const listed = strays.slice(0, 20).map((row) => `${file} line ${lineOf(row)}: ${column} is ${JSON.stringify(String(table.records[row]![column]))}`);
    throw new UsageError('TARGET_INVALID', `${strays.length} row${strays.length === 1 ? '' : 's'} of ${file} have a ${column} that is neither "${labels![0]}" nor "${labels![1]}"`, {
      problems: strays.length > 20 ? [...listed, `… and ${strays.length - 20} more`] : listed,
      hint: 'fix the values, or leave target.negativeLabel out of the task, or make it multiclass-classification',
    });
  }
  if (drop.length === 0) return { records, dropped: null };
  const what = task.problemType === 'regression' ? 'missing or not a number' : 'missing';
  if (task.onMissingTarget === 'error') {
    const listed = drop.slice(0, 20).map((row) => `${file} line ${lineOf(row)}: ${column} is ${table.records[row]![column] === null ? 'missing' : JSON.stringify(table.records[row]![column])}`);
    throw new UsageError('TARGET_MISSING', `${drop.length} row${drop.length === 1 ? '' : 's'} of ${file} have a target (${column}) that is ${what}`, {
      problems: drop.length > 20 ? [...listed, `… and ${drop.length - 20} more`] : listed,
      hint: 'fill in the target, or leave "onMissingTarget" out of the task (its default, "drop", leaves such rows out)',
    });
  }
  return { records, dropped: { file, count: drop.length, lines: drop.slice(0, DROPPED_LINES_LISTED).map(lineOf) } };
}

/** Loads (pulling when missing, verifying always) and parses the task's rows. */
export async function loadTaskData(task: TaskSpec, options: TaskDataOptions): Promise<TaskData> {
  const builtin = isBuiltinDataset(task.dataset);
  const dataPath = options.dataPath ?? (builtin ? undefined : task.dataset);
  const missing = task.missing === undefined ? {} : { missing: task.missing };
  if (dataPath !== undefined) {
    const spec = builtin ? getDatasetSpec(task.dataset) : undefined;
    const table = await readCsvFile(dataPath, { columns: taskColumns(task), ...(spec === undefined ? {} : { spec }), ...missing });
    const checked = checkTargets(task, table, basename(dataPath));
    const { train, test } = holdOut(task, checked.records);
    return {
      train,
      test,
      testSource: 'split',
      dataset: task.dataset,
      files: { [dataPath]: await sha256File(dataPath) },
      output: outputOf(task, train),
      dropped: checked.dropped === null ? [] : [checked.dropped],
    };
  }
  const spec = getDatasetSpec(task.dataset);
  const local = await ensureDataset(spec, options);
  const trainFile = local.file('train');
  if (trainFile === undefined) throw new UsageError('DATASET_NO_TRAIN_FILE', `dataset ${spec.name} has no training file`);
  const files: Record<string, string> = { [trainFile.name]: trainFile.sha256 };
  const trainChecked = checkTargets(task, await readDatasetFile(trainFile.path, spec, spec.files.find((f) => f.name === trainFile.name), missing), trainFile.name);
  const testFile = local.file('test');
  if (testFile === undefined) {
    const { train, test } = holdOut(task, trainChecked.records);
    return { train, test, testSource: 'split', dataset: spec.name, files, output: outputOf(task, train), dropped: trainChecked.dropped === null ? [] : [trainChecked.dropped] };
  }
  files[testFile.name] = testFile.sha256;
  const testChecked = checkTargets(task, await readDatasetFile(testFile.path, spec, spec.files.find((f) => f.name === testFile.name), missing), testFile.name);
  return {
    train: trainChecked.records,
    test: testChecked.records,
    testSource: 'file',
    dataset: spec.name,
    files,
    output: outputOf(task, trainChecked.records),
    dropped: [trainChecked.dropped, testChecked.dropped].filter((d): d is DroppedRows => d !== null),
  };
}

/**
 * The rows a task is tested on, reading no more than that: a dataset's own test file alone
 * when it has one (evaluate needs no training rows), else the task's held-out split.
 */
export async function loadTestRows(task: TaskSpec, options: TaskDataOptions): Promise<{ records: readonly DataRecord[]; source: string }> {
  if (options.dataPath === undefined && isBuiltinDataset(task.dataset)) {
    const spec = getDatasetSpec(task.dataset);
    const testSpec = spec.files.find((f) => f.role === 'test');
    if (testSpec !== undefined) {
      const testFile = (await ensureDataset(spec, options)).file('test')!;
      const missing = task.missing === undefined ? {} : { missing: task.missing };
      const checked = checkTargets(task, await readDatasetFile(testFile.path, spec, testSpec, missing), testFile.name);
      return { records: checked.records, source: `${spec.name} test file` };
    }
  }
  const data = await loadTaskData(task, options);
  return { records: data.test, source: data.testSource === 'file' ? `${data.dataset} test file` : `${data.dataset} held-out split (seed ${task.split.seed})` };
}

/** The rows a task is inferred from: the user's CSV, or a built-in dataset's training file (pulled when missing). */
export async function readInferenceData(
  dataset: string,
  missing: readonly string[] | undefined,
  options: TaskDataOptions,
): Promise<{ columns: readonly string[]; records: readonly DataRecord[]; source: string }> {
  const path = options.dataPath ?? (isBuiltinDataset(dataset) ? undefined : dataset);
  if (path !== undefined) {
    const table = await readInferenceTable(path, missing);
    return { columns: table.columns, records: table.records, source: path };
  }
  const spec = getDatasetSpec(dataset);
  const local = await ensureDataset(spec, options);
  const trainFile = local.file('train');
  if (trainFile === undefined) throw new UsageError('DATASET_NO_TRAIN_FILE', `dataset ${spec.name} has no training file`);
  const table = await readDatasetFile(trainFile.path, spec, spec.files.find((f) => f.name === trainFile.name), missing === undefined ? {} : { missing });
  return { columns: table.columns, records: table.records, source: trainFile.name };
}

/** The distinct target values of a classifier's rows, sorted (code-unit order); [] for a regression. */
export function targetLabels(task: TaskSpec, records: readonly DataRecord[]): string[] {
  if (task.problemType === 'regression') return [];
  const labels = new Set<string>();
  for (const record of records) {
    const value = record[task.target.column];
    if (value !== null && value !== undefined && String(value).trim() !== '') labels.add(String(value).trim());
  }
  return [...labels].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function outputOf(task: TaskSpec, train: readonly DataRecord[]): OutputDescription {
  return describeOutput(task, targetLabels(task, train));
}

export function holdOut(task: TaskSpec, records: readonly DataRecord[]): { train: DataRecord[]; test: DataRecord[] } {
  if (task.split.test <= 0) return { train: [...records], test: [] };
  const split =
    task.split.method === 'sklearn'
      ? sklearnTrainTestSplit(records.length, task.split.test, task.split.seed)
      : task.split.stratify && task.problemType !== 'regression'
      ? stratifiedSplit(encodeTarget(interpretOutput(outputOf(task, records)), records, 'training data'), task.split.test, task.split.seed)
      : randomSplit(records.length, task.split.test, task.split.seed);
  return { train: Array.from(split.train, (i) => records[i] as DataRecord), test: Array.from(split.holdout, (i) => records[i] as DataRecord) };
}

/**
 * The target column as the model learns it (OutputMeaning.encodeTarget: 1/0, a class index,
 * or the possibly log1p'd value). Unknown or missing labels are reported together, by row.
 */
export function encodeTarget(meaning: OutputMeaning, records: readonly DataRecord[], where: string): Float32Array {
  const column = meaning.description.target;
  const y = new Float32Array(records.length);
  const problems: string[] = [];
  records.forEach((record, i) => {
    const value = record[column];
    const encoded = meaning.encodeTarget(value);
    if (encoded !== undefined) {
      y[i] = encoded;
    } else if (value === null || value === undefined) {
      problems.push(`row ${i + 1}: ${column} is missing`);
    } else if (!meaning.classification) {
      problems.push(`row ${i + 1}: ${column} is "${value}", not a number`);
    } else {
      problems.push(`row ${i + 1}: ${column} is "${value}", expected ${meaning.labels.map((l) => `"${l}"`).join(' or ')}`);
    }
  });
  if (problems.length > 0) {
    throw new UsageError('TARGET_INVALID', `${problems.length} row${problems.length === 1 ? '' : 's'} of the ${where} have an unusable ${column}`, {
      problems: problems.length > 20 ? [...problems.slice(0, 20), `… and ${problems.length - 20} more`] : problems,
    });
  }
  return y;
}
