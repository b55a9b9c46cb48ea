/** The trained model: an ensemble of raw-unit trees and what is needed to score and describe it. */
import type { GbtFeatureKind } from './gbt-dataset.js';
import type { GbtParams } from './gbt-params.js';
import type { GbtTree } from './gbt-tree.js';
import type { GbtObjectiveName } from './objectives.js';

/** A feature as the booster knows it; categorical features always carry their cardinality. */
export interface BoosterFeature {
  readonly name: string;
  readonly kind: GbtFeatureKind;
  /** Categorical only: codes 0..cardinality−1 are known, any other value is missing. */
  readonly cardinality?: number;
}

export interface Booster {
  readonly objective: GbtObjectiveName;
  /** Raw scores per row: 1 for binary and regression, the number of classes for multiclass. */
  readonly outputs: number;
  readonly features: readonly BoosterFeature[];
  /** Raw score of each output before any tree (log-odds of the prior, the mean, log class priors). */
  readonly baseScores: Float64Array;
  /** Round-major: the tree for output k of round i is trees[i × outputs + k]. Only the kept rounds. */
  readonly trees: readonly GbtTree[];
  /** Rounds kept: the best validation round when early stopping chose one, else every round run. */
  readonly bestIteration: number;
  /** Rounds trained before stopping. */
  readonly iterationsRun: number;
  /** Total split gain of each feature over the kept trees (LightGBM importance_type='gain'). */
  readonly featureImportance: Float64Array;
  /** The parameters it was trained with. */
  readonly params: GbtParams;
}

/** The fields a booster is made of; importance is derived from the trees. */
export type BoosterParts = Omit<Booster, 'featureImportance'>;

export function createBooster(parts: BoosterParts): Booster {
  return Object.freeze({ ...parts, featureImportance: gainImportance(parts.trees, parts.features.length) });
}

/** Sum of split gains per feature. */
export function gainImportance(trees: readonly GbtTree[], features: number): Float64Array {
  const importance = new Float64Array(features);
  for (const tree of trees) {
    for (let node = 0; node < tree.feature.length; node++) importance[tree.feature[node]!]! += tree.gain[node]!;
  }
  return importance;
}

/** Categorical cardinalities per feature (0 for numeric features), as the tree walkers take them. */
export function featureCardinalities(features: readonly BoosterFeature[]): Int32Array {
  return Int32Array.from(features, (f) => (f.kind === 'categorical' ? (f.cardinality ?? 0) : 0));
}
