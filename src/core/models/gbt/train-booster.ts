/**
 * Gradient boosting: the public entry that trains a Booster from a GbtDataset.
 *
 * Each round computes the objective's gradients at the current raw scores, grows one tree per
 * output on a seeded row sample with a seeded feature sample, and adds the tree's leaf values
 * to the raw scores of the training rows (the grown-on rows through their leaves, the others
 * and the validation rows through the raw-unit tree). With a validation set and
 * `earlyStoppingRounds` > 0, training stops after that many rounds without a lower validation
 * loss and only the rounds up to the best one are kept.
 */
import { createRng } from '../../random.js';
import { binDataset, fitBinMapper, type BinMapper } from './binning.js';
import { createBooster, featureCardinalities, type Booster, type BoosterFeature } from './gbt-booster.js';
import { checkDatasetShape, type GbtDataset } from './gbt-dataset.js';
import type { GbtParams } from './gbt-params.js';
import { leafOf, type GbtTree } from './gbt-tree.js';
import { createObjective, type GbtObjectiveName } from './objectives.js';
import { selectFeatures } from './histogram.js';
import { TreeGrower } from './tree-grower.js';

export interface GbtIterationReport {
  /** Rounds done so far, 1-based. */
  readonly iteration: number;
  /** The most rounds this run can take (params.trees). */
  readonly iterations: number;
  /** Mean training loss after this round (log loss for classification, MSE for regression), over all training rows. */
  readonly trainLoss: number;
  /** The same on the validation set, or undefined without one. */
  readonly validationLoss: number | undefined;
}

export interface TrainBoosterOptions {
  readonly objective: GbtObjectiveName;
  /** Number of classes, for multiclass (labels 0..classes−1). */
  readonly classes?: number;
  /** Seeds binning's subsample and the row and feature samples: same seed, same booster. */
  readonly seed: number;
  /** Checked before every tree; training then throws an Error named AbortError. */
  readonly signal?: AbortSignal;
  /** Called once per round, synchronously; keep it cheap (throttle there if needed). */
  readonly onIteration?: (report: GbtIterationReport) => void;
}

/** Longest stretch of synchronous work between two yields to the event loop (a SIGINT handler can then run). */
const YIELD_EVERY_MS = 25;

/**
 * Trains a booster. Throws a plain Error when the data do not fit the objective (labels,
 * shapes) and an Error named AbortError when `signal` aborts. Params are taken as given: run
 * them through readGbtParams (the family seam's resolveParams) first.
 */
export async function trainBooster(train: GbtDataset, validation: GbtDataset | undefined, params: GbtParams, options: TrainBoosterOptions): Promise<Booster> {
  const objective = createObjective(options.objective, options.classes);
  checkDatasetShape('training set', train);
  objective.checkLabels('training set', train.y);
  if (validation !== undefined) {
    checkDatasetShape('validation set', validation, train.cols);
    objective.checkLabels('validation set', validation.y);
  }
  throwIfAborted(options.signal);

  const seed = options.seed;
  const mapper = fitBinMapper(train, params.maxBins, seed);
  const binned = binDataset(mapper, train.x, train.rows, train.cols);
  const features = boosterFeatures(train, mapper);
  const cardinality = featureCardinalities(features);
  const grower = new TreeGrower(mapper, binned, train.rows, train.cols, params);
  const rng = createRng(seed);
  const k = objective.outputs;
  const rows = train.rows;

  const baseScores = objective.baseScores(train.y);
  const raw = filledScores(rows, baseScores);
  const validationRaw = validation === undefined ? undefined : filledScores(validation.rows, baseScores);
  const grad = new Float64Array(rows * k);
  const hess = new Float64Array(rows * k);
  const sampled = new Uint8Array(rows);
  const sampleRows = params.rowFraction < 1 ? new Uint32Array(rows) : null;
  const allFeatures = selectFeatures(mapper, Int32Array.from({ length: train.cols }, (_, i) => i));

  const trees: GbtTree[] = [];
  const earlyStopping = validation !== undefined && params.earlyStoppingRounds > 0;
  let bestLoss = Number.POSITIVE_INFINITY;
  let bestRound = 0;
  let roundsRun = 0;
  let pending: { iteration: number; validationLoss: number | undefined } | undefined;
  let lastYield = performance.now();

  for (let round = 0; round < params.trees; round++) {
    // The gradient pass also gives the training loss of the previous round's model, when reported.
    const trainLoss = objective.gradients(train.y, raw, grad, hess, options.onIteration !== undefined);
    if (pending !== undefined) report(options, params, pending, trainLoss);

    const sample = sampleRows === null ? null : drawRows(rows, params.rowFraction, rng, sampled, sampleRows);
    for (let output = 0; output < k; output++) {
      throwIfAborted(options.signal);
      const active = params.featureFraction < 1 ? selectFeatures(mapper, drawFeatures(train.cols, params.featureFraction, rng)) : allFeatures;
      const tree = grower.grow(grad.subarray(output * rows, (output + 1) * rows), hess.subarray(output * rows, (output + 1) * rows), sample, active);
      grower.addLeafValues(raw, k, output);
      if (sample !== null) addTreeToRows(tree, cardinality, train, raw, k, output, sampled);
      if (validation !== undefined) addTreeToRows(tree, cardinality, validation, validationRaw!, k, output, null);
      trees.push(tree);
    }
    roundsRun = round + 1;

    const validationLoss = validation === undefined ? undefined : objective.loss(validation.y, validationRaw!);
    pending = { iteration: roundsRun, validationLoss };
    if (validationLoss !== undefined && validationLoss < bestLoss) {
      bestLoss = validationLoss;
      bestRound = roundsRun;
    }
    if (earlyStopping && roundsRun - bestRound >= params.earlyStoppingRounds) break;
    if (performance.now() - lastYield >= YIELD_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(options.signal);
      lastYield = performance.now();
    }
  }
  if (pending !== undefined) report(options, params, pending, objective.loss(train.y, raw));

  const kept = earlyStopping ? bestRound : roundsRun;
  return createBooster({
    objective: objective.name,
    outputs: k,
    features,
    baseScores,
    trees: trees.slice(0, kept * k),
    bestIteration: kept,
    iterationsRun: roundsRun,
    params,
  });
}

