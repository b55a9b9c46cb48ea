/**
 * Binary classification metrics, correct to their textbook definitions and matching
 * scikit-learn's conventions: yTrue holds 0/1, prob the predicted P(positive).
 * Precision, recall and F1 are 0 when undefined (never NaN); ROC AUC is tie-aware and
 * NaN when yTrue holds one class only (it is undefined there; scikit-learn refuses it).
 */
import { UsageError } from '../errors.js';
import { checkBinaryLabels, checkPaired, checkScores, safeDivide } from './metric-input.js';

export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface ClassificationMetrics {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** ROC AUC; NaN when only one class is present. */
  auc: number;
  logLoss: number;
  confusion: ConfusionMatrix;
  /** A row is predicted positive when prob ≥ threshold. */
  threshold: number;
  support: { positive: number; negative: number };
}

export const DEFAULT_THRESHOLD = 0.5;
export const DEFAULT_LOG_LOSS_EPS = 1e-15;

/** The one decision rule every command uses: positive when prob ≥ threshold. */
export function isPositive(prob: number, threshold = DEFAULT_THRESHOLD): boolean {
  return prob >= threshold;
}

export function confusionMatrix(yTrue: ArrayLike<number>, prob: ArrayLike<number>, threshold = DEFAULT_THRESHOLD): ConfusionMatrix {
  checkPaired('confusion matrix', yTrue, prob, 'probabilities');
  checkBinaryLabels('confusion matrix', yTrue);
  checkScores('confusion matrix', prob, false);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const predicted = isPositive(prob[i]!, threshold);
    if (yTrue[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

/** Accuracy, precision, recall, F1 at `threshold` (default 0.5), plus ROC AUC and log loss. */
export function classificationMetrics(yTrue: ArrayLike<number>, prob: ArrayLike<number>, threshold = DEFAULT_THRESHOLD): ClassificationMetrics {
  checkScores('classification metrics', prob, true);
  const confusion = confusionMatrix(yTrue, prob, threshold);
  const { tp, fp, tn, fn } = confusion;
  const precision = safeDivide(tp, tp + fp);
  const recall = safeDivide(tp, tp + fn);
  return {
    accuracy: (tp + tn) / yTrue.length,
    precision,
    recall,
    // 2PR/(P+R) written in counts: the same value, and 0 rather than NaN when tp = 0.
    f1: safeDivide(2 * tp, 2 * tp + fp + fn),
    auc: rocAuc(yTrue, prob),
    logLoss: logLoss(yTrue, prob),
    confusion,
    threshold,
    support: { positive: tp + fn, negative: tn + fp },
  };
}

/**
 * Cumulative true and false positives at each distinct score, scores descending
 * (scikit-learn's _binary_clf_curve): predicting positive every row with score ≥
 * thresholds[k] gives tps[k] true and fps[k] false positives.
 */
function binaryCurve(what: string, yTrue: ArrayLike<number>, prob: ArrayLike<number>) {
  const n = checkPaired(what, yTrue, prob, 'scores');
  const positives = checkBinaryLabels(what, yTrue);
  checkScores(what, prob, false);
  const scores = Float64Array.from(prob);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Compare rather than subtract: Infinity − Infinity is NaN, which would break the sort.
  order.sort((a, b) => (scores[a]! < scores[b]! ? 1 : scores[a]! > scores[b]! ? -1 : 0));
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (yTrue[i] === 1) tp++;
    else fp++;
    const score = scores[i]!;
    // Close a point only after the last row sharing this score: ties move together.
    if (k === n - 1 || scores[order[k + 1]!]! !== score) {
      tps.push(tp);
      fps.push(fp);
      thresholds.push(score);
    }
  }
  return { tps, fps, thresholds, positives, negatives: n - positives };
}

/**
 * ROC AUC by the trapezoid rule over the ROC curve, O(n log n). Tied scores form one
 * diagonal step, which is the average-rank (Mann–Whitney) treatment of ties.
 * NaN when yTrue holds only one class.
 */
export function rocAuc(yTrue: ArrayLike<number>, prob: ArrayLike<number>): number {
  const { tps, fps, positives, negatives } = binaryCurve('ROC AUC', yTrue, prob);
  if (positives === 0 || negatives === 0) return Number.NaN;
  let area = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (let k = 0; k < tps.length; k++) {
    area += (fps[k]! - prevFp) * (tps[k]! + prevTp);
    prevTp = tps[k]!;
    prevFp = fps[k]!;
  }
  return area / (2 * positives * negatives);
}

/** Mean binary cross-entropy in nats, probabilities clipped to [eps, 1 − eps]. */
export function logLoss(yTrue: ArrayLike<number>, prob: ArrayLike<number>, eps = DEFAULT_LOG_LOSS_EPS): number {
  const n = checkPaired('log loss', yTrue, prob, 'probabilities');
  checkBinaryLabels('log loss', yTrue);
  checkScores('log loss', prob, true);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(Math.max(prob[i]!, eps), 1 - eps);
    total -= yTrue[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return total / n;
}

/**
 * The ROC curve, one point per distinct score, thresholds descending. The first point is
 * (0, 0) at threshold Infinity (nothing predicted positive; JSON writes it as null).
 * With no positives tpr is 0 throughout, with no negatives fpr is. `dropIntermediate`
 * leaves out points on straight runs, as scikit-learn's default does.
 */
export function rocCurve(
  yTrue: ArrayLike<number>,
  prob: ArrayLike<number>,
  options: RocCurveOptions = {},
): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  const curve = binaryCurve('ROC curve', yTrue, prob);
  const { positives, negatives } = curve;
  let tps = [0, ...curve.tps];
  let fps = [0, ...curve.fps];
  let thresholds = [Number.POSITIVE_INFINITY, ...curve.thresholds];
  if (options.dropIntermediate === true && tps.length > 2) {
    // scikit-learn's rule: keep the ends and every point where either count changes pace.
    const keep = tps.map((tp, k) => k === 0 || k === tps.length - 1 || tps[k + 1]! - 2 * tp + tps[k - 1]! !== 0 || fps[k + 1]! - 2 * fps[k]! + fps[k - 1]! !== 0);
    tps = tps.filter((_, k) => keep[k]);
    fps = fps.filter((_, k) => keep[k]);
    thresholds = thresholds.filter((_, k) => keep[k]);
  }
  return {
    fpr: fps.map((fp) => safeDivide(fp, negatives)),
    tpr: tps.map((tp) => safeDivide(tp, positives)),
    thresholds,
  };
}

export interface RocCurveOptions {
  /** Leave out points on a straight run of the curve (fewer points to draw, same area). */
  dropIntermediate?: boolean;
}

/** Confusion matrix and rates at one decision threshold: one row of a threshold table. */
export interface ThresholdRow {
  threshold: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusion: ConfusionMatrix;
}

/**
 * Accuracy, precision, recall and F1 at each threshold (default 0.1, 0.2, … 0.9), with the
 * same rule as classificationMetrics (positive when prob ≥ threshold).
 */
export function thresholdTable(
  yTrue: ArrayLike<number>,
  prob: ArrayLike<number>,
  thresholds: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
): ThresholdRow[] {
  return thresholds.map((threshold) => {
    const confusion = confusionMatrix(yTrue, prob, threshold);
    const { tp, fp, tn, fn } = confusion;
    return {
      threshold,
      accuracy: (tp + tn) / yTrue.length,
      precision: safeDivide(tp, tp + fp),
      recall: safeDivide(tp, tp + fn),
      f1: safeDivide(2 * tp, 2 * tp + fp + fn),
      confusion,
    };
  });
}

/**
 * The precision–recall curve, thresholds descending, all arrays the same length. The first
 * point is (recall 0, precision 1) at threshold Infinity, as scikit-learn's last point.
 * averagePrecision = Σ (R_k − R_{k−1}) · P_k (scikit-learn's step-wise definition, no
 * interpolation); 0 when there are no positives.
 */
export function precisionRecallCurve(
  yTrue: ArrayLike<number>,
  prob: ArrayLike<number>,
): { precision: number[]; recall: number[]; thresholds: number[]; averagePrecision: number } {
  const { tps, fps, thresholds, positives } = binaryCurve('precision-recall curve', yTrue, prob);
  const precision = [1];
  const recall = [0];
  let averagePrecision = 0;
  for (let k = 0; k < tps.length; k++) {
    const p = safeDivide(tps[k]!, tps[k]! + fps[k]!);
    const r = safeDivide(tps[k]!, positives);
    averagePrecision += (r - recall[recall.length - 1]!) * p;
    precision.push(p);
    recall.push(r);
  }
  return { precision, recall, thresholds: [Number.POSITIVE_INFINITY, ...thresholds], averagePrecision };
}

/**
 * Reliability diagram data: probabilities binned uniformly on [0, 1] (bin k holds
 * k/bins ≤ p < (k+1)/bins, the last bin includes 1). Empty bins are left out, as in
 * scikit-learn's calibration_curve; `count` says how many rows each bin holds.
 */
export function calibrationCurve(
  yTrue: ArrayLike<number>,
  prob: ArrayLike<number>,
  bins = 10,
): { meanPredicted: number[]; fractionPositive: number[]; count: number[] } {
  const n = checkPaired('calibration curve', yTrue, prob, 'probabilities');
  checkBinaryLabels('calibration curve', yTrue);
  checkScores('calibration curve', prob, true);
  if (!Number.isInteger(bins) || bins < 1) {
    throw new UsageError('METRICS_BINS_INVALID', `calibration curve: bins must be a positive integer, got ${String(bins)}.`);
  }
  const sums = new Float64Array(bins);
  const positives = new Float64Array(bins);
  const counts = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const p = prob[i]!;
    const bin = Math.min(Math.floor(p * bins), bins - 1);
    sums[bin]! += p;
    positives[bin]! += yTrue[i]!;
    counts[bin]! += 1;
  }
  const meanPredicted: number[] = [];
  const fractionPositive: number[] = [];
  const count: number[] = [];
  for (let b = 0; b < bins; b++) {
    const c = counts[b]!;
    if (c === 0) continue;
    meanPredicted.push(sums[b]! / c);
    fractionPositive.push(positives[b]! / c);
    count.push(c);
  }
  return { meanPredicted, fractionPositive, count };
}
