import type { ConfusionMatrix } from '../metrics/classification.js';
import type { Evaluation } from '../bundle/output-meaning.js';
import type { ModelSummary as FittedModelSummary } from '../models/model-family.js';
import type { ParamValue, RunStatus } from '../tracking/run-store.js';
import type { PermutationImportance } from './permutation-importance.js';
import type { SliceReport } from './slice-metrics.js';
import type { ThresholdRow } from './threshold-table.js';

/**
 * Everything a run report shows, as plain JSON-able data: collected from the run store and
 * an evaluation (`collect-run-report.ts`), rendered to HTML (`render-run-report.ts`).
 */
export interface RunReportData {
  readonly generatedAt: string;
  readonly mlctlVersion: string;
  /** null when the model is a bundle whose run is not in this store. */
  readonly run: RunSummary | null;
  readonly model: ModelSummary;
  /** Per-epoch metric histories by key (train_loss, val_loss, val_auc…). */
  readonly histories: Readonly<Record<string, readonly HistoryPoint[]>>;
  readonly evaluation: {
    readonly source: string;
    readonly rows: number;
    readonly metrics: Readonly<Record<string, number>>;
    readonly threshold: number | null;
    readonly confusion: ConfusionMatrix | null;
    /** Multiclass: per-class precision and recall, and the N×N confusion matrix. */
    readonly classes?: Evaluation['classes'] | null;
  };
  readonly classification: ClassificationAnalysis | null;
  readonly regression: RegressionAnalysis | null;
  readonly importance: PermutationImportance | null;
  /** What the report could not show and why (e.g. the test rows could not be loaded). */
  readonly limitations?: readonly string[];
}

export interface HistoryPoint {
  readonly step: number;
  readonly value: number;
  readonly timestamp?: number;
}

export interface RunSummary {
  readonly id: string;
  readonly name: string;
  readonly experiment: string;
  readonly status: RunStatus;
  readonly statusDetail?: string;
  readonly startTime: string;
  readonly endTime: string | null;
  readonly durationMs: number | null;
  readonly gitCommit: string | null;
  readonly commandLine: string;
  readonly task: string | null;
  readonly datasetSha256: string | null;
  readonly backend: string | null;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly tags: Readonly<Record<string, string>>;
  /** Final value of every metric the run logged. */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface ModelSummary {
  readonly ref: string;
  readonly bundleDir: string;
  readonly task: string;
  readonly problemType: string;
  readonly modelFamily: string;
  readonly backend: string;
  readonly createdAt: string;
  readonly mlctlVersion: string;
  readonly dataset: { readonly name: string; readonly files: Readonly<Record<string, string>> };
  readonly featureCount: number;
  /** What the model family says about the fitted model: iterations, feature weights, facts. */
  readonly fitted: FittedModelSummary;
}

export interface ClassificationAnalysis {
  readonly positiveLabel: string;
  readonly negativeLabel: string;
  /** Thinned to a few hundred points: enough to draw, small enough to embed. */
  readonly roc: { readonly fpr: readonly number[]; readonly tpr: readonly number[]; readonly auc: number };
  readonly pr: { readonly recall: readonly number[]; readonly precision: readonly number[]; readonly averagePrecision: number; readonly baseRate: number };
  readonly calibration: { readonly meanPredicted: readonly number[]; readonly fractionPositive: readonly number[]; readonly count: readonly number[] };
  readonly thresholds: readonly ThresholdRow[];
  readonly slices: readonly SliceReport[];
}

export interface RegressionAnalysis {
  readonly target: string;
  /** In the target's own units (log1p undone). */
  readonly actual: readonly number[];
  readonly predicted: readonly number[];
}
