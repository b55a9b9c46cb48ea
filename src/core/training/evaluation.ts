import { classificationMetrics, type ConfusionMatrix } from '../metrics/classification.js';
import { regressionMetrics } from '../metrics/regression.js';
import type { ProblemType } from '../tasks/task-spec.js';

/** Metrics of a model on labelled rows, named as runs, gates and filters use them. */
export interface Evaluation {
  readonly problemType: ProblemType;
  /** accuracy, auc, precision, recall, f1, log_loss — or r2, rmse, mae. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly confusion?: ConfusionMatrix;
  readonly threshold?: number;
}

/**
 * Scores predictions against truth. For a regression fitted on log1p(target), both sides are
 * mapped back to the target's own units first, so RMSE and MAE read in those units.
 */
export function evaluatePredictions(
  problemType: ProblemType,
  yTrue: Float32Array,
  predictions: Float32Array,
  targetTransform?: 'log1p',
  threshold = 0.5,
): Evaluation {
  if (problemType === 'regression') {
    const invert = targetTransform === 'log1p' ? (v: number) => Math.expm1(v) : (v: number) => v;
    const m = regressionMetrics(yTrue.map(invert), predictions.map(invert));
    return { problemType, metrics: { r2: m.r2, rmse: m.rmse, mae: m.mae } };
  }
  const m = classificationMetrics(yTrue, predictions, threshold);
  return {
    problemType,
    metrics: { accuracy: m.accuracy, auc: m.auc, precision: m.precision, recall: m.recall, f1: m.f1, log_loss: m.logLoss },
    confusion: m.confusion,
    threshold,
  };
}
