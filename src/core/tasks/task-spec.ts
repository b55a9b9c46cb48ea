import type { InputBounds, PipelineSpec } from '../features/pipeline-spec.js';
import type { ParamValue } from '../models/model-params.js';

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
  /**
   * Field values read as missing in the task's CSV; replaces the default list (the empty
   * field, NA, N/A, NaN, null, ? and .). Built-in datasets use their own dialect's markers.
   */
  readonly missing?: readonly string[];
  /**
   * Rows whose target is missing or unparseable: 'drop' (default) leaves them out before the
   * split and reports how many and where; 'error' refuses the data.
   */
  readonly onMissingTarget?: 'drop' | 'error';
  /**
   * Columns never used as features (data minimisation) but kept for the report's fairness
   * slices, read from the evaluated rows.
   */
  readonly sensitive?: readonly string[];
  /** Drift monitoring: the reference profile's bins and the thresholds `mlctl monitor drift` applies. */
  readonly monitoring?: MonitoringSpec;
  /**
   * Hard bounds of numeric inputs, by column: `{"age": {"min": 0, "max": 120}}`. A value
   * outside is refused at prediction time (exit 2, HTTP 422) naming the field and the
   * bound; values outside the training range but inside the bounds are answered with a
   * warning. Kept in the fitted pipeline, so every bundle enforces its own.
   */
  readonly bounds?: Readonly<Record<string, InputBounds>>;
}

export type ProblemType = 'binary-classification' | 'multiclass-classification' | 'regression';

export interface TargetSpec {
  readonly column: string;
  /** Classification: the label counted as positive (1). */
  readonly positiveLabel?: string;
  /** Classification: the label counted as negative (0); anything else is refused. */
  readonly negativeLabel?: string;
  /** Regression: fit on log1p(target) and invert at prediction time. */
  readonly transform?: 'log1p';
}

/**
 * The model: a family from the family table and its hyper-parameters. In a task file the
 * params may be partial (or left out): the family fills its defaults and checks each one.
 * A resolved task (what `--print-task` shows and a run records) has every parameter.
 */
export interface ModelSpec {
  readonly family: string;
  readonly params: Readonly<Record<string, ParamValue>>;
}

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

/**
 * How a task's model is watched for drift. Every field is optional; `mlctl monitor drift`
 * flags override them. By default an input has drifted when its PSI is above 0.2; the
 * Jensen–Shannon distance of categorical inputs is reported, and decides too once a
 * threshold is set for it.
 */
export interface MonitoringSpec {
  /** Quantile bins per numeric input and for a numeric output in the reference profile (2…100; default 10). */
  readonly bins?: number;
  /** PSI above which an input counts as drifted (default 0.2). */
  readonly psiThreshold?: number;
  /** Jensen–Shannon distance (base 2, 0…1) above which a categorical input counts as drifted too (default: none). */
  readonly jsThreshold?: number;
  /** Per-input overrides, by input column name. */
  readonly features?: Readonly<Record<string, DriftThresholdOverride>>;
  /** The model's output distribution (default: psiThreshold). */
  readonly output?: { readonly psi?: number };
}

export interface DriftThresholdOverride {
  readonly psi?: number;
  readonly js?: number;
}

/**
 * A task file as written (schemas/task.schema.json is its JSON Schema): only the data and the
 * target are needed; every section left out is inferred from the data (task-inference.ts)
 * or taken from the task it `extends`. Resolving it gives a complete TaskSpec.
 */
export interface TaskFile {
  readonly $schema?: string;
  /** A built-in task whose sections this file changes (merged in depth). */
  readonly extends?: string;
  readonly name?: string;
  readonly description?: string;
  /** A CSV (relative paths are relative to the task file), or an https:// or s3:// URL. */
  readonly data?: string;
  /** A built-in dataset name (or a CSV, as `data`). */
  readonly dataset?: string;
  /** The column to predict, or the full target section. */
  readonly target?: string | TargetSpec;
  readonly problemType?: ProblemType;
  readonly missing?: readonly string[];
  readonly onMissingTarget?: 'drop' | 'error';
  readonly sensitive?: readonly string[];
  readonly features?: PipelineSpec;
  /** The family defaults to the problem type's; params left out take the family's defaults. */
  readonly model?: { readonly family?: string; readonly params?: Readonly<Record<string, ParamValue>> };
  readonly split?: Partial<SplitSpec>;
  readonly metrics?: readonly string[];
  readonly gates?: readonly QualityGate[];
  readonly monitoring?: MonitoringSpec;
  /** Hard bounds of numeric inputs, by column (TaskSpec.bounds). */
  readonly bounds?: Readonly<Record<string, InputBounds>>;
}
