import MultivariateLinearRegression from 'ml-regression-multivariate-linear';
import type { FeatureMatrix } from '../../features/pipeline.js';
import type { LinearParams } from '../../tasks/task-spec.js';
import { UsageError } from '../../errors.js';
import type { FitOptions, FitResult, LabelledSet, ModelFamily, ModelFiles, TrainedModel } from '../model-family.js';

/** The fitted coefficients: enough to predict, print and verify a linear model. */
export interface LinearWeights {
  readonly featureNames: readonly string[] | null;
  readonly coefficients: readonly number[];
  readonly intercept: number;
  /** Standard errors of the coefficients (then of the intercept), from the fit's residual variance. */
  readonly standardErrors: readonly number[] | null;
}

const WEIGHTS_FILE = 'linear.json';

function rowsOf(x: FeatureMatrix): number[][] {
  const rows: number[][] = new Array(x.rows);
  for (let r = 0; r < x.rows; r++) rows[r] = Array.from(x.data.subarray(r * x.cols, (r + 1) * x.cols));
  return rows;
}

class LinearModel implements TrainedModel {
  readonly family = 'linear';
  readonly backend = 'js';
  constructor(private readonly weights: LinearWeights) {}

  async predict(x: FeatureMatrix): Promise<Float32Array> {
    const { coefficients, intercept } = this.weights;
    if (x.cols !== coefficients.length) {
      throw new UsageError('MODEL_INPUT_WIDTH', `the linear model expects ${coefficients.length} features, got ${x.cols}`);
    }
    const out = new Float32Array(x.rows);
    for (let r = 0; r < x.rows; r++) {
      let sum = intercept;
      const base = r * x.cols;
      for (let c = 0; c < x.cols; c++) sum += (coefficients[c] as number) * (x.data[base + c] as number);
      out[r] = sum;
    }
    return out;
  }

  async serialize(): Promise<ModelFiles> {
    return new Map([[WEIGHTS_FILE, new TextEncoder().encode(`${JSON.stringify(this.weights, null, 2)}\n`)]]);
  }

  describe(): Record<string, unknown> {
    const names = this.weights.featureNames;
    return {
      intercept: this.weights.intercept,
      coefficients: this.weights.coefficients.map((value, i) => ({
        feature: names?.[i] ?? `x${i}`,
        value,
        ...(this.weights.standardErrors === null ? {} : { standardError: this.weights.standardErrors[i] ?? null }),
      })),
    };
  }

  dispose(): void {}
}

/**
 * Ordinary least squares (ml-regression-multivariate-linear). Runs in double precision on
 * the rows as given; it needs no backend and no epochs.
 */
export const linearFamily: ModelFamily<LinearParams> & {
  fitWithNames(train: LabelledSet, params: LinearParams, featureNames: readonly string[] | null): LinearModel;
} = {
  name: 'linear',

  fitWithNames(train, params, featureNames) {
    const { rows, cols, data } = train.x;
    if (rows <= cols) {
      throw new UsageError('LINEAR_TOO_FEW_ROWS', `a linear regression on ${cols} features needs more than ${cols} training rows, got ${rows}`);
    }
    // Columns as different as area (thousands) and yes/no flags make XᵀX ill-conditioned.
    // Solve on centred (with an intercept) and scaled columns, then map the coefficients back
    // to each feature's own units: the same least-squares fit, computed accurately.
    const centre = new Float64Array(cols);
    const scale = new Float64Array(cols).fill(1);
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let r = 0; r < rows; r++) sum += data[r * cols + c] as number;
      const mean = params.intercept ? sum / rows : 0;
      let ss = 0;
      for (let r = 0; r < rows; r++) ss += ((data[r * cols + c] as number) - mean) ** 2;
      centre[c] = mean;
      scale[c] = ss > 0 ? Math.sqrt(ss / rows) : 1;
    }
    const x: number[][] = new Array(rows);
    for (let r = 0; r < rows; r++) {
      const row = new Array<number>(cols);
      for (let c = 0; c < cols; c++) row[c] = ((data[r * cols + c] as number) - (centre[c] as number)) / (scale[c] as number);
      x[r] = row;
    }
    const mlr = new MultivariateLinearRegression(x, Array.from(train.y, (v) => [v]), { intercept: params.intercept, statistics: true });
    const json = mlr.toJSON() as unknown as { weights: number[][]; summary?: { variables?: { standardError: number }[] } };
    const flat = json.weights.map((w) => w[0] as number);
    const coefficients = Array.from({ length: cols }, (_, c) => (flat[c] as number) / (scale[c] as number));
    const intercept = params.intercept ? (flat[cols] as number) - coefficients.reduce((sum, b, c) => sum + b * (centre[c] as number), 0) : 0;
    const variables = json.summary?.variables;
    const standardErrors = Array.isArray(variables) ? variables.slice(0, cols).map((v, c) => v.standardError / (scale[c] as number)) : null;
    return new LinearModel({ featureNames, coefficients, intercept, standardErrors });
  },

  async fit(train: LabelledSet, _validation: LabelledSet | undefined, params: LinearParams, options: FitOptions): Promise<FitResult> {
    if (options.problemType !== 'regression') {
      throw new UsageError('LINEAR_NEEDS_REGRESSION', 'the linear family fits regressions; use the mlp family for classification');
    }
    const model = linearFamily.fitWithNames(train, params, train.featureNames ?? null);
    await options.onEpoch?.({ epoch: 1, epochs: 1, metrics: {}, elapsedMs: 0, etaMs: 0 });
    return { model, bestEpoch: 1, epochsRun: 1, stoppedEarly: false };
  },

  async load(files: ModelFiles): Promise<TrainedModel> {
    const bytes = files.get(WEIGHTS_FILE);
    if (bytes === undefined) throw new UsageError('BUNDLE_INVALID', `a linear bundle needs model/${WEIGHTS_FILE}`);
    return new LinearModel(JSON.parse(new TextDecoder().decode(bytes)) as LinearWeights);
  },
};
