/**
 * The model-family seam. A family (an MLP on TensorFlow.js, least squares, boosted trees…)
 * owns everything family-specific: its hyper-parameters (defaults, ranges, CLI flags, as
 * data), how it wants its features encoded, `fit`, a fast `load` that every consumer scores
 * through (predict, evaluate, report, serve), and a typed summary for the train output, the
 * manifest and the report. A new family is one folder under `models/` plus one line in
 * `model-families.ts`; nothing outside `models/` names a family.
 */
import type { FeatureRows } from '../features/feature-rows.js';
import type { FeatureInfo, PipelineSpec } from '../features/pipeline-spec.js';
import type { ProblemType } from '../tasks/task-spec.js';
import type { ParamSpecs, ParamValues } from './model-params.js';

/** Files a model contributes to a bundle, by path relative to the bundle's `model/` folder. */
export type ModelFiles = ReadonlyMap<string, Uint8Array>;

export type { FeatureInfo } from '../features/pipeline-spec.js';

/**
 * Training, validation or test rows as a family reads them. The features are not held as one
 * matrix: `x` writes any rows of it into the family's own buffer (a batch, a block, or all of
 * them for a family that wants the whole matrix: `materialize` in features/feature-rows.ts).
 */
export interface LabelledSet {
  readonly x: FeatureRows;
  /** 0/1 for binary classification, the class index for multiclass, the (possibly transformed) target for regression. */
  readonly y: Float32Array;
  /** One entry per matrix column. */
  readonly features: readonly FeatureInfo[];
}

/** One training iteration (an epoch, a boosting round) as progress. */
export interface IterationReport {
  /** 'epoch', 'round'… (singular). */
  readonly unit: string;
  readonly iteration: number;
  /** The most iterations the fit may run. */
  readonly iterations: number;
  /** train_loss, val_loss, val_accuracy, val_auc… logged as the run's metric histories. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  /** Estimated time left if every remaining iteration runs. */
  readonly etaMs: number;
}

export interface FitOptions {
  readonly problemType: ProblemType;
  /** Number of classes (multiclass); 2 for binary, 1 for regression. */
  readonly classes: number;
  readonly seed: number;
  /** A compute backend the user asked for (one of the family's `backends`). */
  readonly backend?: string;
  readonly signal?: AbortSignal;
  /** Called once per iteration; families that fit in one step call it once. */
  readonly onIteration?: (report: IterationReport) => void | Promise<void>;
}

/** A per-feature figure a family reports: a coefficient, a gain importance… */
export interface FeatureWeight {
  readonly feature: string;
  readonly value: number;
  readonly standardError?: number | null;
}

/**
 * What a fitted model says about itself, typed, so the train output, the manifest and the
 * report show it without knowing the family.
 */
export interface ModelSummary {
  /** Iterative fits: how many ran, which was kept, and whether early stopping ended it. */
  readonly iterations?: {
    /** 'epoch', 'round'… (singular; the renderer pluralises). */
    readonly unit: string;
    readonly run: number;
    readonly best: number;
    readonly stoppedEarly: boolean;
  };
  /** One figure per feature, in the family's own terms. */
  readonly featureWeights?: {
    /** Column heading: 'coefficient', 'importance (gain)'. */
    readonly label: string;
    /** What the figures mean, one sentence for the report. */
    readonly description: string;
    /** Regressions with an intercept. */
    readonly intercept?: number;
    readonly values: readonly FeatureWeight[];
  };
  /** Short facts shown as `label: value` (architecture, trees, leaves…). */
  readonly facts: readonly { readonly label: string; readonly value: string }[];
}

export interface FitResult {
  /** The model's files, as the bundle stores them and `load` reads them. */
  readonly files: ModelFiles;
  readonly summary: ModelSummary;
  /** The compute backend it was fitted on ('wasm', 'cpu', 'js'…), recorded with the run. */
  readonly backend: string;
}

/**
 * Turns a feature matrix into raw model outputs: per row, P(positive) (binary), the
 * (transformed) value (regression), or one probability per class (multiclass, row-major).
 * A synchronous scorer may return a view on a buffer the next call overwrites, so callers
 * read the result before they score again.
 */
export interface Scorer {
  /** Which implementation answers ('mlp-simd', 'mlp-js', 'tfjs', 'linear-js', 'gbt-js'), shown by serve. */
  readonly kind: string;
  /** Raw outputs per row. */
  readonly outputs: number;
  /** `features` holds at least `rows` rows (a caller's reusable buffer may be longer). */
  score(features: Float32Array, rows: number): Float32Array | Promise<Float32Array>;
  dispose(): void;
}

export interface LoadOptions {
  /** Width of one feature row, as the bundle's pipeline produces it. */
  readonly width: number;
  /** A compute backend asked for; families without one ignore it. */
  readonly backend?: string;
  /** Told when the family falls back from its fastest scorer, and why. */
  readonly onFallback?: (reason: string) => void;
}

/** One model family. */
export interface ModelFamily {
  readonly name: string;
  /** One line for `--help` and error hints. */
  readonly description: string;
  readonly problemTypes: readonly ProblemType[];
  /** Hyper-parameters as data: defaults, ranges and CLI flags. */
  readonly params: ParamSpecs;
  /** Compute backends a user may force with `--backend` (empty when there is no choice). */
  readonly backends: readonly string[];
  /**
   * Whether `fit` uses a validation set (early stopping). A task inferred for a family that
   * does not holds no training rows out for it. Default true.
   */
  readonly usesValidation?: boolean;
  /** Checks between parameters, once each is valid on its own; one message per problem. */
  checkParams?(params: ParamValues): readonly { readonly param: string; readonly message: string }[];
  /**
   * The task's preprocessing as this family wants it (trees take category codes and keep
   * missing values; least squares with an intercept drops one indicator per category); the
   * identity when absent. `params` are the resolved hyper-parameters of the run.
   */
  adaptFeatures?(spec: PipelineSpec, params: ParamValues): PipelineSpec;
  fit(train: LabelledSet, validation: LabelledSet | undefined, params: ParamValues, options: FitOptions): Promise<FitResult>;
  /** The fast scorer for a bundle's model files. */
  load(files: ModelFiles, options: LoadOptions): Promise<Scorer>;
}

/** The error a fit throws when its AbortSignal fires (the run ends KILLED). */
export function abortError(signal: AbortSignal): Error {
  const error = new Error('training interrupted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}
