/**
 * Fills in what a task file leaves out, from the data: the problem type from the target
 * column, the target's labels, per-column transforms from each column's profile (id-like,
 * constant and empty columns left out with a note), the model family (the problem type's
 * default) and the split. Every choice is returned as a note the user is shown.
 */
import { UsageError } from '../errors.js';
import { DEFAULT_DATE_PARTS } from '../features/dates.js';
import type { ColumnTransformSpec, PipelineSpec } from '../features/pipeline-spec.js';
import { previewList } from '../features/compiled-pipeline.js';
import { didYouMean } from '../text/near-names.js';
import type { ColumnProfile } from './column-profile.js';
import type { ProblemType, TargetSpec } from './task-spec.js';

/** One inferred choice, shown on stderr by train and task init. */
export interface InferenceNote {
  /** The task key the choice filled in: 'problemType', 'features', 'target'… */
  readonly key: string;
  readonly message: string;
}

/** An integer target with at most this many distinct values (and few per row) is a set of classes. */
export const MAX_INTEGER_CLASSES = 20;
/** A text target with more distinct values than this is refused unless problemType says what it is. */
export const MAX_TEXT_CLASSES = 100;

/** Label pairs where the positive class is plain, positive first (case-insensitive). */
const POSITIVE_FIRST: readonly (readonly [string, string])[] = [
  ['1', '0'],
  ['yes', 'no'],
  ['true', 'false'],
  ['y', 'n'],
  ['t', 'f'],
  ['positive', 'negative'],
  ['pos', 'neg'],
];

/** The columns of the data: a clear error when the target is not one of them. */
export function requireTargetColumn(target: string, columns: readonly string[], source: string): void {
  if (columns.includes(target)) return;
  throw new UsageError('TARGET_COLUMN_NOT_FOUND', `${source} has no column "${target}"${didYouMean(target, columns)}`, {
    hint: `its columns are: ${columns.map((c) => JSON.stringify(c)).join(', ')}`,
  });
}

/**
 * The problem type a target column suggests: two distinct values → binary; text, or a few
 * whole numbers (at most MAX_INTEGER_CLASSES, and at most a tenth of the rows, a twentieth
 * past 1,000 rows, as AutoGluon) → multiclass; other numbers → regression.
 */
export function inferProblemType(target: ColumnProfile): { problemType: ProblemType; note: string } {
  const present = target.rows - target.missing;
  if (target.kind === 'empty' || target.distinct < 2) {
    throw new UsageError('TARGET_ONE_CLASS', `the target "${target.name}" holds ${target.distinct === 0 ? 'no values' : `only one value (${JSON.stringify(target.values?.[0])})`}; there is nothing to learn`, {
      hint: 'check the target column and the missing-value markers',
    });
  }
  if (target.distinct === 2) return { problemType: 'binary-classification', note: `"${target.name}" has two distinct values: binary classification` };
  if (target.numeric) {
    const ratio = present > 1000 ? 0.05 : 0.1;
    if (target.integer && target.distinct <= MAX_INTEGER_CLASSES && target.distinct <= Math.max(3, present * ratio)) {
      return { problemType: 'multiclass-classification', note: `"${target.name}" has ${target.distinct} distinct whole numbers: multiclass classification (set "problemType": "regression" to predict it as a number)` };
    }
    return { problemType: 'regression', note: `"${target.name}" holds numbers (${target.distinct} distinct): regression` };
  }
  if (target.distinct > MAX_TEXT_CLASSES) {
    throw new UsageError('TARGET_TOO_MANY_CLASSES', `the target "${target.name}" holds ${target.distinct} distinct texts: too many classes to infer a classifier (at most ${MAX_TEXT_CLASSES})`, {
      hint: 'set "problemType" in the task file (or --problem-type) if that is what you want, or check the target column',
    });
  }
  return { problemType: 'multiclass-classification', note: `"${target.name}" has ${target.distinct} classes: multiclass classification` };
}

/**
 * A binary target's labels: the given ones, completed from the data. A plain pair (1/0,
 * yes/no, true/false…) takes its plain positive; otherwise the larger value (numerically when
 * both are numbers, else in code-unit order), as scikit-learn does.
 */
