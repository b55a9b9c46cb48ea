/**
 * Multiclass metrics from class probabilities, as scikit-learn defines them: accuracy, macro
 * F1 (the unweighted mean of per-class F1), log loss (probabilities clipped), per-class
 * precision and recall (0 when undefined, never NaN), and the N×N confusion matrix
 * (rows: actual class, columns: predicted class).
 */
import { DEFAULT_LOG_LOSS_EPS } from './classification.js';

export interface MulticlassMetrics {
  readonly accuracy: number;
  readonly macroF1: number;
  readonly logLoss: number;
  readonly perClass: readonly { readonly precision: number; readonly recall: number; readonly f1: number; readonly support: number }[];
  /** confusion[actual][predicted] */
  readonly confusion: readonly (readonly number[])[];
}

/** The class with the highest probability in row `row` (the first on ties). */
export function argmaxRow(probabilities: ArrayLike<number>, row: number, classes: number): number {
  let best = 0;
  const base = row * classes;
  for (let k = 1; k < classes; k++) if (probabilities[base + k]! > probabilities[base + best]!) best = k;
  return best;
}

/** `yTrue` holds class indices 0…classes-1; `probabilities` is rows × classes, row-major. */
export function multiclassMetrics(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>, classes: number): MulticlassMetrics {
  const rows = yTrue.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const actual = yTrue[i]!;
    const predicted = argmaxRow(probabilities, i, classes);
    confusion[actual]![predicted]! += 1;
    if (predicted === actual) correct += 1;
    const p = Math.min(Math.max(probabilities[i * classes + actual]!, DEFAULT_LOG_LOSS_EPS), 1 - DEFAULT_LOG_LOSS_EPS);
    loss -= Math.log(p);
  }
  const perClass = confusion.map((row, k) => {
    const tp = row[k]!;
    const support = row.reduce((a, b) => a + b, 0);
    const predictedK = confusion.reduce((sum, r) => sum + r[k]!, 0);
    const precision = predictedK === 0 ? 0 : tp / predictedK;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { precision, recall, f1, support };
  });
  return {
    accuracy: rows === 0 ? 0 : correct / rows,
    macroF1: perClass.reduce((sum, c) => sum + c.f1, 0) / Math.max(classes, 1),
    logLoss: rows === 0 ? 0 : loss / rows,
    perClass,
    confusion,
  };
}
