/**
 * What a model's outputs mean: the one place that turns raw outputs into answers (labels,
 * probabilities, values in the target's units), scores them against truth, and encodes a
 * target value for training. Training, predict, evaluate, report and serve all ask the
 * interpretation built from the bundle's output description.
 */
import { classificationMetrics, isPositive, type ConfusionMatrix } from '../metrics/classification.js';
import { argmaxRow, multiclassMetrics } from '../metrics/multiclass.js';
import { regressionMetrics } from '../metrics/regression.js';
import { UsageError } from '../errors.js';
import { previewList } from '../features/compiled-pipeline.js';
import type { ProblemType, TaskSpec } from '../tasks/task-spec.js';

/**
 * The metrics `evaluate` reports for each problem type, headline first: what a task's
 * `metrics` list and its gates may name.
 */
export const METRICS_BY_PROBLEM_TYPE: Readonly<Record<ProblemType, readonly string[]>> = {
  'binary-classification': ['accuracy', 'auc', 'precision', 'recall', 'f1', 'log_loss'],
  'multiclass-classification': ['accuracy', 'macro_f1', 'log_loss'],
  regression: ['r2', 'rmse', 'mae'],
};

/** Every metric name of every problem type, once. */
export function allMetricNames(): string[] {
  return [...new Set(Object.values(METRICS_BY_PROBLEM_TYPE).flat())];
}

/** What a prediction means, recorded in every manifest. */
export type OutputDescription =
  | {
      readonly kind: 'binary-probability';
      readonly target: string;
      readonly positiveLabel: string;
      readonly negativeLabel: string;
      /** probability >= threshold → positiveLabel */
      readonly threshold: number;
    }
  | {
      readonly kind: 'class-probabilities';
      readonly target: string;
      /** Labels in class-index order; the model outputs one probability per class. */
      readonly classes: readonly string[];
    }
  | { readonly kind: 'regression'; readonly target: string; readonly transform: 'log1p' | null };

/** One answer: a label with its probability (or each class's), or a value. */
export type Answer =
  | { readonly label: string; readonly probability: number }
  | { readonly label: string; readonly probabilities: Readonly<Record<string, number>> }
  | { readonly prediction: number };

/** Metrics of a model on labelled rows, named as runs, gates and filters use them. */
export interface Evaluation {
  readonly problemType: ProblemType;
  /** accuracy, auc, precision, recall, f1, log_loss; accuracy, macro_f1, log_loss; or r2, rmse, mae. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Binary classifiers. */
  readonly confusion?: ConfusionMatrix;
  readonly threshold?: number;
  /** Multiclass: per-class figures and the confusion matrix (rows actual, columns predicted). */
  readonly classes?: {
    readonly labels: readonly string[];
    readonly perClass: readonly { readonly label: string; readonly precision: number; readonly recall: number; readonly f1: number; readonly support: number }[];
    readonly confusion: readonly (readonly number[])[];
  };
}

export interface OutputMeaning {
  readonly description: OutputDescription;
  readonly problemType: ProblemType;
  readonly classification: boolean;
  /** Raw outputs per row. */
  readonly width: number;
  /** Classification labels in class-index order (binary: negative, positive). */
  readonly labels: readonly string[];
  /** The class index a row's outputs predict (classification). */
  classOf(raw: ArrayLike<number>, row: number, threshold?: number): number;
  /** The predicted label (classification) or the value's decimal spelling (regression). */
  labelOf(raw: ArrayLike<number>, row: number): string;
  /** The regression value in the target's units; P(positive) for a binary classifier. */
  valueOf(raw: ArrayLike<number>, row: number): number;
  answer(raw: ArrayLike<number>, row: number): Answer;
  /** Scores raw outputs against encoded truth (`encodeTarget`'s values). */
  evaluate(y: ArrayLike<number>, raw: ArrayLike<number>, options?: { readonly threshold?: number }): Evaluation;
  /** A target value from data as the model learns it; undefined when it is not usable. */
  encodeTarget(value: string | number | null | undefined): number | undefined;
  /** The headline metric a permutation of features is scored with (higher is better). */
  readonly headline: { readonly name: string; score(y: ArrayLike<number>, raw: ArrayLike<number>): number };
}

/**
 * A task's output description, given the target values seen in the training rows (sorted,
 * distinct): a multiclass task's classes are those values; a binary task without a
 * negative label takes the one value besides the positive label, and is refused when the
 * training rows hold anything else.
 */
export function describeOutput(task: TaskSpec, observed: readonly string[]): OutputDescription {
  const target = task.target.column;
  if (task.problemType === 'regression') return { kind: 'regression', target, transform: task.target.transform ?? null };
  if (task.problemType === 'multiclass-classification') {
    if (observed.length < 2) throw new UsageError('TARGET_ONE_CLASS', `the training rows hold ${observed.length === 0 ? 'no' : 'only one'} value of ${target}; a classifier needs at least two classes`);
    return { kind: 'class-probabilities', target, classes: observed };
  }
  const positiveLabel = task.target.positiveLabel ?? '1';
  let negativeLabel = task.target.negativeLabel;
  if (negativeLabel === undefined) {
    const others = observed.filter((label) => label !== positiveLabel);
    if (others.length !== 1 || others.length === observed.length) {
      throw new UsageError('TARGET_LABELS_AMBIGUOUS', `${target} holds ${observed.length} distinct values (${previewList(observed)}); a binary task needs the positive label "${positiveLabel}" and exactly one other`, {
        hint: 'set target.negativeLabel, or make the task multiclass-classification',
      });
    }
    negativeLabel = others[0]!;
  }
  return { kind: 'binary-probability', target, positiveLabel, negativeLabel, threshold: 0.5 };
}

