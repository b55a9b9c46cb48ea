/**
 * The gradient-boosted trees engine's public surface, for the `gbt` model family: train a
 * Booster from typed arrays, score it fast, save and load it. Everything here is pure (no I/O).
 */
export { trainBooster, type GbtIterationReport, type TrainBoosterOptions } from './train-booster.js';
export { createBoosterScorer, type BoosterScorer } from './booster-scorer.js';
export { parseBooster, serializeBooster, BOOSTER_FORMAT, BOOSTER_FORMAT_VERSION } from './booster-serialization.js';
export { GBT_DEFAULTS, GBT_PARAMS, readGbtParams, type GbtParams } from './gbt-params.js';
export type { Booster, BoosterFeature } from './gbt-booster.js';
export type { GbtDataset, GbtFeature, GbtFeatureKind } from './gbt-dataset.js';
export type { GbtTree } from './gbt-tree.js';
export type { GbtObjectiveName } from './objectives.js';
