import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { NotFoundError, UsageError } from '../errors.js';
import { METRICS_BY_PROBLEM_TYPE } from '../bundle/output-meaning.js';
import { isBuiltinDataset } from '../datasets/dataset-registry.js';
import { checkPipelineSpec } from '../features/pipeline-validation.js';
import { DEFAULT_FAMILY, findModelFamily, resolveModelSpec } from '../models/model-families.js';
import type { ParamValue } from '../models/model-params.js';
import { jsonPointerLines, lineOfPointer } from '../schema/json-locations.js';
import { createSchemaValidator, pointerSegment, type SchemaProblem } from '../schema/json-schema-validator.js';
import { didYouMean } from '../text/near-names.js';
import { BUILTIN_TASKS } from './builtin-tasks.js';
import type { ColumnProfile } from './column-profile.js';
import { inferBinaryLabels, inferFeatures, inferProblemType, requireTargetColumn, type InferenceNote } from './task-inference.js';
import { TASK_FILE_SCHEMA } from './task-schema.js';
import type { SplitSpec, TargetSpec, TaskFile, TaskSpec } from './task-spec.js';

function findTask(name: string): TaskSpec | undefined {
  return BUILTIN_TASKS.find((t) => t.name === name);
}

export function getTask(name: string): TaskSpec {
  const task = findTask(name);
  if (task === undefined) {
    throw new NotFoundError('TASK_NOT_FOUND', `no built-in task named "${name}"`, {
      hint: `built-in tasks: ${BUILTIN_TASKS.map((t) => t.name).join(', ')}; or describe your own with --config task.json`,
    });
  }
  return task;
}

/** Where a problem in a task file is: `task.json line 7, /split/seed`. */
export type Locate = (pointer: string) => string;

/** A task file read and checked against its schema, `extends` merged, paths resolved. */
export interface TaskFileSource {
  readonly file: TaskFile;
  readonly path: string;
  readonly locate: Locate;
}

const validateSchema = createSchemaValidator(TASK_FILE_SCHEMA as unknown as Record<string, unknown>);

/** The schema problems of a parsed task file, each with its JSON pointer. */
export function checkTaskFile(json: unknown): SchemaProblem[] {
  return validateSchema(json);
}

function isUrl(text: string): boolean {
  return /^(s3|https?):\/\//i.test(text);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `over` merged into `base` in depth: objects key by key, anything else (lists too) replaced. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = deepMerge(base[key], value);
  return merged;
}

function problemsError(code: string, message: string, problems: readonly string[]): UsageError {
  return new UsageError(code, message, {
    problems,
    hint: 'the task file format is schemas/task.schema.json; `mlctl task init --data file.csv --target col` writes a complete example',
  });
}

/**
 * Reads a task file: a UTF-8 BOM is skipped, the JSON is checked against the task schema
 * (every problem named by JSON pointer and line: unknown keys with a "did you mean", gates
 * naming a known metric and a number), `"extends"` is merged in depth over the built-in
 * task, and a relative `data`/`dataset` path is made relative to the file's folder.
 */
