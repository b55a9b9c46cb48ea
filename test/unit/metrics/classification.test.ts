import { describe, expect, it } from 'vitest';
import {
  calibrationCurve,
  classificationMetrics,
  logLoss,
  precisionRecallCurve,
  rocAuc,
  rocCurve,
  thresholdTable,
} from '../../../src/core/metrics/classification.js';
import { MlctlError } from '../../../src/core/errors.js';

// The running example, scores descending:
//   score 0.9 0.8 0.7 0.4 0.3 0.1
//   label   1   0   1   1   0   0        P = 3 positives, N = 3 negatives
const Y = [1, 0, 1, 1, 0, 0];
const P = [0.9, 0.8, 0.7, 0.4, 0.3, 0.1];

describe('classificationMetrics', () => {
  it('matches the hand-computed confusion matrix and rates at 0.5', () => {
    // prob ≥ 0.5 → predicted positive: 0.9 (y1 TP), 0.8 (y0 FP), 0.7 (y1 TP);
    // below: 0.4 (y1 FN), 0.3 (y0 TN), 0.1 (y0 TN).  TP 2, FP 1, TN 2, FN 1.
    // accuracy (2+2)/6; precision 2/3; recall 2/3; F1 = 2·2/(2·2+1+1) = 2/3.
    const m = classificationMetrics(Y, P);
    expect(m.confusion).toEqual({ tp: 2, fp: 1, tn: 2, fn: 1 });
    expect(m.accuracy).toBeCloseTo(4 / 6, 12);
    expect(m.precision).toBeCloseTo(2 / 3, 12);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    expect(m.support).toEqual({ positive: 3, negative: 3 });
    expect(m.threshold).toBe(0.5);
    // AUC: positive-negative pairs ranked right: 0.9 beats 3, 0.7 beats 2, 0.4 beats 2 → 7/9.
    expect(m.auc).toBeCloseTo(7 / 9, 12);
    // log loss = −(ln .9 + ln .2 + ln .7 + ln .4 + ln .7 + ln .9)/6 = 3.4497994/6.
    expect(m.logLoss).toBeCloseTo(0.5749666, 6);
  });

  it('moves with the threshold: at 0.75 only 0.9 and 0.8 are positive', () => {
    // TP 1 (0.9), FP 1 (0.8), FN 2 (0.7, 0.4), TN 2. precision 1/2, recall 1/3, F1 2/(2+1+2) = 0.4.
    const m = classificationMetrics(Y, P, 0.75);
    expect(m.confusion).toEqual({ tp: 1, fp: 1, tn: 2, fn: 2 });
    expect(m.precision).toBeCloseTo(0.5, 12);
    expect(m.recall).toBeCloseTo(1 / 3, 12);
    expect(m.f1).toBeCloseTo(0.4, 12);
  });

  it('gives 0, not NaN, for precision, recall and F1 when they are undefined', () => {
    // Nothing predicted positive: TP 0, FP 0 → precision 0/0 := 0; recall 0/1 = 0; F1 0.
    const none = classificationMetrics([0, 0, 1], [0.1, 0.2, 0.3]);
    expect(none.confusion).toEqual({ tp: 0, fp: 0, tn: 2, fn: 1 });
    expect([none.precision, none.recall, none.f1]).toEqual([0, 0, 0]);
    // Positive 0.3 outranks both negatives → AUC 1.
    expect(none.auc).toBe(1);

    // No positives at all: recall 0/0 := 0; precision 0/1 = 0; AUC undefined → NaN.
    const noPositives = classificationMetrics([0, 0], [0.1, 0.7]);
    expect([noPositives.precision, noPositives.recall, noPositives.f1]).toEqual([0, 0, 0]);
    expect(noPositives.accuracy).toBe(0.5);
    expect(Number.isNaN(noPositives.auc)).toBe(true);
  });

  it('handles an all-positive set: AUC NaN, the rest defined', () => {
    // y all 1; predicted 0.6, 0.9 positive, 0.2 negative: TP 2, FN 1.
    // precision 2/2 = 1; recall 2/3; F1 = 4/(4+0+1) = 0.8; accuracy 2/3.
    const m = classificationMetrics([1, 1, 1], [0.2, 0.6, 0.9]);
    expect(m.confusion).toEqual({ tp: 2, fp: 0, tn: 0, fn: 1 });
    expect(m.precision).toBe(1);
    expect(m.recall).toBeCloseTo(2 / 3, 12);
    expect(m.f1).toBeCloseTo(0.8, 12);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    expect(Number.isNaN(m.auc)).toBe(true);
  });

  it('refuses labels other than 0/1, mismatched lengths, empty input and probabilities outside [0, 1]', () => {
    const code = (fn: () => unknown): string => {
      try {
        fn();
      } catch (error) {
        return (error as MlctlError).code;
      }
      return 'no error';
    };
    expect(code(() => classificationMetrics([0, 2], [0.1, 0.2]))).toBe('METRICS_LABEL_INVALID');
    expect(code(() => classificationMetrics([0, 1], [0.1]))).toBe('METRICS_LENGTH_MISMATCH');
    expect(code(() => classificationMetrics([], []))).toBe('METRICS_EMPTY');
    expect(code(() => classificationMetrics([0, 1], [0.1, 1.5]))).toBe('METRICS_PROBABILITY_INVALID');
    expect(code(() => rocAuc([0, 1], [0.1, Number.NaN]))).toBe('METRICS_PROBABILITY_INVALID');
  });
});

