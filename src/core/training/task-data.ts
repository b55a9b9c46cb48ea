import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { sha256File } from '../fs/hash.js';
import { allRows, rowLocation, selectRows, textAt, valueAt, type DataTable, type TableRows } from '../datasets/data-table.js';
import type { ColumnDef, DatasetSpec } from '../datasets/dataset-spec.js';
import { getDatasetSpec, isBuiltinDataset } from '../datasets/dataset-registry.js';
import { ensureDataset, type DatasetStoreOptions } from '../datasets/dataset-store.js';
import { readCsvTable, readDatasetTable, type ReadProgress, type ReadTableResult, type UnparsedValues } from '../datasets/table-reader.js';
import { randomSplit, stratifiedSplit } from '../features/split.js';
import { sklearnTrainTestSplit } from '../compat/numpy-random.js';
import type { TaskSpec } from '../tasks/task-spec.js';
import type { ColumnProfile } from '../tasks/column-profile.js';
import type { BadLinePolicy, BadLines } from '../datasets/bad-lines.js';
import { describeOutput, interpretOutput, type OutputDescription, type OutputMeaning } from '../bundle/output-meaning.js';

/**
 * The rows a task trains and is tested on, and where they came from. Rows are selections of
 * columnar tables (one table per file read): nothing is copied per row.
 */
export interface TaskData {
  readonly train: TableRows;
  readonly test: TableRows;
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
  /** Told as each file is read: its name, bytes read of its size, rows so far. */
  readonly onRead?: (file: string, progress: ReadProgress) => void;
  /** A line with the wrong number of fields: refuse the file, naming every such line (default), or skip it. */
  readonly onBadLine?: BadLinePolicy;
  /** Told of the lines a file had skipped under `onBadLine: 'skip'`. */
  readonly onBadLines?: (file: string, bad: BadLines) => void;
}

/**
 * The columns a task reads, typed, for reading a user's CSV. The target is read as text for a
 * classifier; a regression's is a number column whose values that are not numbers are kept
 * aside (`lenientColumns`): a row without a usable target is the target check's to report or
 * drop, by line.
 */
export function taskColumns(task: TaskSpec): ColumnDef[] {
  const columns: ColumnDef[] = task.features.columns.map((c) => ({ name: c.column, type: c.type === 'numeric' ? 'number' : 'string' }));
  for (const name of task.sensitive ?? []) columns.push({ name, type: 'string' });
  columns.push({ name: task.target.column, type: task.problemType === 'regression' ? 'number' : 'string' });
  return columns;
}

/** The columns whose unparseable values are the target check's, not the reader's. */
function lenientColumns(task: TaskSpec): string[] {
  return task.problemType === 'regression' ? [task.target.column] : [];
}


/** A file's rows read for a task, and where they came from. */
interface ReadFile {
  readonly read: ReadTableResult;
  /** The name messages use for the file. */
  readonly file: string;
}

async function readUserFile(task: TaskSpec, path: string, options: TaskDataOptions): Promise<ReadFile> {
  const spec = isBuiltinDataset(task.dataset) ? getDatasetSpec(task.dataset) : undefined;
  const file = basename(path);
  const read = await readCsvTable(path, {
    columns: taskColumns(task),
    lenient: lenientColumns(task),
    ...(spec === undefined ? {} : { spec }),
    ...(task.missing === undefined ? {} : { missing: task.missing }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onRead === undefined ? {} : { onProgress: (progress: ReadProgress) => options.onRead!(file, progress) }),
    ...(options.onBadLine === undefined ? {} : { onBadLine: options.onBadLine }),
  });
  if (read.badLines !== null) options.onBadLines?.(file, read.badLines);
  return { read, file };
}

async function readDatasetFile(task: TaskSpec, spec: DatasetSpec, local: { name: string; path: string }, options: TaskDataOptions): Promise<ReadFile> {
  const read = await readDatasetTable(local.path, spec, spec.files.find((f) => f.name === local.name), {
    columns: taskColumns(task),
    lenient: lenientColumns(task),
    ...(task.missing === undefined ? {} : { missing: task.missing }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.onRead === undefined ? {} : { onProgress: (progress: ReadProgress) => options.onRead!(local.name, progress) }),
    ...(options.onBadLine === undefined ? {} : { onBadLine: options.onBadLine }),
  });
  if (read.badLines !== null) options.onBadLines?.(local.name, read.badLines);
  return { read, file: local.name };
}

