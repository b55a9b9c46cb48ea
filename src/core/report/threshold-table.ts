import { safeDivide } from '../metrics/metric-input.js';
import { isPositive } from '../metrics/classification.js';

/** How a classifier behaves if the decision threshold were moved. */
export interface ThresholdRow {
  readonly threshold: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Share of rows predicted positive. */
  readonly positiveRate: number;
  readonly accuracy: number;
}

export const DEFAULT_THRESHOLDS: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** Precision, recall, F1, positive rate and accuracy at each threshold (positive when p ≥ t). */
export function thresholdTable(yTrue: ArrayLike<number>, scores: ArrayLike<number>, thresholds: readonly number[] = DEFAULT_THRESHOLDS): ThresholdRow[] {
  return thresholds.map((threshold) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    for (let i = 0; i < yTrue.length; i++) {
      const predicted = isPositive(scores[i]!, threshold);
      if (yTrue[i] === 1) {
        if (predicted) tp++;
        else fn++;
      } else if (predicted) fp++;
      else tn++;
    }
    const n = tp + fp + fn + tn;
    return {
      threshold,
      precision: safeDivide(tp, tp + fp),
      recall: safeDivide(tp, tp + fn),
      f1: safeDivide(2 * tp, 2 * tp + fp + fn),
      positiveRate: safeDivide(tp + fp, n),
      accuracy: safeDivide(tp + tn, n),
    };
  });
}
