import type { DataRecord } from '../datasets/dataset-spec.js';
import { isPositive } from '../metrics/classification.js';
import { safeDivide } from '../metrics/metric-input.js';

/** The fairness measures compared between groups. */
export const SLICE_MEASURES = ['positiveRate', 'tpr', 'fpr', 'accuracy'] as const;
export type SliceMeasure = (typeof SLICE_MEASURES)[number];

export const SLICE_MEASURE_LABELS: Readonly<Record<SliceMeasure, string>> = {
  positiveRate: 'positive rate',
  tpr: 'TPR (recall)',
  fpr: 'FPR',
  accuracy: 'accuracy',
};

/** A classifier's behaviour on the rows of one group (sex = Female). */
export interface SliceGroup extends Readonly<Record<SliceMeasure, number>> {
  readonly value: string;
  readonly rows: number;
  /** Share of the group's rows that are actually positive. */
  readonly baseRate: number;
  /** Too few rows for its rates to be compared: left out of the gaps. */
  readonly small: boolean;
}

export interface SliceGap {
  readonly measure: SliceMeasure;
  /** max − min over the groups that are not small. */
  readonly gap: number;
  readonly highest: { readonly group: string; readonly value: number };
  readonly lowest: { readonly group: string; readonly value: number };
}

export interface SliceReport {
  readonly column: string;
  readonly groups: readonly SliceGroup[];
  /** One per measure, largest first; empty with fewer than two comparable groups. */
  readonly gaps: readonly SliceGap[];
  /** The largest gap of all: what a reader should look at first. */
  readonly largestGap: SliceGap | null;
  /** min/max positive rate (the "80 % rule" reads it against 0.8); null when undefined. */
  readonly disparateImpact: number | null;
}

export interface SliceOptions {
  readonly threshold?: number;
  /** Groups with fewer rows are shown but not compared (their rates are noise). Default 30. */
  readonly minRows?: number;
}

/**
 * Metrics per value of `column` and the gaps between groups: positive rate (demographic
 * parity), TPR (equal opportunity), FPR and accuracy. Missing values form their own group.
 */
export function sliceMetrics(
  records: readonly DataRecord[],
  yTrue: ArrayLike<number>,
  scores: ArrayLike<number>,
  column: string,
  options: SliceOptions = {},
): SliceReport {
  const threshold = options.threshold ?? 0.5;
  const minRows = options.minRows ?? 30;
  const counts = new Map<string, { tp: number; fp: number; tn: number; fn: number }>();
  for (let i = 0; i < records.length; i++) {
    const raw = records[i]![column];
    const key = raw === null || raw === undefined || raw === '' ? '(missing)' : String(raw);
    const c = counts.get(key) ?? { tp: 0, fp: 0, tn: 0, fn: 0 };
    const predicted = isPositive(scores[i]!, threshold);
    if (yTrue[i] === 1) {
      if (predicted) c.tp++;
      else c.fn++;
    } else if (predicted) c.fp++;
    else c.tn++;
    counts.set(key, c);
  }
  const groups: SliceGroup[] = [...counts]
    .map(([value, c]) => {
      const rows = c.tp + c.fp + c.tn + c.fn;
      return {
        value,
        rows,
        baseRate: safeDivide(c.tp + c.fn, rows),
        positiveRate: safeDivide(c.tp + c.fp, rows),
        tpr: safeDivide(c.tp, c.tp + c.fn),
        fpr: safeDivide(c.fp, c.fp + c.tn),
        accuracy: safeDivide(c.tp + c.tn, rows),
        small: rows < minRows,
      };
    })
    .sort((a, b) => b.rows - a.rows || (a.value < b.value ? -1 : 1));
  const comparable = groups.filter((g) => !g.small);
  const gaps: SliceGap[] = [];
  if (comparable.length >= 2) {
    for (const measure of SLICE_MEASURES) {
      let highest = comparable[0]!;
      let lowest = comparable[0]!;
      for (const g of comparable) {
        if (g[measure] > highest[measure]) highest = g;
        if (g[measure] < lowest[measure]) lowest = g;
      }
      gaps.push({
        measure,
        gap: highest[measure] - lowest[measure],
        highest: { group: highest.value, value: highest[measure] },
        lowest: { group: lowest.value, value: lowest[measure] },
      });
    }
    gaps.sort((a, b) => b.gap - a.gap);
  }
  const positiveRateGap = gaps.find((g) => g.measure === 'positiveRate');
  return {
    column,
    groups,
    gaps,
    largestGap: gaps[0] ?? null,
    disparateImpact: positiveRateGap === undefined || positiveRateGap.highest.value === 0 ? null : positiveRateGap.lowest.value / positiveRateGap.highest.value,
  };
}
