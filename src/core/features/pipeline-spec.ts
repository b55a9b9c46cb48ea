/**
 * The preprocessing pipeline as data. A spec says what to do per column; fitting it on
 * training rows gives a FittedPipeline (plain JSON, saved in every bundle) that replays
 * the same transform at prediction time.
 */
import type { DatePart } from './dates.js';

export type ImputeStrategy = 'median' | 'mean' | 'most-frequent' | 'constant';

/** What one-hot encoding does with a category it did not see while fitting. */
export type UnseenCategoryPolicy =
  /** All indicator columns 0 (scikit-learn's handle_unknown="ignore"). */
  | 'ignore'
  /** Encode as the most frequent training category. */
  | 'most-frequent'
  /** Refuse the record. */
  | 'error';

export type FeatureStep =
  | { readonly kind: 'impute'; readonly strategy: ImputeStrategy; readonly value?: string | number }
  | { readonly kind: 'standardize' }
  | { readonly kind: 'log1p' }
  | { readonly kind: 'yes-no'; readonly yes?: readonly string[]; readonly no?: readonly string[] }
  | {
      readonly kind: 'one-hot';
      readonly unseen: UnseenCategoryPolicy;
      /**
       * 'first': no indicator for the first (sorted) category, which encodes as all zeros.
       * Linear models with an intercept need it: a full set of indicators sums to the
       * intercept's column, and the coefficients stop being identifiable.
       */
      readonly drop?: 'first';
    }
  /**
   * A category as its code: the index of the (sorted) training category, as a number, for
   * models that split on categories natively (trees). An unseen category is encoded like a
   * missing value (NaN) and reported.
   */
  | { readonly kind: 'ordinal' }
  /**
   * A date or date-time (text, see dates.ts) as numbers: by default year, month, day of week,
   * day of year and days since 1970-01-01, each standardized on the training rows unless
   * `standardize` is false.
   */
  | { readonly kind: 'date'; readonly parts?: readonly DatePart[]; readonly standardize?: boolean };

export type FeatureStepKind = FeatureStep['kind'];

export interface ColumnTransformSpec {
  readonly column: string;
  /** numeric → one output; categorical → one per category (one-hot); boolean → one (yes-no); date → one per part. */
  readonly type: 'numeric' | 'categorical' | 'boolean' | 'date';
  readonly steps: readonly FeatureStep[];
  /**
   * 'keep': a missing value reaches the model as NaN, for families that learn what to do
   * with it (trees); the column then has no impute step. Default: imputed, or refused.
   */
  readonly missing?: 'keep';
}

export interface PipelineSpec {
  readonly columns: readonly ColumnTransformSpec[];
}

/** A fitted step: the spec plus what was learned from the training rows. */
export type FittedStep =
  | { readonly kind: 'impute'; readonly strategy: ImputeStrategy; readonly value: string | number; readonly imputedInFit: number }
  | { readonly kind: 'standardize'; readonly mean: number; readonly std: number }
  | { readonly kind: 'log1p' }
  | { readonly kind: 'yes-no'; readonly yes: readonly string[]; readonly no: readonly string[] }
  | {
      readonly kind: 'one-hot';
      readonly unseen: UnseenCategoryPolicy;
      readonly categories: readonly string[];
      readonly mostFrequent: string;
      readonly drop?: 'first';
    }
  | { readonly kind: 'ordinal'; readonly categories: readonly string[] }
  /** Per part, the z-score learned on the training rows (mean 0, std 1 when not standardized). */
  | { readonly kind: 'date'; readonly parts: readonly DatePart[]; readonly mean: readonly number[]; readonly std: readonly number[] };

/**
 * Hard bounds a task declares for a numeric input (`"age": {"min": 0, "max": 120}`): a
 * value outside them is refused, naming the field and the bound (exit 2, HTTP 422).
 */
export interface InputBounds {
  readonly min?: number;
  readonly max?: number;
}

/** The smallest and largest value of a numeric input in the training rows (before any transform). */
export interface TrainingRange {
  readonly min: number;
  readonly max: number;
}

export interface FittedColumn {
  readonly column: string;
  readonly type: ColumnTransformSpec['type'];
  readonly steps: readonly FittedStep[];
  /** Missing values pass through as NaN (see ColumnTransformSpec.missing). */
  readonly missing?: 'keep';
  /**
   * Numeric columns: the training rows' range of present values. A value outside it is
   * answered with a warning. Pipelines fitted before ranges were recorded have none.
   */
  readonly range?: TrainingRange;
  /** Numeric columns: the task's hard bounds, enforced at prediction time. */
  readonly bounds?: InputBounds;
  /** Names of the output features this column produces, in order. */
  readonly outputs: readonly string[];
}

export interface FittedPipeline {
  readonly kind: 'mlctl.pipeline';
  readonly version: 1;
  readonly columns: readonly FittedColumn[];
  /** All output feature names, in matrix column order. */
  readonly featureNames: readonly string[];
  /** Rows the pipeline was fitted on. */
  readonly fittedRows: number;
}

/** What `mlctl preprocess` prints: features in and out, and per column what fitting learned. */
export interface PipelineSummary {
  readonly fittedRows: number;
  /** Input columns the pipeline reads. */
  readonly featuresIn: number;
  /** Columns of the feature matrix it produces. */
  readonly featuresOut: number;
  readonly columns: readonly PipelineColumnSummary[];
}

export interface PipelineColumnSummary {
  readonly column: string;
  readonly type: ColumnTransformSpec['type'];
  readonly steps: readonly FeatureStepKind[];
  /** Output features this column produces. */
  readonly outputs: number;
  /** Values missing in the training rows and filled by the impute step (0 without one). */
  readonly imputed: number;
  readonly impute?: { readonly strategy: ImputeStrategy; readonly value: string | number };
  /** Missing values reach the model as NaN. */
  readonly keepsMissing?: boolean;
  /** One-hot and ordinal columns: the fitted categories, sorted, and what happens to an unseen one. */
  readonly categories?: readonly string[];
  readonly unseen?: UnseenCategoryPolicy;
  /** Date columns: the parts it produces. */
  readonly dateParts?: readonly DatePart[];
  /** Standardized columns: the fitted z-score parameters (after any earlier log1p). */
  readonly mean?: number;
  readonly std?: number;
}

/** What one column of the feature matrix holds, for model families that treat columns differently. */
export interface FeatureInfo {
  readonly name: string;
  /**
   * 'numeric': a number (NaN = missing where the column keeps missing values).
   * 'categorical': a category code 0…cardinality-1 as a number (NaN = missing or unseen).
   */
  readonly kind: 'numeric' | 'categorical';
  readonly cardinality?: number;
}
