import type { PipelineSpec } from '../features/pipeline-spec.js';

/**
 * A task is data, not code: dataset, target, problem type, per-column transforms, model
 * family with default hyper-parameters, split, metrics and quality gates. Built-in tasks
 * live in builtin-tasks.ts; `mlctl train --config task.json` reads the same shape.
 */
export interface TaskSpec {
  readonly name: string;
  readonly description: string;
  /** A built-in dataset name, or a path / URL to the user's own CSV. */
  readonly dataset: string;
  readonly problemType: ProblemType;
  readonly target: TargetSpec;
  readonly features: PipelineSpec;
  readonly model: ModelSpec;
  readonly split: SplitSpec;
  /** Metric names reported for the task, headline first. */
  readonly metrics: readonly string[];
  readonly gates: readonly QualityGate[];
}

export type ProblemType = 'binary-classification' | 'regression';

export interface TargetSpec {
  readonly column: string;
  /** Classification: the label counted as positive (1). */
  readonly positiveLabel?: string;
  /** Classification: the label counted as negative (0); anything else is refused. */
  readonly negativeLabel?: string;
  /** Regression: fit on log1p(target) and invert at prediction time. */
  readonly transform?: 'log1p';
}

export interface MlpParams {
  readonly hiddenLayers: readonly number[];
  readonly activation: 'relu' | 'tanh' | 'elu' | 'sigmoid';
  readonly dropout: number;
  readonly optimizer: 'adam' | 'sgd' | 'rmsprop' | 'adagrad';
  readonly learningRate: number;
  readonly batchSize: number;
  readonly epochs: number;
  /** Early stopping: epochs without a val_loss improvement before stopping; best weights restored. */
  readonly patience: number;
  /** 'balanced' weighs classes by inverse frequency. */
  readonly classWeight: 'none' | 'balanced';
  readonly l2: number;
}

export interface LinearParams {
  /** Fit an intercept (ordinary least squares). */
  readonly intercept: boolean;
}

export type ModelSpec =
  | { readonly family: 'mlp'; readonly params: MlpParams }
  | { readonly family: 'linear'; readonly params: LinearParams };

export interface SplitSpec {
  /**
   * 'seeded' (default): mlctl's own seeded shuffle, stratified when asked. 'sklearn': the rows
   * scikit-learn's train_test_split(test_size=test, random_state=seed) picks, for comparing
   * with a Python pipeline on identical rows (test hold-out only).
   */
  readonly method?: 'seeded' | 'sklearn';
  /** Fraction of training rows held out for validation (early stopping). */
  readonly validation: number;
  /** Fraction held out as the test set when the dataset has no test file. */
  readonly test: number;
  readonly stratify: boolean;
  readonly seed: number;
}

/** A metric bound checked after evaluation; failing it exits 4. */
export interface QualityGate {
  readonly metric: string;
  readonly min?: number;
  readonly max?: number;
}
