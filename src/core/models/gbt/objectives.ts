/**
 * Training objectives: each turns raw scores into gradients and hessians of its loss, states
 * its starting raw scores and measures its loss. Raw scores are row-major rows × outputs;
 * gradients and hessians are output-major (output k of row r at k × rows + r), so the tree of
 * output k reads a contiguous slice.
 */

export type GbtObjectiveName = 'binary' | 'regression' | 'multiclass';

export interface GbtObjective {
  readonly name: GbtObjectiveName;
  /** Raw scores per row, which is also trees per boosting round. */
  readonly outputs: number;
  /** Throws a plain Error when a label does not suit the objective. */
  checkLabels(what: string, y: Float32Array): void;
  /** Raw scores of the model before its first tree. */
  baseScores(y: Float32Array): Float64Array;
  /**
   * Fills `grad` and `hess` for `raw`. With `withLoss` it also returns the mean loss of `raw`,
   * computed on the way (cheaper than a separate pass); without, it returns NaN.
   */
  gradients(y: Float32Array, raw: Float64Array, grad: Float64Array, hess: Float64Array, withLoss: boolean): number;
  /** Mean loss of the raw scores: log loss (nats) for classification, mean squared error for regression. */
  loss(y: Float32Array, raw: Float64Array): number;
}

/** Keeps a hessian away from zero, so a pure leaf's value stays finite (−G/H with H > 0). */
const MIN_HESSIAN = 1e-16;

/** Binary log loss on raw log-odds; starts from the log-odds of the training prior. */
export const binaryObjective: GbtObjective = {
  name: 'binary',
  outputs: 1,
  checkLabels(what, y) {
    for (let i = 0; i < y.length; i++) {
      if (y[i] !== 0 && y[i] !== 1) throw new Error(`${what}: binary labels must be 0 or 1, row ${i} has ${y[i]}`);
    }
  },
  baseScores(y) {
    let positives = 0;
    for (let i = 0; i < y.length; i++) positives += y[i]!;
    const prior = Math.min(Math.max(positives / y.length, 1e-15), 1 - 1e-15);
    return Float64Array.of(Math.log(prior / (1 - prior)));
  },
  gradients(y, raw, grad, hess, withLoss) {
    if (!withLoss) {
      // The loss term (a log1p per row) is 40 % of this pass: skipped when nobody reads it.
      for (let r = 0; r < y.length; r++) {
        const p = 1 / (1 + Math.exp(-raw[r]!));
        grad[r] = p - y[r]!;
        hess[r] = Math.max(p * (1 - p), MIN_HESSIAN);
      }
      return Number.NaN;
    }
    let total = 0;
    for (let r = 0; r < y.length; r++) {
      const s = raw[r]!;
      const label = y[r]!;
      const e = Math.exp(-Math.abs(s));
      const p = s >= 0 ? 1 / (1 + e) : e / (1 + e);
      grad[r] = p - label;
      hess[r] = Math.max(p * (1 - p), MIN_HESSIAN);
      total += Math.max(s, 0) - label * s + Math.log1p(e);
    }
    return total / y.length;
  },
  loss(y, raw) {
    let total = 0;
    for (let r = 0; r < y.length; r++) {
      const s = raw[r]!;
      total += Math.max(s, 0) - y[r]! * s + Math.log1p(Math.exp(-Math.abs(s)));
    }
    return total / y.length;
  },
};

/** Squared error; starts from the mean. Gradients are of ½(raw − y)², the loss reported is the MSE. */
export const regressionObjective: GbtObjective = {
  name: 'regression',
  outputs: 1,
  checkLabels(what, y) {
    for (let i = 0; i < y.length; i++) {
      if (!Number.isFinite(y[i]!)) throw new Error(`${what}: regression targets must be finite, row ${i} has ${y[i]}`);
    }
  },
  baseScores(y) {
    let sum = 0;
    for (let i = 0; i < y.length; i++) sum += y[i]!;
    return Float64Array.of(sum / y.length);
  },
  gradients(y, raw, grad, hess) {
    let total = 0;
    for (let r = 0; r < y.length; r++) {
      const error = raw[r]! - y[r]!;
      grad[r] = error;
      hess[r] = 1;
      total += error * error;
    }
    return total / y.length;
  },
  loss(y, raw) {
    let total = 0;
    for (let r = 0; r < y.length; r++) total += (raw[r]! - y[r]!) ** 2;
    return total / y.length;
  },
};

/** Softmax cross-entropy over `classes` classes (labels 0..classes−1); starts from the log class priors. */
export function createMulticlassObjective(classes: number): GbtObjective {
  if (!Number.isInteger(classes) || classes < 2) throw new Error(`multiclass: needs a whole number of classes ≥ 2, got ${classes}`);
  const k = classes;
  const probabilities = new Float64Array(k);
  return {
    name: 'multiclass',
    outputs: k,
    checkLabels(what, y) {
      for (let i = 0; i < y.length; i++) {
        const label = y[i]!;
        if (!(Number.isInteger(label) && label >= 0 && label < k)) throw new Error(`${what}: multiclass labels must be whole numbers 0..${k - 1}, row ${i} has ${label}`);
      }
    },
    baseScores(y) {
      const counts = new Float64Array(k);
      for (let i = 0; i < y.length; i++) counts[y[i]!]! += 1;
      return counts.map((c) => Math.log(Math.max(c / y.length, 1e-15)));
    },
    gradients(y, raw, grad, hess, withLoss) {
      const rows = y.length;
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const base = r * k;
        const label = y[r]!;
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < k; c++) max = Math.max(max, raw[base + c]!);
        let sum = 0;
        for (let c = 0; c < k; c++) {
          const e = Math.exp(raw[base + c]! - max);
          probabilities[c] = e;
          sum += e;
        }
        for (let c = 0; c < k; c++) {
          const p = probabilities[c]! / sum;
          grad[c * rows + r] = c === label ? p - 1 : p;
          hess[c * rows + r] = Math.max(p * (1 - p), MIN_HESSIAN);
        }
        if (withLoss) total += Math.log(sum) + max - raw[base + label]!;
      }
      return withLoss ? total / rows : Number.NaN;
    },
    loss(y, raw) {
      const rows = y.length;
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const base = r * k;
        let max = Number.NEGATIVE_INFINITY;
        for (let c = 0; c < k; c++) max = Math.max(max, raw[base + c]!);
        let sum = 0;
        for (let c = 0; c < k; c++) sum += Math.exp(raw[base + c]! - max);
        total += Math.log(sum) + max - raw[base + y[r]!]!;
      }
      return total / rows;
    },
  };
}

/** The objective for a name; `classes` is required for multiclass. */
export function createObjective(name: GbtObjectiveName, classes?: number): GbtObjective {
  switch (name) {
    case 'binary':
      return binaryObjective;
    case 'regression':
      return regressionObjective;
    case 'multiclass':
      return createMulticlassObjective(classes ?? Number.NaN);
  }
}