describe('rocAuc', () => {
  it('gives ties half credit (average rank)', () => {
    // positives {0.5, 0.8}, negatives {0.5, 0.2}: pairs (0.5 vs 0.5) = ½, (0.5 vs 0.2) = 1,
    // (0.8 vs 0.5) = 1, (0.8 vs 0.2) = 1 → 3.5 / 4 = 0.875.
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2])).toBeCloseTo(0.875, 12);
    // Every score tied: every pair ½ → 0.5.
    expect(rocAuc([1, 0, 1, 0, 0], [0.3, 0.3, 0.3, 0.3, 0.3])).toBeCloseTo(0.5, 12);
    // Perfectly wrong ranking → 0.
    expect(rocAuc([1, 1, 0], [0.1, 0.2, 0.9])).toBe(0);
  });

  it('agrees with the Mann-Whitney U statistic on a larger tied sample', () => {
    // Scores on a coarse grid so there are many ties; count pairs by brute force.
    const y: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < 400; i++) {
      y.push((i * 7) % 5 < 2 ? 1 : 0);
      p.push(Math.round(((i * 37) % 101) / 10) / 10);
    }
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < y.length; i++) {
      for (let j = 0; j < y.length; j++) {
        if (y[i] === 1 && y[j] === 0) {
          pairs++;
          wins += p[i]! > p[j]! ? 1 : p[i] === p[j] ? 0.5 : 0;
        }
      }
    }
    expect(rocAuc(y, p)).toBeCloseTo(wins / pairs, 12);
  });

  it('accepts unbounded scores (a ranking, not probabilities)', () => {
    expect(rocAuc([0, 1, 0, 1], [-3, 2.5, 0, 40])).toBe(1);
    // Infinite scores rank like any other: positives ∞ and 1 vs negatives −∞ and 2 → 3 of 4 pairs.
    expect(rocAuc([1, 1, 0, 0], [Number.POSITIVE_INFINITY, 1, Number.NEGATIVE_INFINITY, 2])).toBe(0.75);
  });
});

