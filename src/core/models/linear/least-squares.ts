/** Ordinary least squares on a labelled set, imported by the linear family only when it fits. */
import MultivariateLinearRegression from 'ml-regression-multivariate-linear';
import { UsageError } from '../../errors.js';
import type { LabelledSet } from '../model-family.js';

/** The fitted coefficients: enough to predict, print and verify a linear model. */
export interface LinearWeights {
  readonly featureNames: readonly string[] | null;
  readonly coefficients: readonly number[];
  readonly intercept: number;
  /** Standard errors of the coefficients (then of the intercept), from the fit's residual variance. */
  readonly standardErrors: readonly number[] | null;
}

/**
 * Columns as different as area (thousands) and yes/no flags make XᵀX ill-conditioned. Solve
 * on centred (with an intercept) and scaled columns, then map the coefficients back to each
 * feature's own units: the same least-squares fit, computed accurately.
 */
export function fitLeastSquares(train: LabelledSet, intercept: boolean): LinearWeights {
  const { rows, cols, data } = train.x;
  if (rows <= cols) {
    throw new UsageError('LINEAR_TOO_FEW_ROWS', `a linear regression on ${cols} features needs more than ${cols} training rows, got ${rows}`);
  }
  const centre = new Float64Array(cols);
  const scale = new Float64Array(cols).fill(1);
  for (let c = 0; c < cols; c++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += data[r * cols + c] as number;
    const mean = intercept ? sum / rows : 0;
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
  const mlr = new MultivariateLinearRegression(x, Array.from(train.y, (v) => [v]), { intercept, statistics: true });
  const json = mlr.toJSON() as unknown as { weights: number[][]; summary?: { variables?: { standardError: number }[] } };
  const flat = json.weights.map((w) => w[0] as number);
  const coefficients = Array.from({ length: cols }, (_, c) => (flat[c] as number) / (scale[c] as number));
  const fittedIntercept = intercept ? (flat[cols] as number) - coefficients.reduce((sum, b, c) => sum + b * (centre[c] as number), 0) : 0;
  const variables = json.summary?.variables;
  const standardErrors = Array.isArray(variables) ? variables.slice(0, cols).map((v, c) => v.standardError / (scale[c] as number)) : null;
  return { featureNames: train.features.map((f) => f.name), coefficients, intercept: fittedIntercept, standardErrors };
}

