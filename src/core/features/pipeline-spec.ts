/**
 * The preprocessing pipeline as data. A spec says what to do per column; fitting it on
 * training rows gives a FittedPipeline (plain JSON, saved in every bundle) that replays
 * the same transform at prediction time.
 */
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
  | { readonly kind: 'one-hot'; readonly unseen: UnseenCategoryPolicy };

export type FeatureStepKind = FeatureStep['kind'];

export interface ColumnTransformSpec {
  readonly column: string;
  /** numeric → one output; categorical → one per category (one-hot); boolean → one (yes-no). */
  readonly type: 'numeric' | 'categorical' | 'boolean';
  readonly steps: readonly FeatureStep[];
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
    };

export interface FittedColumn {
  readonly column: string;
  readonly type: ColumnTransformSpec['type'];
  readonly steps: readonly FittedStep[];
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