describe('thresholdTable', () => {
  it('gives the confusion matrix and rates at each threshold', () => {
    // At 0.5 and 0.75: the hand computations in the classificationMetrics tests above.
    // At 0.05 everything is positive: TP 3, FP 3 → precision ½, recall 1, F1 6/9, accuracy ½.
    const rows = thresholdTable(Y, P, [0.05, 0.5, 0.75]);
    expect(rows.map((row) => row.confusion)).toEqual([
      { tp: 3, fp: 3, tn: 0, fn: 0 },
      { tp: 2, fp: 1, tn: 2, fn: 1 },
      { tp: 1, fp: 1, tn: 2, fn: 2 },
    ]);
    expect(rows[0]).toMatchObject({ threshold: 0.05, accuracy: 0.5, precision: 0.5, recall: 1 });
    expect(rows[0]!.f1).toBeCloseTo(2 / 3, 12);
    expect(rows[2]!.f1).toBeCloseTo(0.4, 12);
    expect(thresholdTable(Y, P)).toHaveLength(9);
  });
});

describe('logLoss', () => {
  it('clips probabilities to [1e-15, 1 − 1e-15]', () => {
    // y=1, p=0 → −ln(1e-15) = 15·ln 10 = 34.5387764.
    expect(logLoss([1], [0])).toBeCloseTo(34.5387764, 6);
    // y=0, p=0 → −ln(1 − 1e-15) ≈ 1.1e-15: finite and tiny.
    expect(logLoss([0], [0])).toBeLessThan(1e-14);
    // A custom eps: y=1, p=0, eps 0.01 → −ln 0.01 = 4.6051702.
    expect(logLoss([1], [0], 0.01)).toBeCloseTo(4.6051702, 6);
  });

  it('is the mean binary cross-entropy', () => {
    // −(ln 0.8 + ln(1 − 0.4))/2 = (0.2231436 + 0.5108256)/2 = 0.3669846.
    expect(logLoss([1, 0], [0.8, 0.4])).toBeCloseTo(0.3669846, 6);
  });
});

describe('rocCurve', () => {
  it('lists one point per distinct score, from (0,0) at Infinity', () => {
    // Descending: TP after each score 1,1,2,3,3,3; FP 0,1,1,1,2,3 (P = N = 3).
    const curve = rocCurve(Y, P);
    expect(curve.thresholds).toEqual([Number.POSITIVE_INFINITY, 0.9, 0.8, 0.7, 0.4, 0.3, 0.1]);
    expect(curve.tpr).toEqual([0, 1 / 3, 1 / 3, 2 / 3, 1, 1, 1]);
    expect(curve.fpr).toEqual([0, 0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1]);
  });

  it('merges tied scores into one point', () => {
    // Scores 0.5 (y1), 0.5 (y0), 0.2 (y0): points (0,0), (½,1) at 0.5, (1,1) at 0.2.
    const curve = rocCurve([1, 0, 0], [0.5, 0.5, 0.2]);
    expect(curve.thresholds).toEqual([Number.POSITIVE_INFINITY, 0.5, 0.2]);
    expect(curve.fpr).toEqual([0, 0.5, 1]);
    expect(curve.tpr).toEqual([0, 1, 1]);
  });

  it('drops points on straight runs when asked, keeping the corners', () => {
    // Counts (FP, TP): (0,0) (0,1) (1,1) (1,2) (1,3) (2,3) (3,3). (1,2) sits between (1,1) and
    // (1,3) on equal steps, (2,3) between (1,3) and (3,3): both go.
    const curve = rocCurve(Y, P, { dropIntermediate: true });
    expect(curve.thresholds).toEqual([Number.POSITIVE_INFINITY, 0.9, 0.8, 0.4, 0.1]);
    expect(curve.fpr).toEqual([0, 0, 1 / 3, 1 / 3, 1]);
    expect(curve.tpr).toEqual([0, 1 / 3, 1 / 3, 1, 1]);
  });

  it('encloses the same area with and without the intermediate points', () => {
    const y = Array.from({ length: 300 }, (_, i) => ((i * 13) % 7 < 3 ? 1 : 0));
    const p = Array.from({ length: 300 }, (_, i) => ((i * 29) % 17) / 16);
    const area = (c: { fpr: number[]; tpr: number[] }) =>
      c.fpr.reduce((sum, x, k) => (k === 0 ? 0 : sum + ((x - c.fpr[k - 1]!) * (c.tpr[k]! + c.tpr[k - 1]!)) / 2), 0);
    const full = rocCurve(y, p);
    const thin = rocCurve(y, p, { dropIntermediate: true });
    expect(thin.fpr.length).toBeLessThan(full.fpr.length);
    expect(area(thin)).toBeCloseTo(rocAuc(y, p), 12);
    expect(area(full)).toBeCloseTo(rocAuc(y, p), 12);
  });

  it('keeps tpr at 0 when there are no positives', () => {
    expect(rocCurve([0, 0], [0.3, 0.6]).tpr).toEqual([0, 0, 0]);
  });
});