/**
 * Leaves out the rows whose target is missing or unparseable, before any split, and says
 * which (by file line); with `onMissingTarget: "error"` refuses the file instead. A binary
 * target holding a third label is refused, by line, either way.
 */
export function checkTargets(task: TaskSpec, read: ReadTableResult, file: string): { rows: TableRows; dropped: DroppedRows | null } {
  const { table } = read;
  const columnName = task.target.column;
  const column = table.column(columnName);
  const lineOf = (row: number): number => table.lineOf(row);
  if (column === undefined) return { rows: allRows(table), dropped: null };
  const unparsed = read.unparsed.get(columnName);
  // The target as the file spells it, for messages.
  const spelled = (row: number): string => {
    const value = valueAt(column, row);
    if (value === null) {
      const text = unparsed?.first.find((entry) => entry.row === row)?.text;
      return text === undefined ? 'missing' : JSON.stringify(text);
    }
    return JSON.stringify(String(value));
  };
  const usable = usableRows(task, table, columnName);
  const labels = task.problemType === 'binary-classification' && task.target.positiveLabel !== undefined && task.target.negativeLabel !== undefined ? [task.target.positiveLabel, task.target.negativeLabel] : null;
  const drop: number[] = [];
  let dropCount = 0;
  const strays: number[] = [];
  let strayCount = 0;
  const keptRows = new Uint32Array(table.rows);
  let kept = 0;
  const strayCodes = labels === null || column.kind !== 'text' ? null : column.dictionary.map((text) => !labels.includes(text.trim()));
  for (let row = 0; row < table.rows; row++) {
    if (usable[row] === 0) {
      if (drop.length < 20) drop.push(row);
      dropCount++;
      continue;
    }
    if (strayCodes !== null && column.kind === 'text' && strayCodes[column.codes[row]! - 1] === true) {
      if (strays.length < 20) strays.push(row);
      strayCount++;
    }
    keptRows[kept++] = row;
  }
  if (strayCount > 0) {
    const listed = strays.map((row) => `${file} line ${lineOf(row)}: ${columnName} is ${JSON.stringify(column.kind === 'text' ? textAt(column, row) : String(valueAt(column, row)))}`);
    throw new UsageError('TARGET_INVALID', `${strayCount} row${strayCount === 1 ? '' : 's'} of ${file} have a ${columnName} that is neither "${labels![0]}" nor "${labels![1]}"`, {
      problems: strayCount > 20 ? [...listed, `… and ${strayCount - 20} more`] : listed,
      hint: 'fix the values, or leave target.negativeLabel out of the task, or make it multiclass-classification',
    });
  }
  const rows: TableRows = { table, index: keptRows.subarray(0, kept) };
  if (dropCount === 0) return { rows, dropped: null };
  const what = task.problemType === 'regression' ? 'missing or not a number' : 'missing';
  if (task.onMissingTarget === 'error') {
    const listed = drop.map((row) => `${file} line ${lineOf(row)}: ${columnName} is ${spelled(row)}`);
    throw new UsageError('TARGET_MISSING', `${dropCount} row${dropCount === 1 ? '' : 's'} of ${file} have a target (${columnName}) that is ${what}`, {
      problems: dropCount > 20 ? [...listed, `… and ${dropCount - 20} more`] : listed,
      hint: 'fill in the target, or leave "onMissingTarget" out of the task (its default, "drop", leaves such rows out)',
    });
  }
  return { rows, dropped: { file, count: dropCount, lines: drop.slice(0, DROPPED_LINES_LISTED).map(lineOf) } };
}

/** 1 per row whose target can be learned from: present, and a number (above −1 under log1p) for a regression. */
function usableRows(task: TaskSpec, table: DataTable, name: string): Uint8Array {
  const column = table.column(name)!;
  const usable = new Uint8Array(table.rows);
  if (column.kind === 'number') {
    const log = task.target.transform === 'log1p';
    const values = column.values;
    for (let row = 0; row < table.rows; row++) {
      const n = values[row]!;
      usable[row] = n === n && (task.problemType !== 'regression' || !log || n > -1) ? 1 : 0;
    }
    return usable;
  }
  const byCode = column.dictionary.map((text) => (task.problemType === 'regression' ? Number.isFinite(text.trim() === '' ? Number.NaN : Number(text)) && (task.target.transform !== 'log1p' || Number(text) > -1) : text.trim() !== ''));
  for (let row = 0; row < table.rows; row++) {
    const code = column.codes[row]!;
    usable[row] = code !== 0 && byCode[code - 1] === true ? 1 : 0;
  }
  return usable;
}

