/**
 * The task a command works on, from its flags: a built-in task by name, a task file
 * (`--config`), or a CSV and a target column (`--data file.csv --target col`) with every
 * other section inferred. train, preprocess and `task init` share it.
 */
import type { InferenceNote } from '../../core/tasks/task-inference.js';
import type { ProblemType, TaskFile, TaskSpec } from '../../core/tasks/task-spec.js';
import type { CliContext } from '../../ui/context.js';
import type { DataLocation } from './data-location.js';

export interface TaskFlags {
  /** A built-in task name. */
  readonly task?: string;
  readonly config?: string;
  readonly data?: string;
  readonly target?: string;
  readonly problemType?: ProblemType;
  /** A data line with the wrong number of fields while inferring the task: refuse (default) or skip. */
  readonly onBadLine?: 'error' | 'skip';
}

export interface TaskSource {
  readonly task: TaskSpec;
  /** What was inferred, to show on stderr. */
  readonly notes: readonly InferenceNote[];
  /** Where the data is read from: a downloaded copy of a URL, or the `--data` of a built-in task. */
  readonly location: DataLocation;
}

/** `--problem-type` spellings: binary, multiclass, regression, or the full names. */
export const PROBLEM_TYPE_CHOICES = ['binary', 'multiclass', 'regression', 'binary-classification', 'multiclass-classification'] as const;

export function problemTypeOf(choice: string): ProblemType {
  if (choice === 'binary') return 'binary-classification';
  if (choice === 'multiclass') return 'multiclass-classification';
  return choice as ProblemType;
}

export async function resolveTaskFlags(flags: TaskFlags, context: CliContext, command: string): Promise<TaskSource> {
  const [{ UsageError }, registry, { readInferenceData }, { resolveDataLocation, datasetStoreOptions }, { resolve }] = await Promise.all([
    import('../../core/errors.js'),
    import('../../core/tasks/task-registry.js'),
    import('../../core/training/task-data.js'),
    import('./data-location.js'),
    import('node:path'),
  ]);
  if (flags.task !== undefined && flags.config !== undefined) {
    throw new UsageError('TASK_AND_CONFIG', `give a built-in task or --config, not both (to change ${flags.task}, write "extends": "${flags.task}" in the task file)`);
  }
  if (flags.task !== undefined) {
    const own = [flags.target === undefined ? undefined : '--target', flags.problemType === undefined ? undefined : '--problem-type'].filter((f) => f !== undefined);
    if (own.length > 0) {
      throw new UsageError('TASK_FLAG_NEEDS_OWN_DATA', `${own.join(' and ')} ${own.length === 1 ? 'applies' : 'apply'} to your own data, not to the built-in task ${flags.task}`, {
        hint: `mlctl ${command} --data file.csv --target <column>, or a task file with "extends": "${flags.task}"`,
      });
    }
    return { task: registry.getTask(flags.task), notes: [], location: await resolveDataLocation(flags.data, context) };
  }
  if (flags.config === undefined && (flags.data === undefined || flags.target === undefined)) {
    throw new UsageError('NO_TASK', `name a built-in task (mlctl ${command} income), a task file (--config task.json), or your data and its target (--data file.csv --target <column>)`, {
      ...(flags.data !== undefined ? { hint: `which column of ${flags.data} should be predicted? add --target <column>` } : {}),
    });
  }
  const source = flags.config === undefined ? undefined : await registry.readTaskFile(resolve(context.config.cwd, flags.config), { display: flags.config });
  let file: TaskFile = source?.file ?? {};
  // Flags are relative to the working folder, and replace what the file says.
  if (flags.data !== undefined) {
    const { data: _data, dataset: _dataset, ...rest } = file;
    file = { ...rest, data: /^(s3|https?):\/\//i.test(flags.data) ? flags.data : resolve(context.config.cwd, flags.data) };
  }
  if (flags.target !== undefined) file = { ...file, target: flags.target };
  if (flags.problemType !== undefined) file = { ...file, problemType: flags.problemType };
  const dataset = file.data ?? file.dataset;
  const location = dataset !== undefined && /^(s3|https?):\/\//i.test(dataset) ? await resolveDataLocation(dataset, context) : {};
  const store = { ...datasetStoreOptions(context), ...location, ...(flags.onBadLine === undefined ? {} : { onBadLine: flags.onBadLine }) };
  const resolved = await registry.resolveTask(file, {
    readData: (name, missing) => readInferenceData(name, missing, store),
    ...(source === undefined ? {} : { locate: source.locate, source: `task file ${flags.config}` }),
  });
  return { task: resolved.task, notes: resolved.notes, location };
}

/** Prints what was inferred, one line each, on stderr. */
export function showNotes(notes: readonly InferenceNote[], info: (message: string) => void): void {
  if (notes.length === 0) return;
  info('inferred from the data (mlctl task init writes it all out to edit):');
  for (const note of notes) info(`  ${note.key}: ${note.message}`);
}