/** Reads an output description into its meaning. */
export function interpretOutput(description: OutputDescription): OutputMeaning {
  switch (description.kind) {
    case 'binary-probability':
      return binaryMeaning(description);
    case 'class-probabilities':
      return multiclassMeaning(description);
    case 'regression':
      return regressionMeaning(description);
  }
}

function binaryMeaning(description: Extract<OutputDescription, { kind: 'binary-probability' }>): OutputMeaning {
  const { positiveLabel, negativeLabel } = description;
  const classOf = (raw: ArrayLike<number>, row: number, threshold = description.threshold): number => (isPositive(raw[row]!, threshold) ? 1 : 0);
  return {
    description,
    problemType: 'binary-classification',
    classification: true,
    width: 1,
    labels: [negativeLabel, positiveLabel],
    classOf,
    labelOf: (raw, row) => (classOf(raw, row) === 1 ? positiveLabel : negativeLabel),
    valueOf: (raw, row) => raw[row]!,
    answer: (raw, row) => ({ label: classOf(raw, row) === 1 ? positiveLabel : negativeLabel, probability: raw[row]! }),
    evaluate(y, raw, options = {}) {
      const threshold = options.threshold ?? description.threshold;
      const m = classificationMetrics(y, raw, threshold);
      return {
        problemType: 'binary-classification',
        metrics: { accuracy: m.accuracy, auc: m.auc, precision: m.precision, recall: m.recall, f1: m.f1, log_loss: m.logLoss },
        confusion: m.confusion,
        threshold,
      };
    },
    encodeTarget(value) {
      if (value === null || value === undefined) return undefined;
      const label = String(value).trim();
      if (label === positiveLabel) return 1;
      if (label === negativeLabel) return 0;
      return undefined;
    },
    headline: { name: 'auc', score: (y, raw) => classificationMetrics(y, raw).auc },
  };
}

function multiclassMeaning(description: Extract<OutputDescription, { kind: 'class-probabilities' }>): OutputMeaning {
  const classes = description.classes;
  const k = classes.length;
  const index = new Map(classes.map((label, i) => [label, i]));
  return {
    description,
    problemType: 'multiclass-classification',
    classification: true,
    width: k,
    labels: classes,
    classOf: (raw, row) => argmaxRow(raw, row, k),
    labelOf: (raw, row) => classes[argmaxRow(raw, row, k)]!,
    valueOf: (raw, row) => raw[row * k + argmaxRow(raw, row, k)]!,
    answer(raw, row) {
      const probabilities: Record<string, number> = {};
      for (let c = 0; c < k; c++) probabilities[classes[c]!] = raw[row * k + c]!;
      return { label: classes[argmaxRow(raw, row, k)]!, probabilities };
    },
    evaluate(y, raw) {
      const m = multiclassMetrics(y, raw, k);
      return {
        problemType: 'multiclass-classification',
        metrics: { accuracy: m.accuracy, macro_f1: m.macroF1, log_loss: m.logLoss },
        classes: { labels: classes, perClass: m.perClass.map((c, i) => ({ label: classes[i]!, ...c })), confusion: m.confusion },
      };
    },
    encodeTarget(value) {
      if (value === null || value === undefined) return undefined;
      return index.get(String(value).trim());
    },
    headline: { name: 'accuracy', score: (y, raw) => multiclassMetrics(y, raw, k).accuracy },
  };
}

function regressionMeaning(description: Extract<OutputDescription, { kind: 'regression' }>): OutputMeaning {
  const log = description.transform === 'log1p';
  const toTarget = (v: number): number => (log ? Math.expm1(v) : v);
  const inTargetUnits = (values: ArrayLike<number>): number[] => Array.from(values, toTarget);
  return {
    description,
    problemType: 'regression',
    classification: false,
    width: 1,
    labels: [],
    classOf: () => 0,
    labelOf: (raw, row) => String(toTarget(raw[row]!)),
    valueOf: (raw, row) => toTarget(raw[row]!),
    answer: (raw, row) => ({ prediction: toTarget(raw[row]!) }),
    evaluate(y, raw) {
      // Both sides in the target's own units, so RMSE and MAE read in those units.
      const m = regressionMetrics(inTargetUnits(y), inTargetUnits(raw));
      return { problemType: 'regression', metrics: { r2: m.r2, rmse: m.rmse, mae: m.mae } };
    },
    encodeTarget(value) {
      if (value === null || value === undefined) return undefined;
      const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(n) || (log && n <= -1)) return undefined;
      return log ? Math.log1p(n) : n;
    },
    headline: { name: 'r2', score: (y, raw) => regressionMetrics(inTargetUnits(y), inTargetUnits(raw)).r2 },
  };
}