export async function readTaskFile(path: string, options: { readonly display?: string } = {}): Promise<TaskFileSource> {
  const shown = options.display ?? path;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('TASK_FILE_NOT_FOUND', `task file ${shown} does not exist`);
    throw new UsageError('TASK_FILE_UNREADABLE', `cannot read task file ${shown}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    const line = position === undefined ? undefined : text.slice(0, Number(position)).split('\n').length;
    throw new UsageError('TASK_FILE_INVALID_JSON', `task file ${shown}${line === undefined ? '' : ` line ${line}`} is not valid JSON: ${(error as Error).message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
  const lines = jsonPointerLines(text);
  const locate: Locate = (pointer) => {
    const line = lineOfPointer(lines, pointer);
    return `${line === undefined ? '' : `line ${line}, `}${pointer === '' ? '(top level)' : pointer}`;
  };
  if (!isPlainObject(raw)) throw new UsageError('TASK_FILE_INVALID', `task file ${shown} must hold a JSON object, like {"data": "file.csv", "target": "column"}`);
  const problems = checkTaskFile(raw);
  if (typeof raw.extends === 'string' && findTask(raw.extends) === undefined) {
    problems.push({ pointer: '/extends', message: `"${raw.extends}" is not a built-in task${didYouMean(raw.extends, BUILTIN_TASKS.map((t) => t.name))}; use one of ${BUILTIN_TASKS.map((t) => t.name).join(', ')}` });
  }
  if (raw.data !== undefined && raw.dataset !== undefined) problems.push({ pointer: '/data', message: 'give "data" (a CSV) or "dataset" (a built-in dataset), not both' });
  if (problems.length > 0) {
    throw problemsError('TASK_FILE_INVALID', `task file ${shown} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems.map((p) => `${locate(p.pointer)}: ${p.message}`));
  }
  let file = raw as TaskFile;
  if (file.extends !== undefined) {
    const base = getTask(file.extends);
    const { extends: _ignored, ...own } = file;
    // A new model family starts from its own defaults, not the base family's parameters.
    const baseFile = own.model?.family !== undefined && own.model.family !== base.model.family ? { ...base, model: { family: own.model.family } } : base;
    // The file's own data replaces the base dataset, whichever key names it.
    const { dataset: baseDataset, ...baseRest } = baseFile;
    const withData = own.data === undefined && own.dataset === undefined ? { ...baseRest, dataset: baseDataset } : baseRest;
    file = deepMerge(withData, own) as TaskFile;
  }
  const folder = dirname(resolvePath(path));
  const place = (value: string | undefined): string | undefined =>
    value === undefined || isUrl(value) || isAbsolute(value) || (file.data === undefined && isBuiltinDataset(value)) ? value : resolvePath(folder, value);
  const data = place(file.data);
  const dataset = place(file.dataset);
  file = { ...file, ...(data === undefined ? {} : { data }), ...(dataset === undefined ? {} : { dataset }) };
  return { file, path, locate };
}

/**
 * What a task is inferred from: the file's columns, each profiled (profileColumn's answer)
 * with the task's missing markers. A file is profiled in one streaming pass
 * (datasets/csv-profile.ts), so inference costs no memory per row.
 */
export interface InferenceData {
  readonly columns: readonly string[];
  profile(column: string): ColumnProfile;
  /** The file, for messages. */
  readonly source: string;
}

export interface ResolveTaskOptions {
  /** Reads the data when something must be inferred (and only then). */
  readonly readData: (dataset: string, missing: readonly string[] | undefined) => Promise<InferenceData>;
  readonly locate?: Locate;
  /** What to call the task in messages ("task file x.json"). */
  readonly source?: string;
}

/** A task and what was inferred to complete it. */
export interface ResolvedTask {
  readonly task: TaskSpec;
  readonly notes: readonly InferenceNote[];
}

/** A task name from a file name: `My Data (2024).csv` → `My-Data-2024`. */
export function taskNameFromPath(path: string): string {
  const stem = basename(path.replace(/[?#].*$/, '')).replace(/\.[^.]*$/, '');
  const name = stem.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+|-+$/g, '');
  return name === '' ? 'task' : name;
}

/**
 * Completes a task file into a TaskSpec: sections it gives are kept (model params merged
 * over the family's defaults, a partial split over the default split), the rest is inferred
 * from the data (read only when needed). Every problem is reported at once, each located.
 */
export async function resolveTask(file: TaskFile, options: ResolveTaskOptions): Promise<ResolvedTask> {
  const locate = options.locate ?? ((pointer: string) => pointer);
  const fail = (problems: readonly { pointer: string; message: string }[]): never => {
    throw problemsError(options.source === undefined ? 'TASK_INVALID' : 'TASK_FILE_INVALID', `${options.source ?? 'the task'} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems.map((p) => `${locate(p.pointer)}: ${p.message}`));
  };
  const dataset = file.data ?? file.dataset;
  const targetSpec: TargetSpec | undefined = typeof file.target === 'string' ? { column: file.target } : file.target;
  const missingKeys = [
    ...(dataset === undefined ? [{ pointer: '', message: '"data" is required: the CSV to train on (or "dataset": a built-in dataset)' }] : []),
    ...(targetSpec === undefined ? [{ pointer: '', message: '"target" is required: the column to predict' }] : []),
  ];
  if (missingKeys.length > 0) fail(missingKeys);
  const notes: InferenceNote[] = [];
  const sensitive = file.sensitive ?? [];
  const needsLabels = file.problemType !== 'multiclass-classification' && file.problemType !== 'regression' && (targetSpec!.positiveLabel === undefined || targetSpec!.negativeLabel === undefined);
  const needsData = file.features === undefined || (file.problemType === undefined && targetSpec!.positiveLabel === undefined && targetSpec!.negativeLabel === undefined) || needsLabels;
  // Labels for a positive and a negative class say the task is binary.
  let problemType = file.problemType ?? (targetSpec!.positiveLabel !== undefined || targetSpec!.negativeLabel !== undefined ? 'binary-classification' : undefined);
  let target: TargetSpec = targetSpec!;
  let features = file.features;
  if (needsData) {
    const data = await options.readData(dataset!, file.missing);
    requireTargetColumn(target.column, data.columns, data.source);
    const targetProfile = data.profile(target.column);
    if (problemType === undefined) {
      const inferred = inferProblemType(targetProfile);
      problemType = inferred.problemType;
      notes.push({ key: 'problemType', message: inferred.note });
    }
    if (problemType === 'binary-classification' && (target.positiveLabel === undefined || target.negativeLabel === undefined)) {
      const labels = inferBinaryLabels(targetProfile, target);
      target = { ...target, positiveLabel: labels.positiveLabel, negativeLabel: labels.negativeLabel };
      if (labels.note !== undefined) notes.push({ key: 'target', message: labels.note });
    }
    if (features === undefined) {
      const inferred = inferFeatures(data.columns, (name) => data.profile(name), { target: target.column, sensitive });
      features = inferred.features;
      notes.push(...inferred.notes);
    }
  }
  const type = problemType!;
  const family = findModelFamily(file.model?.family ?? DEFAULT_FAMILY[type]);
  const resolvedModel = resolveModelSpec({ family: file.model?.family ?? DEFAULT_FAMILY[type], params: file.model?.params ?? {} }, type);
  if (file.model?.family === undefined) notes.push({ key: 'model', message: `${resolvedModel.model.family} (the default for ${type}) with its default parameters${file.model?.params === undefined ? '' : ' and yours'}` });
  const classification = type !== 'regression';
  const split: SplitSpec = {
    method: 'seeded',
    validation: family?.usesValidation === false ? 0 : 0.1,
    test: 0.2,
    stratify: classification,
    seed: 42,
    ...file.split,
  };
  const name = file.name ?? taskNameFromPath(dataset!);
  const task: TaskSpec = {
    name,
    description: file.description ?? `Predict ${target.column} from ${basename(dataset!)}.`,
    dataset: dataset!,
    problemType: type,
    target,
    features: features!,
    model: resolvedModel.model,
    split,
    metrics: file.metrics ?? METRICS_BY_PROBLEM_TYPE[type],
    gates: file.gates ?? [],
    ...(file.missing === undefined ? {} : { missing: file.missing }),
    ...(file.onMissingTarget === undefined ? {} : { onMissingTarget: file.onMissingTarget }),
    ...(file.sensitive === undefined ? {} : { sensitive: file.sensitive }),
    ...(file.monitoring === undefined ? {} : { monitoring: file.monitoring }),
    ...(file.bounds === undefined ? {} : { bounds: file.bounds }),
  };
  const problems = validateTaskSpec(task);
  for (const p of resolvedModel.problems) problems.push({ pointer: p.param === 'family' ? '/model/family' : `/model/params/${pointerSegment(p.param)}`, message: p.message });
  if (problems.length > 0) fail(problems);
  return { task, notes };
}

/**
 * Reads and resolves a task file (readTaskFile, then resolveTask). Problems found after
 * inference (a gate on a metric the inferred problem type lacks) are located in the file too.
 */
export async function loadTaskFile(path: string, options: Omit<ResolveTaskOptions, 'locate' | 'source'>): Promise<ResolvedTask> {
  const source = await readTaskFile(path);
  return resolveTask(source.file, { ...options, locate: source.locate, source: `task file ${path}` });
}

/**
 * Checks between the sections of a complete task that a schema cannot express: the target
 * is not a feature, sensitive columns are neither, labels differ, gates and metrics belong
 * to the problem type, the split leaves rows to train on, and the features are a valid
 * pipeline. Every problem, each with its JSON pointer.
 */
export function validateTaskSpec(task: TaskSpec): { pointer: string; message: string }[] {
  const problems: { pointer: string; message: string }[] = [];
  const add = (pointer: string, message: string): void => {
    problems.push({ pointer, message });
  };
  const features = task.features.columns.map((c) => c.column);
  features.forEach((column, i) => {
    if (column === task.target.column) add(`/features/columns/${i}/column`, `"${column}" is the target; a model cannot take what it predicts as a feature`);
    if ((task.sensitive ?? []).includes(column)) add(`/features/columns/${i}/column`, `"${column}" is sensitive: it is kept out of the features (remove it from one of the two lists)`);
  });
  (task.sensitive ?? []).forEach((column, i) => {
    if (column === task.target.column) add(`/sensitive/${i}`, `"${column}" is the target`);
  });
  const { positiveLabel, negativeLabel } = task.target;
  if (task.problemType === 'binary-classification') {
    if (positiveLabel !== undefined && positiveLabel === negativeLabel) add('/target/negativeLabel', `is the same as positiveLabel ("${positiveLabel}")`);
  } else if (positiveLabel !== undefined || negativeLabel !== undefined) {
    add('/target', `positiveLabel and negativeLabel apply to binary classification, not ${task.problemType}`);
  }
  if (task.target.transform !== undefined && task.problemType !== 'regression') add('/target/transform', `log1p applies to a regression target, not ${task.problemType}`);
  const known = METRICS_BY_PROBLEM_TYPE[task.problemType];
  task.metrics.forEach((metric, i) => {
    if (!known.includes(metric)) add(`/metrics/${i}`, `${metric} is not a metric of ${task.problemType}${didYouMean(metric, known)}; it has ${known.join(', ')}`);
  });
  task.gates.forEach((gate, i) => {
    if (!known.includes(gate.metric)) add(`/gates/${i}/metric`, `${gate.metric} is not a metric of ${task.problemType}${didYouMean(gate.metric, known)}; it has ${known.join(', ')}`);
    if (gate.min !== undefined && gate.max !== undefined && gate.min > gate.max) add(`/gates/${i}`, `min ${gate.min} is above max ${gate.max}: no value can pass`);
  });
  if (task.split.validation + task.split.test >= 1) add('/split', `validation (${task.split.validation}) and test (${task.split.test}) leave no rows to train on`);
  for (const message of checkPipelineSpec(task.features)) add('/features', message);
  for (const [name, override] of Object.entries(task.monitoring?.features ?? {})) {
    const column = task.features.columns.find((c) => c.column === name);
    const at = `/monitoring/features/${pointerSegment(name)}`;
    if (column === undefined) add(at, `"${name}" is not a feature of the task${didYouMean(name, features)}`);
    else if (override.js !== undefined && column.type === 'numeric') add(`${at}/js`, `"${name}" is numeric: the Jensen–Shannon distance is measured on categorical inputs only`);
  }
  for (const [name, bound] of Object.entries(task.bounds ?? {})) {
    const column = task.features.columns.find((c) => c.column === name);
    const at = `/bounds/${pointerSegment(name)}`;
    if (column === undefined) add(at, `"${name}" is not a feature of the task${didYouMean(name, features)}`);
    else if (column.type !== 'numeric') add(at, `"${name}" is ${column.type}: bounds apply to numeric inputs`);
    if (bound.min !== undefined && bound.max !== undefined && bound.min > bound.max) add(at, `min ${bound.min} is above max ${bound.max}: no value can pass`);
  }
  return problems;
}

/** Flag overrides for a task's defaults; undefined fields keep the task's value. */
export interface TaskOverrides {
  /** Another model family than the task's (its defaults, then `params`). */
  readonly family?: string;
  /** Hyper-parameters of the model family, e.g. from train flags. */
  readonly params?: Readonly<Record<string, ParamValue>>;
  readonly seed?: number;
  readonly validation?: number;
  readonly dataset?: string;
  /** Regression: fit on log1p(target) (true) or the target itself (false). */
  readonly logTarget?: boolean;
}

/**
 * The task with the overrides applied. A new family starts from its own defaults; params
 * are checked by the family (UsageError 'MODEL_PARAMS_INVALID' lists every problem).
 */
export function applyOverrides(task: TaskSpec, overrides: TaskOverrides, options: { readonly describeParam?: (param: string) => string } = {}): TaskSpec {
  const describe = options.describeParam ?? ((param: string) => `model.params.${param}`);
  const family = overrides.family ?? task.model.family;
  const baseParams = family === task.model.family ? task.model.params : {};
  const resolved = resolveModelSpec({ family, params: { ...baseParams, ...(overrides.params ?? {}) } }, task.problemType);
  if (resolved.problems.length > 0) {
    throw new UsageError('MODEL_PARAMS_INVALID', `the ${family} model's settings have ${resolved.problems.length} problem${resolved.problems.length === 1 ? '' : 's'}`, {
      problems: resolved.problems.map((p) => `${p.param === 'family' ? 'model family' : describe(p.param)}: ${p.message}`),
      hint: `see the ${family} family's settings in \`mlctl train --help\``,
    });
  }
  return {
    ...task,
    dataset: overrides.dataset ?? task.dataset,
    model: resolved.model,
    target:
      overrides.logTarget === undefined
        ? task.target
        : overrides.logTarget
          ? { ...task.target, transform: 'log1p' }
          : { column: task.target.column, ...(task.target.positiveLabel === undefined ? {} : { positiveLabel: task.target.positiveLabel }) },
    split: {
      ...task.split,
      ...(overrides.seed === undefined ? {} : { seed: overrides.seed }),
      ...(overrides.validation === undefined ? {} : { validation: overrides.validation }),
    },
  };
}
