/**
 * The linear family: ordinary least squares (ml-regression-multivariate-linear), in double
 * precision, with standard errors. It needs no backend and no epochs.
 */
import { UsageError } from '../../errors.js';
import type { FitResult, ModelFamily, ModelFiles, Scorer } from '../model-family.js';
import type { ParamValues } from '../model-params.js';
import type { LinearWeights } from './least-squares.js';

const WEIGHTS_FILE = 'linear.json';

function summaryOf(weights: LinearWeights, intercept: boolean): FitResult['summary'] {
  return {
    featureWeights: {
      label: 'coefficient',
      description: 'Change in the target per unit of each feature (after preprocessing).',
      ...(intercept ? { intercept: weights.intercept } : {}),
      values: weights.coefficients.map((value, i) => ({
        feature: weights.featureNames?.[i] ?? `x${i}`,
        value,
        ...(weights.standardErrors === null ? {} : { standardError: weights.standardErrors[i] ?? null }),
      })),
    },
    facts: [{ label: 'fit', value: `ordinary least squares${intercept ? ' with an intercept' : ' through the origin'}` }],
  };
}

function readWeights(files: ModelFiles): LinearWeights {
  const bytes = files.get(WEIGHTS_FILE);
  if (bytes === undefined) throw new UsageError('BUNDLE_INVALID', `a linear bundle needs model/${WEIGHTS_FILE}`);
  const weights = JSON.parse(new TextDecoder().decode(bytes)) as LinearWeights;
  if (!Array.isArray(weights.coefficients) || typeof weights.intercept !== 'number') throw new UsageError('BUNDLE_INVALID', `model/${WEIGHTS_FILE} holds no coefficients`);
  return weights;
}

function createLinearScorer(weights: LinearWeights, width: number): Scorer {
  const coefficients = Float64Array.from(weights.coefficients);
  if (coefficients.length !== width) {
    throw new UsageError('BUNDLE_INVALID', `the linear model has ${coefficients.length} coefficients, the pipeline makes ${width} features`);
  }
  const intercept = weights.intercept;
  let out = new Float32Array(64);
  return {
    kind: 'linear-js',
    outputs: 1,
    score(features, rows) {
      if (out.length < rows) out = new Float32Array(Math.max(rows, out.length * 2));
      for (let r = 0; r < rows; r++) {
        let sum = intercept;
        const base = r * width;
        for (let c = 0; c < width; c++) sum += coefficients[c]! * features[base + c]!;
        out[r] = sum;
      }
      return out.subarray(0, rows);
    },
    dispose: () => {},
  };
}

export const linearFamily: ModelFamily = {
  name: 'linear',
  description: 'ordinary least squares regression',
  problemTypes: ['regression'],
  params: {
    intercept: { type: 'boolean', default: true, description: 'fit an intercept' },
  },
  backends: [],
  usesValidation: false,
  // With an intercept a full set of indicators is collinear with it: drop the first category
  // of every one-hot column (the built-in housing task already does).
  adaptFeatures(spec, params) {
    if (params.intercept !== true) return spec;
    return {
      columns: spec.columns.map((column) => ({
        ...column,
        steps: column.steps.map((step) => (step.kind === 'one-hot' && step.drop === undefined ? { ...step, drop: 'first' as const } : step)),
      })),
    };
  },
  async fit(train, _validation, params: ParamValues, options) {
    const intercept = params.intercept === true;
    const { fitLeastSquares } = await import('./least-squares.js');
    const weights = fitLeastSquares(train, intercept);
    await options.onIteration?.({ unit: 'fit', iteration: 1, iterations: 1, metrics: {}, elapsedMs: 0, etaMs: 0 });
    return {
      files: new Map([[WEIGHTS_FILE, new TextEncoder().encode(`${JSON.stringify(weights, null, 2)}\n`)]]),
      summary: summaryOf(weights, intercept),
      backend: 'js',
    };
  },
  async load(files, options) {
    return createLinearScorer(readWeights(files), options.width);
  },
};