describe('precisionRecallCurve', () => {
  it('matches hand-computed points and average precision', () => {
    // After each score: TP 1,1,2,3,3,3 of TP+FP 1,2,3,4,5,6.
    // precision 1, 1/2, 2/3, 3/4, 3/5, 1/2; recall 1/3, 1/3, 2/3, 1, 1, 1.
    // AP = Σ ΔR·P = (1/3)·1 + 0·½ + (1/3)·(2/3) + (1/3)·(3/4) = 1/3 + 2/9 + 1/4 = 29/36.
    const curve = precisionRecallCurve(Y, P);
    expect(curve.thresholds).toEqual([Number.POSITIVE_INFINITY, 0.9, 0.8, 0.7, 0.4, 0.3, 0.1]);
    expect(curve.precision).toEqual([1, 1, 1 / 2, 2 / 3, 3 / 4, 3 / 5, 1 / 2]);
    expect(curve.recall).toEqual([0, 1 / 3, 1 / 3, 2 / 3, 1, 1, 1]);
    expect(curve.averagePrecision).toBeCloseTo(29 / 36, 12);
  });

  it('is 0 with no positives and 1 for a perfect ranking', () => {
    expect(precisionRecallCurve([0, 0], [0.2, 0.9]).averagePrecision).toBe(0);
    // Positives 0.9, 0.8 first: precision 1 at recall ½ and 1 → AP 1.
    expect(precisionRecallCurve([1, 1, 0], [0.9, 0.8, 0.1]).averagePrecision).toBe(1);
  });
});

describe('calibrationCurve', () => {
  it('bins probabilities uniformly and leaves out empty bins', () => {
    // 10 bins: [0, .1) holds 0.05 (y0); [.1, .2) holds 0.15 (y0), 0.12 (y1); [.9, 1] holds 0.95, 1.0 (y1, y1).
    // means 0.05, 0.135, 0.975; fractions 0, ½, 1; counts 1, 2, 2.
    const curve = calibrationCurve([0, 0, 1, 1, 1], [0.05, 0.15, 0.12, 0.95, 1.0]);
    expect(curve.count).toEqual([1, 2, 2]);
    expect(curve.fractionPositive).toEqual([0, 0.5, 1]);
    expect(curve.meanPredicted[0]).toBeCloseTo(0.05, 12);
    expect(curve.meanPredicted[1]).toBeCloseTo(0.135, 12);
    expect(curve.meanPredicted[2]).toBeCloseTo(0.975, 12);
  });

  it('takes a bin count', () => {
    // 2 bins: [0, .5) holds 0.1, 0.4 (y0, y1) → mean .25, fraction ½; [.5, 1] holds 0.5 (y1) → .5, 1.
    const curve = calibrationCurve([0, 1, 1], [0.1, 0.4, 0.5], 2);
    expect(curve).toEqual({ meanPredicted: [0.25, 0.5], fractionPositive: [0.5, 1], count: [2, 1] });
    expect(() => calibrationCurve([0], [0.1], 0)).toThrow(/bins/);
  });
});
