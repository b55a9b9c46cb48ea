import { readFile } from 'node:fs/promises';
import { NotFoundError, UsageError } from '../errors.js';
import { BUILTIN_TASKS } from './builtin-tasks.js';
import { resolveModelSpec } from '../models/model-families.js';
import { checkMonitoringSpec } from '../monitoring/drift-thresholds.js';
import type { ParamValue } from '../models/model-params.js';
import type { TaskSpec } from './task-spec.js';

export function getTask(name: string): TaskSpec {
  const task = BUILTIN_TASKS.find((t) => t.name === name);
  if (task === undefined) {
    throw new NotFoundError('TASK_NOT_FOUND', `no built-in task named "${name}"`, {
      hint: `built-in tasks: ${BUILTIN_TASKS.map((t) => t.name).join(', ')}; or describe your own with --config task.json`,
    });
  }
  return task;
}

const PROBLEM_TYPES = ['binary-classification', 'multiclass-classification', 'regression'];
const STEP_KINDS = ['impute', 'standardize', 'log1p', 'yes-no', 'one-hot'];

/**
 * Reads a user's task file (the TaskSpec shape as JSON). Fields left out are taken from
 * `base` when given (`"extends": "income"` in the file), so a small file can tweak a
 * built-in task. Every problem is reported at once, each naming its JSON path.
 */
export async function loadTaskFile(path: string): Promise<TaskSpec> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError('TASK_FILE_NOT_FOUND', `task file ${path} does not exist`);
    throw new UsageError('TASK_FILE_INVALID_JSON', `task file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UsageError('TASK_FILE_INVALID', `task file ${path} must hold a JSON object`);
  }
  const input = raw as Record<string, unknown>;
  const base = typeof input.extends === 'string' ? getTask(input.extends) : undefined;
  const merged = { ...(base ?? {}), ...input } as Record<string, unknown>;
  delete merged.extends;
  if (base !== undefined && typeof input.model === 'object' && input.model !== null) {
    const model = input.model as { family?: string; params?: object };
    if (model.family === undefined || model.family === base.model.family) {
      merged.model = { family: base.model.family, params: { ...base.model.params, ...(model.params ?? {}) } };
    }
  }
  const problems = validateTaskSpec(merged);
  if (problems.length === 0) {
    // Every parameter filled in: the family's defaults for what the file leaves out.
    const model = merged.model as { family: string; params?: Record<string, unknown> };
    merged.model = resolveModelSpec(model, merged.problemType as TaskSpec['problemType']).model;
  }
  if (problems.length > 0) {
    throw new UsageError('TASK_FILE_INVALID', `task file ${path} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, {
      problems,
      hint: 'see the built-in tasks with `mlctl train income --print-task` for a complete example',
    });
  }
  return merged as unknown as TaskSpec;
}

/** Structural checks of a task; returns every problem found, each with its JSON path. */
export function validateTaskSpec(task: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const need = (field: string, ok: boolean, what: string): void => {
    if (!ok) problems.push(`${field}: ${what}`);
  };
  need('name', typeof task.name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(task.name), 'a name of letters, digits, ".", "_" or "-"');
  need('dataset', typeof task.dataset === 'string' && task.dataset !== '', 'a built-in dataset name or the path/URL of a CSV file');
  need('problemType', PROBLEM_TYPES.includes(task.problemType as string), `one of ${PROBLEM_TYPES.join(', ')}`);
  const target = task.target as Record<string, unknown> | undefined;
  need('target.column', typeof target?.column === 'string', 'the name of the column to predict');
  if (task.problemType === 'binary-classification') {
    need('target.positiveLabel', typeof target?.positiveLabel === 'string', 'the label counted as positive');
  }
  const columns = (task.features as { columns?: unknown } | undefined)?.columns;
  if (!Array.isArray(columns) || columns.length === 0) {
    problems.push('features.columns: a non-empty list of { column, type, steps }');
  } else {
    columns.forEach((c: Record<string, unknown>, i) => {
      need(`features.columns[${i}].column`, typeof c?.column === 'string', 'a column name');
      need(`features.columns[${i}].type`, ['numeric', 'categorical', 'boolean'].includes(c?.type as string), 'numeric, categorical or boolean');
      if (!Array.isArray(c?.steps)) problems.push(`features.columns[${i}].steps: a list of steps`);
      else
        (c.steps as Record<string, unknown>[]).forEach((s, j) =>
          need(`features.columns[${i}].steps[${j}].kind`, STEP_KINDS.includes(s?.kind as string), `one of ${STEP_KINDS.join(', ')}`),
        );
    });
  }
  const model = task.model as { family?: unknown; params?: unknown } | undefined;
  if (typeof model?.family !== 'string') {
    problems.push('model.family: the name of a model family');
  } else if (model.params !== undefined && (typeof model.params !== 'object' || model.params === null || Array.isArray(model.params))) {
    problems.push('model.params: an object of hyper-parameters');
  } else if (PROBLEM_TYPES.includes(task.problemType as string)) {
    const resolved = resolveModelSpec(model as { family: string; params?: Record<string, unknown> }, task.problemType as TaskSpec['problemType']);
    for (const p of resolved.problems) problems.push(`model.${p.param === 'family' ? 'family' : `params.${p.param}`}: ${p.message}`);
  }
  const split = task.split as Record<string, unknown> | undefined;
  for (const key of ['validation', 'test'] as const) {
    const v = split?.[key];
    need(`split.${key}`, typeof v === 'number' && v >= 0 && v < 1, 'a fraction in [0, 1)');
  }
  need('split.seed', Number.isInteger(split?.seed), 'a whole number');
  need('split.method', split?.method === undefined || split.method === 'seeded' || split.method === 'sklearn', 'seeded or sklearn');
  need('metrics', Array.isArray(task.metrics), 'a list of metric names');
  need('gates', Array.isArray(task.gates), 'a list of { metric, min?, max? }');
  problems.push(...checkMonitoringSpec(task.monitoring));
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
