import type { DataRecord } from '../datasets/dataset-spec.js';
import { calibrationCurve, precisionRecallCurve, rocAuc, rocCurve } from '../metrics/classification.js';
import { thinPoints } from './svg/line-chart.js';
import type { ClassificationAnalysis, RegressionAnalysis } from './run-report-data.js';
import { sliceMetrics } from './slice-metrics.js';
import { thresholdTable } from './threshold-table.js';

export interface ClassificationInput {
  readonly yTrue: ArrayLike<number>;
  readonly scores: ArrayLike<number>;
  /** The evaluated rows, for slices; omit when only predictions are known. */
  readonly records?: readonly DataRecord[];
  readonly sliceColumns?: readonly string[];
  readonly threshold?: number;
  readonly positiveLabel?: string;
  readonly negativeLabel?: string;
}

/** Curves, threshold table and fairness slices of a binary classifier's test predictions. */
export function analyzeClassification(input: ClassificationInput): ClassificationAnalysis {
  const roc = rocCurve(input.yTrue, input.scores);
  const pr = precisionRecallCurve(input.yTrue, input.scores);
  const rocThin = thinPoints(roc.fpr, roc.tpr);
  const prThin = thinPoints(pr.recall, pr.precision);
  let positives = 0;
  for (let i = 0; i < input.yTrue.length; i++) positives += input.yTrue[i] === 1 ? 1 : 0;
  const records = input.records;
  const slices =
    records === undefined
      ? []
      : (input.sliceColumns ?? [])
          .filter((column) => records.some((r) => column in r))
          .map((column) => sliceMetrics(records, input.yTrue, input.scores, column, input.threshold === undefined ? {} : { threshold: input.threshold }));
  return {
    positiveLabel: input.positiveLabel ?? '1',
    negativeLabel: input.negativeLabel ?? '0',
    roc: { fpr: rocThin.x, tpr: rocThin.y, auc: rocAuc(input.yTrue, input.scores) },
    pr: { recall: prThin.x, precision: prThin.y, averagePrecision: pr.averagePrecision, baseRate: positives / input.yTrue.length },
    calibration: calibrationCurve(input.yTrue, input.scores, 10),
    thresholds: thresholdTable(input.yTrue, input.scores),
    slices,
  };
}

export interface RegressionInput {
  readonly target: string;
  /** Truth and predictions in the target's own units. */
  readonly actual: readonly number[];
  readonly predicted: readonly number[];
}

/** Predicted vs actual in the target's units. */
export function analyzeRegression(input: RegressionInput): RegressionAnalysis {
  return { target: input.target, actual: input.actual, predicted: input.predicted };
}
