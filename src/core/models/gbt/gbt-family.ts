/**
 * The gbt family: histogram gradient-boosted trees written in TypeScript (LightGBM and
 * scikit-learn's HistGradientBoosting as references). Trees take raw numbers and category
 * codes, learn where missing values go, and are scored by walking flattened trees in plain
 * JavaScript: nothing here imports TensorFlow.js.
 */
import { UsageError } from '../../errors.js';
import { materialize } from '../../features/feature-rows.js';
import type { ColumnTransformSpec } from '../../features/pipeline-spec.js';
import type { FitResult, LabelledSet, ModelFamily, ModelSummary } from '../model-family.js';
import type { ParamValues } from '../model-params.js';
import type { Booster } from './gbt-booster.js';
import { GBT_PARAMS, type GbtParams } from './gbt-params.js';
import type { GbtDataset } from './gbt-dataset.js';

const BOOSTER_FILE = 'booster.json';

/**
 * Trees need neither imputation nor scaling, and split on categories natively: numeric and
 * yes/no columns keep their missing values (NaN), categorical columns become category codes.
 * Monotone transforms (log1p, standardize) change no split, so they go too, and thresholds
 * read in the column's own units. Date columns keep their parts.
 */
function forTrees(column: ColumnTransformSpec): ColumnTransformSpec {
  switch (column.type) {
    case 'numeric':
      return { column: column.column, type: 'numeric', steps: [], missing: 'keep' };
    case 'categorical':
      return { column: column.column, type: 'categorical', steps: [{ kind: 'ordinal' }], missing: 'keep' };
    case 'boolean':
      return { column: column.column, type: 'boolean', steps: column.steps.filter((step) => step.kind !== 'impute'), missing: 'keep' };
    default:
      return column;
  }
}

/**
 * The engine takes the whole matrix, written from the columnar rows. Trees read category codes
 * and raw numbers (no one-hot), so it is one Float32 per input column and row: 2,000,000
 * Adult-like rows take 112 MB, and the binned copy training works on a quarter of that.
 */
function datasetOf(set: LabelledSet): GbtDataset {
  const { data, rows, cols } = materialize(set.x);
  return { x: data, rows, cols, y: set.y, features: set.features };
}

function summaryOf(booster: Booster, params: GbtParams): ModelSummary {
  const leaves = booster.trees.reduce((sum, tree) => sum + tree.leafValue.length, 0);
  const values = booster.features
    .map((feature, i) => ({ feature: feature.name, value: booster.featureImportance[i]! }))
    .sort((a, b) => b.value - a.value);
  return {
    iterations: { unit: 'round', run: booster.iterationsRun, best: booster.bestIteration, stoppedEarly: booster.iterationsRun < params.trees },
    featureWeights: {
      label: 'importance (gain)',
      description: 'Total loss reduction of the splits on each feature, over the kept trees (LightGBM importance_type="gain").',
      values,
    },
    facts: [
      { label: 'trees', value: `${booster.trees.length} (${booster.bestIteration} rounds × ${booster.outputs} output${booster.outputs === 1 ? '' : 's'}), ${(leaves / Math.max(booster.trees.length, 1)).toFixed(1)} leaves on average` },
      { label: 'boosting', value: `learning rate ${params.learningRate}, up to ${params.maxLeaves} leaves, ${params.minSamplesLeaf} rows a leaf, ${Math.round(params.featureFraction * 100)} % of features per tree` },
    ],
  };
}

export const gbtFamily: ModelFamily = {
  name: 'gbt',
  description: 'gradient-boosted trees (histogram-based, native categorical splits)',
  problemTypes: ['binary-classification', 'multiclass-classification', 'regression'],
  params: GBT_PARAMS,
  backends: [],
  adaptFeatures: (spec) => ({ columns: spec.columns.map(forTrees) }),
  async fit(train, validation, values: ParamValues, options): Promise<FitResult> {
    const [{ trainBooster }, { serializeBooster }] = await Promise.all([import('./train-booster.js'), import('./booster-serialization.js')]);
    const params = values as unknown as GbtParams;
    const started = performance.now();
    // The engine reports synchronously; the caller's handler is async (it logs metrics), so
    // reports are chained in order and waited for before the fit returns or fails.
    let reported: Promise<void> = Promise.resolve();
    const booster = await trainBooster(datasetOf(train), validation === undefined ? undefined : datasetOf(validation), params, {
      objective: options.problemType === 'regression' ? 'regression' : options.problemType === 'multiclass-classification' ? 'multiclass' : 'binary',
      ...(options.problemType === 'multiclass-classification' ? { classes: options.classes } : {}),
      seed: options.seed,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      onIteration: (report) => {
        const elapsedMs = performance.now() - started;
        const metrics: Record<string, number> = { train_loss: report.trainLoss };
        if (report.validationLoss !== undefined) metrics.val_loss = report.validationLoss;
        const iteration = { unit: 'round', iteration: report.iteration, iterations: report.iterations, metrics, elapsedMs, etaMs: (elapsedMs / report.iteration) * (report.iterations - report.iteration) };
        reported = reported.then(() => options.onIteration?.(iteration));
      },
    }).finally(() => reported.catch(() => {}));
    await reported;
    return { files: new Map([[BOOSTER_FILE, serializeBooster(booster)]]), summary: summaryOf(booster, params), backend: 'js' };
  },
  async load(files, options) {
    const [{ parseBooster }, { createBoosterScorer }] = await Promise.all([import('./booster-serialization.js'), import('./booster-scorer.js')]);
    const bytes = files.get(BOOSTER_FILE);
    if (bytes === undefined) throw new UsageError('BUNDLE_INVALID', `a gbt bundle needs model/${BOOSTER_FILE}`);
    let booster: Booster;
    try {
      booster = parseBooster(bytes);
    } catch (error) {
      throw new UsageError('BUNDLE_INVALID', `model/${BOOSTER_FILE} is not a readable gbt model: ${(error as Error).message}`);
    }
    if (booster.features.length !== options.width) {
      throw new UsageError('BUNDLE_INVALID', `the gbt model takes ${booster.features.length} features, the pipeline makes ${options.width}`);
    }
    const scorer = createBoosterScorer(booster);
    // Callers may pass a reusable buffer longer than the rows they score: the scorer reads the first rows.
    return { kind: 'gbt-js', outputs: scorer.outputs, score: scorer.score, dispose: () => {} };
  },
};