/** Loads (pulling when missing, verifying always) and reads the task's rows into columns. */
export async function loadTaskData(task: TaskSpec, options: TaskDataOptions): Promise<TaskData> {
  const builtin = isBuiltinDataset(task.dataset);
  const dataPath = options.dataPath ?? (builtin ? undefined : task.dataset);
  if (dataPath !== undefined) {
    const { read, file } = await readUserFile(task, dataPath, options);
    const checked = checkTargets(task, read, file);
    const { train, test } = holdOut(task, checked.rows);
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
  const trainRead = await readDatasetFile(task, spec, trainFile, options);
  const trainChecked = checkTargets(task, trainRead.read, trainRead.file);
  const testFile = local.file('test');
  if (testFile === undefined) {
    const { train, test } = holdOut(task, trainChecked.rows);
    return { train, test, testSource: 'split', dataset: spec.name, files, output: outputOf(task, train), dropped: trainChecked.dropped === null ? [] : [trainChecked.dropped] };
  }
  files[testFile.name] = testFile.sha256;
  const testRead = await readDatasetFile(task, spec, testFile, options);
  const testChecked = checkTargets(task, testRead.read, testRead.file);
  return {
    train: trainChecked.rows,
    test: testChecked.rows,
    testSource: 'file',
    dataset: spec.name,
    files,
    output: outputOf(task, trainChecked.rows),
    dropped: [trainChecked.dropped, testChecked.dropped].filter((d): d is DroppedRows => d !== null),
  };
}

/**
 * The rows a task is tested on, reading no more than that: a dataset's own test file alone
 * when it has one (evaluate needs no training rows), else the task's held-out split.
 */
export async function loadTestRows(task: TaskSpec, options: TaskDataOptions): Promise<{ rows: TableRows; source: string }> {
  if (options.dataPath === undefined && isBuiltinDataset(task.dataset)) {
    const spec = getDatasetSpec(task.dataset);
    const testSpec = spec.files.find((f) => f.role === 'test');
    if (testSpec !== undefined) {
      const testFile = (await ensureDataset(spec, options)).file('test')!;
      const { read, file } = await readDatasetFile(task, spec, testFile, options);
      return { rows: checkTargets(task, read, file).rows, source: `${spec.name} test file` };
    }
  }
  const data = await loadTaskData(task, options);
  return { rows: data.test, source: data.testSource === 'file' ? `${data.dataset} test file` : `${data.dataset} held-out split (seed ${task.split.seed})` };
}

/** The labelled rows of any CSV for a task (evaluate --data): its columns, targets checked. */
export async function loadLabelledFile(task: TaskSpec, path: string, options: TaskDataOptions): Promise<{ rows: TableRows; dropped: DroppedRows | null }> {
  const { read, file } = await readUserFile(task, path, options);
  return checkTargets(task, read, file);
}

/**
 * What a task is inferred from: the user's CSV, or a built-in dataset's training file (pulled
 * when missing), profiled column by column in one streaming pass.
 */
export async function readInferenceData(
  dataset: string,
  missing: readonly string[] | undefined,
  options: TaskDataOptions,
): Promise<{ columns: readonly string[]; profile: (column: string) => ColumnProfile; source: string }> {
  const { profileCsvFile, profileDatasetFile } = await import('../datasets/csv-profile.js');
  const path = options.dataPath ?? (isBuiltinDataset(dataset) ? undefined : dataset);
  const missingOption = { ...(missing === undefined ? {} : { missing }), ...(options.onBadLine === undefined ? {} : { onBadLine: options.onBadLine }) };
  let source: string;
  let description;
  if (path !== undefined) {
    description = await profileCsvFile(path, { ...missingOption, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    // Lines skipped here are skipped (and reported) again when the rows are read for training.
    source = path;
  } else {
    const spec = getDatasetSpec(dataset);
    const local = await ensureDataset(spec, options);
    const trainFile = local.file('train');
    if (trainFile === undefined) throw new UsageError('DATASET_NO_TRAIN_FILE', `dataset ${spec.name} has no training file`);
    description = await profileDatasetFile(trainFile.path, spec, spec.files.find((f) => f.name === trainFile.name), missingOption);
    source = trainFile.name;
  }
  const profiles = new Map(description.profiles.map((profile) => [profile.name, profile]));
  return {
    columns: description.profiles.map((profile) => profile.name),
    profile: (column) => {
      const profile = profiles.get(column);
      if (profile === undefined) throw new UsageError('TASK_COLUMN_UNKNOWN', `${source} has no column "${column}"`);
      return profile;
    },
    source,
  };
}

/** The distinct target values of a classifier's rows, sorted (code-unit order); [] for a regression. */
export function targetLabels(task: TaskSpec, rows: TableRows): string[] {
  if (task.problemType === 'regression') return [];
  const column = rows.table.column(task.target.column);
  if (column === undefined) return [];
  const labels = new Set<string>();
  if (column.kind === 'number') {
    for (const row of rows.index) {
      const value = column.values[row]!;
      if (value === value) labels.add(String(value));
    }
  } else {
    const seen = new Uint8Array(column.dictionary.length + 1);
    for (const row of rows.index) seen[column.codes[row]!] = 1;
    column.dictionary.forEach((text, k) => {
      if (seen[k + 1] === 1 && text.trim() !== '') labels.add(text.trim());
    });
  }
  return [...labels].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function outputOf(task: TaskSpec, train: TableRows): OutputDescription {
  return describeOutput(task, targetLabels(task, train));
}

/** Splits the checked rows into training and test rows, as the task's split says. */
export function holdOut(task: TaskSpec, rows: TableRows): { train: TableRows; test: TableRows } {
  if (task.split.test <= 0) return { train: rows, test: { table: rows.table, index: new Uint32Array(0) } };
  const count = rows.index.length;
  const split =
    task.split.method === 'sklearn'
      ? sklearnTrainTestSplit(count, task.split.test, task.split.seed)
      : task.split.stratify && task.problemType !== 'regression'
        ? stratifiedSplit(encodeTarget(interpretOutput(outputOf(task, rows)), rows, 'training data'), task.split.test, task.split.seed)
        : randomSplit(count, task.split.test, task.split.seed);
  return { train: selectRows(rows, split.train), test: selectRows(rows, split.holdout) };
}

/**
 * The target column as the model learns it (OutputMeaning.encodeTarget: 1/0, a class index,
 * or the possibly log1p'd value), each distinct value encoded once. Unknown or missing labels
 * are reported together, by file line.
 */
export function encodeTarget(meaning: OutputMeaning, rows: TableRows, where: string): Float32Array {
  const name = meaning.description.target;
  const column = rows.table.column(name);
  const y = new Float32Array(rows.index.length);
  const problems: string[] = [];
  let failed = 0;
  const fail = (i: number, what: string): void => {
    failed++;
    if (problems.length < 20) problems.push(`${rowLocation(rows, i)}: ${name} ${what}`);
  };
  if (column === undefined) {
    for (let i = 0; i < y.length; i++) fail(i, 'is missing');
  } else if (column.kind === 'number') {
    for (let i = 0; i < y.length; i++) {
      const value = column.values[rows.index[i]!]!;
      const encoded = value === value ? meaning.encodeTarget(value) : undefined;
      if (encoded !== undefined) y[i] = encoded;
      else if (value !== value) fail(i, 'is missing');
      else fail(i, meaning.classification ? `is "${value}", expected ${meaning.labels.map((l) => `"${l}"`).join(' or ')}` : `is "${value}", not a number`);
    }
  } else {
    const byCode = column.dictionary.map((text) => meaning.encodeTarget(text));
    for (let i = 0; i < y.length; i++) {
      const code = column.codes[rows.index[i]!]!;
      const encoded = code === 0 ? undefined : byCode[code - 1];
      if (encoded !== undefined) y[i] = encoded;
      else if (code === 0) fail(i, 'is missing');
      else {
        const value = column.dictionary[code - 1]!;
        fail(i, meaning.classification ? `is "${value}", expected ${meaning.labels.map((l) => `"${l}"`).join(' or ')}` : `is "${value}", not a number`);
      }
    }
  }
  if (failed > 0) {
    throw new UsageError('TARGET_INVALID', `${failed} row${failed === 1 ? '' : 's'} of the ${where} have an unusable ${name}`, {
      problems: failed > 20 ? [...problems, `… and ${failed - 20} more`] : problems,
    });
  }
  return y;
}


export type { UnparsedValues };
