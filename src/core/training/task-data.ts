import { UsageError } from '../errors.js';
import { sha256File } from '../fs/hash.js';
import { readCsvFile, readDatasetFile } from '../datasets/csv-reader.js';
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
}

export interface TaskDataOptions extends DatasetStoreOptions {
  /** A CSV (path, or a URL the caller already fetched to a local path) replacing the task's dataset. */
  readonly dataPath?: string;
}

/** The columns a task reads, typed, for reading a user's CSV. */
export function taskColumns(task: TaskSpec): ColumnDef[] {
  const columns: ColumnDef[] = task.features.columns.map((c) => ({ name: c.column, type: c.type === 'numeric' ? 'number' : 'string' }));
  columns.push({ name: task.target.column, type: task.problemType === 'regression' ? 'number' : 'string' });
  return columns;
}

/** Loads (pulling when missing, verifying always) and parses the task's rows. */
export async function loadTaskData(task: TaskSpec, options: TaskDataOptions): Promise<TaskData> {
  const builtin = isBuiltinDataset(task.dataset);
  const dataPath = options.dataPath ?? (builtin ? undefined : task.dataset);
  if (dataPath !== undefined) {
    const spec = builtin ? getDatasetSpec(task.dataset) : undefined;
    const table = await readCsvFile(dataPath, { columns: taskColumns(task), ...(spec === undefined ? {} : { spec }) });
    const { train, test } = holdOut(task, table.records);
    return { train, test, testSource: 'split', dataset: task.dataset, files: { [dataPath]: await sha256File(dataPath) }, output: outputOf(task, train) };
  }
  const spec = getDatasetSpec(task.dataset);
  const local = await ensureDataset(spec, options);
  const trainFile = local.file('train');
  if (trainFile === undefined) throw new UsageError('DATASET_NO_TRAIN_FILE', `dataset ${spec.name} has no training file`);
  const files: Record<string, string> = { [trainFile.name]: trainFile.sha256 };
  const trainTable = await readDatasetFile(trainFile.path, spec, spec.files.find((f) => f.name === trainFile.name));
  const testFile = local.file('test');
  if (testFile === undefined) {
    const { train, test } = holdOut(task, trainTable.records);
    return { train, test, testSource: 'split', dataset: spec.name, files, output: outputOf(task, train) };
  }
  files[testFile.name] = testFile.sha256;
  const testTable = await readDatasetFile(testFile.path, spec, spec.files.find((f) => f.name === testFile.name));
  return { train: trainTable.records, test: testTable.records, testSource: 'file', dataset: spec.name, files, output: outputOf(task, trainTable.records) };
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

function holdOut(task: TaskSpec, records: readonly DataRecord[]): { train: DataRecord[]; test: DataRecord[] } {
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