function report(options: TrainBoosterOptions, params: GbtParams, pending: { iteration: number; validationLoss: number | undefined }, trainLoss: number): void {
  options.onIteration?.({ iteration: pending.iteration, iterations: params.trees, trainLoss, validationLoss: pending.validationLoss });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) {
    const error = new Error('gradient boosting was interrupted', { cause: signal.reason });
    error.name = 'AbortError';
    throw error;
  }
}

function boosterFeatures(train: GbtDataset, mapper: BinMapper): BoosterFeature[] {
  return train.features.map((feature, c) => {
    const bins = mapper.features[c]!;
    return bins.kind === 'categorical' ? { name: feature.name, kind: 'categorical', cardinality: bins.cardinality } : { name: feature.name, kind: 'numeric' };
  });
}

function filledScores(rows: number, baseScores: Float64Array): Float64Array {
  const k = baseScores.length;
  const raw = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) raw.set(baseScores, r * k);
  return raw;
}

/** Adds the tree's outputs to the raw scores of the rows of `data` (only those with skip[r] = 0 when given). */
function addTreeToRows(tree: GbtTree, cardinality: Int32Array, data: GbtDataset, raw: Float64Array, stride: number, offset: number, skip: Uint8Array | null): void {
  const { x, cols, rows } = data;
  const values = tree.leafValue;
  for (let r = 0; r < rows; r++) {
    if (skip !== null && skip[r] === 1) continue;
    raw[r * stride + offset]! += values[leafOf(tree, cardinality, x, r * cols)]!;
  }
}

/**
 * A Bernoulli sample of the rows, each kept with probability `fraction` (at least one row),
 * ascending, as a view of `picked`; `sampled` is set to 1 for the rows taken and 0 for the others.
 */
function drawRows(rows: number, fraction: number, rng: () => number, sampled: Uint8Array, picked: Uint32Array): Uint32Array {
  let n = 0;
  for (let r = 0; r < rows; r++) {
    const take = rng() < fraction;
    sampled[r] = take ? 1 : 0;
    if (take) picked[n++] = r;
  }
  if (n === 0) {
    const r = Math.floor(rng() * rows);
    sampled[r] = 1;
    picked[n++] = r;
  }
  return picked.subarray(0, n);
}

/** max(1, round(cols × fraction)) distinct features, ascending. */
function drawFeatures(cols: number, fraction: number, rng: () => number): Int32Array {
  const take = Math.max(1, Math.round(cols * fraction));
  const all = Int32Array.from({ length: cols }, (_, i) => i);
  for (let i = 0; i < take; i++) {
    const j = i + Math.floor(rng() * (cols - i));
    const held = all[i]!;
    all[i] = all[j]!;
    all[j] = held;
  }
  return all.subarray(0, take).sort();
}
