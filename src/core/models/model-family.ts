import type { FeatureMatrix } from '../features/pipeline.js';
import type { ProblemType } from '../tasks/task-spec.js';

/** Files a model contributes to a bundle, by path relative to the bundle's `model/` folder. */
export type ModelFiles = ReadonlyMap<string, Uint8Array>;

export interface LabelledSet {
  readonly x: FeatureMatrix;
  /** 0/1 for classification, the (possibly transformed) target for regression. */
  readonly y: Float32Array;
  /** Names of the matrix columns, for models that report per-feature figures. */
  readonly featureNames?: readonly string[];
}

export interface EpochReport {
  readonly epoch: number;
  readonly epochs: number;
  /** loss, accuracy, val_loss, val_accuracy, val_auc… */
  readonly metrics: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  /** Estimated time left if every remaining epoch runs. */
  readonly etaMs: number;
}

export interface FitOptions {
  readonly problemType: ProblemType;
  readonly seed: number;
  /** Forced TensorFlow.js backend; ignored by families that do not use it. */
  readonly backend?: string;
  readonly signal?: AbortSignal;
  readonly onEpoch?: (report: EpochReport) => void | Promise<void>;
}

export interface FitResult {
  readonly model: TrainedModel;
  /** Epoch whose weights were kept (early stopping restores the best). */
  readonly bestEpoch: number;
  readonly epochsRun: number;
  readonly stoppedEarly: boolean;
}

/** A fitted model, whatever its family. */
export interface TrainedModel {
  readonly family: string;
  /** The compute backend it runs on (TensorFlow.js backend, or "js"). */
  readonly backend: string;
  /** P(positive) per row for classification; the prediction for regression. */
  predict(x: FeatureMatrix): Promise<Float32Array>;
  serialize(): Promise<ModelFiles>;
  /** JSON-able description for the manifest (architecture, coefficients…). */
  describe(): Record<string, unknown>;
  dispose(): void;
}

/** One model family (an MLP on TensorFlow.js, a linear regression…). */
export interface ModelFamily<P> {
  readonly name: string;
  fit(train: LabelledSet, validation: LabelledSet | undefined, params: P, options: FitOptions): Promise<FitResult>;
  load(files: ModelFiles, description: Record<string, unknown>, options: { backend?: string }): Promise<TrainedModel>;
}