export function inferBinaryLabels(target: ColumnProfile, given: TargetSpec): { positiveLabel: string; negativeLabel: string; note?: string } {
  const values = target.values ?? [];
  if (given.positiveLabel !== undefined && given.negativeLabel !== undefined) return { positiveLabel: given.positiveLabel, negativeLabel: given.negativeLabel };
  if (given.positiveLabel !== undefined || given.negativeLabel !== undefined) {
    const known = (given.positiveLabel ?? given.negativeLabel)!;
    const others = values.filter((v) => v !== known);
    if (!values.includes(known) || others.length !== 1) {
      throw new UsageError('TARGET_LABELS_AMBIGUOUS', `"${target.name}" holds ${values.length} distinct values (${previewList(values)}); a binary task needs "${known}" and exactly one other`, {
        hint: 'set both target.positiveLabel and target.negativeLabel, fix the stray values, or make the task multiclass-classification',
      });
    }
    return given.positiveLabel !== undefined
      ? { positiveLabel: known, negativeLabel: others[0]! }
      : { positiveLabel: others[0]!, negativeLabel: known };
  }
  if (values.length !== 2) {
    throw new UsageError('TARGET_LABELS_AMBIGUOUS', `"${target.name}" holds ${values.length} distinct values (${previewList(values)}); binary classification needs exactly two`, {
      hint: 'make the task multiclass-classification, or fix the stray values',
    });
  }
  const [a, b] = values as [string, string];
  for (const [positive, negative] of POSITIVE_FIRST) {
    const la = a.toLowerCase();
    const lb = b.toLowerCase();
    if (la === positive && lb === negative) return { positiveLabel: a, negativeLabel: b, note: `positive class "${a}"` };
    if (lb === positive && la === negative) return { positiveLabel: b, negativeLabel: a, note: `positive class "${b}"` };
  }
  // `values` is sorted (numerically for numbers): the larger one is positive.
  return { positiveLabel: b, negativeLabel: a, note: `positive class "${b}", negative "${a}" (set target.positiveLabel to swap)` };
}

/** The transforms for one profiled column, or why it is left out. */
export function columnTransform(profile: ColumnProfile): ColumnTransformSpec | { excluded: string } {
  const column = profile.name;
  switch (profile.kind) {
    case 'numeric':
      return { column, type: 'numeric', steps: [{ kind: 'impute', strategy: 'median' }, { kind: 'standardize' }] };
    case 'categorical':
      return { column, type: 'categorical', steps: [{ kind: 'impute', strategy: 'most-frequent' }, { kind: 'one-hot', unseen: 'ignore' }] };
    case 'boolean': {
      const { yes, no } = profile.yesNo!;
      return {
        column,
        type: 'boolean',
        steps: [
          { kind: 'impute', strategy: 'most-frequent' },
          { kind: 'yes-no', yes: [yes.toLowerCase()], no: [no.toLowerCase()] },
        ],
      };
    }
    case 'date':
    case 'datetime':
      return {
        column,
        type: 'date',
        steps: [{ kind: 'impute', strategy: 'median' }, { kind: 'date', parts: profile.kind === 'datetime' ? [...DEFAULT_DATE_PARTS.slice(0, 4), 'hour', 'days_since_epoch'] : [...DEFAULT_DATE_PARTS] }],
      };
    default:
      return { excluded: `${profile.kind}: ${profile.reason}` };
  }
}

/** Features for every column but the target and the sensitive ones, with a note per column left out. */
export function inferFeatures(
  columns: readonly string[],
  profileOf: (column: string) => ColumnProfile,
  options: { readonly target: string; readonly sensitive: readonly string[] },
): { features: PipelineSpec; notes: InferenceNote[]; profiles: ColumnProfile[] } {
  const notes: InferenceNote[] = [];
  const specs: ColumnTransformSpec[] = [];
  const profiles: ColumnProfile[] = [];
  for (const name of columns) {
    if (name === options.target) continue;
    if (options.sensitive.includes(name)) {
      notes.push({ key: 'features', message: `"${name}" left out: sensitive (kept for the report's fairness slices)` });
      continue;
    }
    const profile = profileOf(name);
    profiles.push(profile);
    const transform = columnTransform(profile);
    if ('excluded' in transform) notes.push({ key: 'features', message: `"${name}" left out: ${transform.excluded}` });
    else specs.push(transform);
  }
  if (specs.length === 0) {
    throw new UsageError('NO_FEATURES', `no column besides the target "${options.target}" can be a feature`, {
      problems: notes.map((n) => n.message),
      hint: 'list the features yourself in the task file ("features": {"columns": [...]})',
    });
  }
  const kinds = new Map<string, number>();
  for (const s of specs) kinds.set(s.type, (kinds.get(s.type) ?? 0) + 1);
  notes.unshift({ key: 'features', message: `${specs.length} feature${specs.length === 1 ? '' : 's'}: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}` });
  return { features: { columns: specs }, notes, profiles };
}
