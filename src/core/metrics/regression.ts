/** Regression metrics with scikit-learn's definitions (r2_score, root MSE, MAE). */
import { checkFinite, checkPaired } from './metric-input.js';

export interface RegressionMetrics {
  /** 1 − SS_res / SS_tot; for a constant yTrue, 1 if predicted exactly, else 0 (scikit-learn's force_finite). */
  r2: number;
  rmse: number;
  mae: number;
  n: number;
}

export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  const n = checkPaired('regression metrics', yTrue, yPred, 'predictions');
  checkFinite('regression metrics', yTrue, 'true value');
  checkFinite('regression metrics', yPred, 'prediction');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += yTrue[i]!;
  const mean = sum / n;
  let squaredError = 0;
  let absoluteError = 0;
  let totalSquares = 0;
  for (let i = 0; i < n; i++) {
    const error = yTrue[i]! - yPred[i]!;
    squaredError += error * error;
    absoluteError += Math.abs(error);
    totalSquares += (yTrue[i]! - mean) ** 2;
  }
  const r2 = totalSquares === 0 ? (squaredError === 0 ? 1 : 0) : 1 - squaredError / totalSquares;
  return { r2, rmse: Math.sqrt(squaredError / n), mae: absoluteError / n, n };
}
