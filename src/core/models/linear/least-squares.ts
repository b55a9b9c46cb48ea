/**
 * Ordinary least squares on a labelled set, imported by the linear family only when it fits.
 *
 * The rows are never held as one matrix: three passes over blocks of the feature rows
 * accumulate what the fit needs in double precision: the column means, then the cross products
 * of the centred columns (XᵀX and Xᵀy; a row of one-hot features is mostly zeros, and only its
 * non-zero entries are multiplied), then the residuals. The solve is on a features × features
 * matrix, whatever the number of rows.
 *
 * Columns as different as area (thousands) and yes/no flags make XᵀX ill-conditioned, so the
 * system is solved on centred (with an intercept) and scaled columns, with a pseudo-inverse
 * from the symmetric eigendecomposition (a rank-deficient design gets the minimum-norm
 * solution), and the coefficients are mapped back to each feature's own units.
 */
import { UsageError } from '../../errors.js';
import { forEachBlock } from '../../features/feature-rows.js';
import { abortError, type LabelledSet } from '../model-family.js';

/** The fitted coefficients: enough to predict, print and verify a linear model. */
export interface LinearWeights {
  readonly featureNames: readonly string[] | null;
  readonly coefficients: readonly number[];
  readonly intercept: number;
  /** Standard errors of the coefficients, from the fit's residual variance. */
  readonly standardErrors: readonly number[] | null;
}

export interface LeastSquaresOptions {
  readonly signal?: AbortSignal;
  /** Told after each pass over the rows (1 to 3). */
  readonly onPass?: (pass: number, passes: number) => void;
}

/** A column whose values are zero on more than this share of the rows is accumulated sparsely (not shifted by its mean). */
const SPARSE_SHARE = 0.5;

export async function fitLeastSquares(train: LabelledSet, intercept: boolean, options: LeastSquaresOptions = {}): Promise<LinearWeights> {
  const { rows, cols } = train.x;
  const y = train.y;
  if (rows <= cols) {
    throw new UsageError('LINEAR_TOO_FEW_ROWS', `a linear regression on ${cols} features needs more than ${cols} training rows, got ${rows}`);
  }
  const checkAbort = (): void => {
    if (options.signal?.aborted === true) throw abortError(options.signal);
  };

  // Pass 1: column means, and which columns are mostly zero.
  const sum = new Float64Array(cols);
  const zeros = new Float64Array(cols);
  let ySum = 0;
  await forEachBlock(train.x, (block, from, to) => {
    checkAbort();
    for (let r = 0; r < to - from; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) {
        const v = block[base + c]!;
        sum[c]! += v;
        if (v === 0) zeros[c]! += 1;
      }
      ySum += y[from + r]!;
    }
  });
  options.onPass?.(1, 3);
  const mean = new Float64Array(cols);
  for (let c = 0; c < cols; c++) mean[c] = intercept ? sum[c]! / rows : 0;
  const yMean = intercept ? ySum / rows : 0;
  // Rows are accumulated minus `shift`: the mean for dense columns (accurate centring), zero
  // for mostly-zero ones (so that a row's zeros cost nothing); the difference is corrected after.
  const shift = new Float64Array(cols);
  for (let c = 0; c < cols; c++) shift[c] = zeros[c]! > rows * SPARSE_SHARE ? 0 : mean[c]!;

  // Pass 2: cross products of the shifted columns, and with the centred target.
  const cross = new Float64Array(cols * cols);
  const shiftedSum = new Float64Array(cols);
  const xy = new Float64Array(cols);
  let yCentredSum = 0;
  const nonZero = new Int32Array(cols);
  const shifted = new Float64Array(cols);
  await forEachBlock(train.x, (block, from, to) => {
    checkAbort();
    for (let r = 0; r < to - from; r++) {
      const base = r * cols;
      const t = y[from + r]! - yMean;
      yCentredSum += t;
      let n = 0;
      for (let c = 0; c < cols; c++) {
        const v = block[base + c]! - shift[c]!;
        if (v !== 0) {
          nonZero[n++] = c;
          shifted[c] = v;
        }
      }
      for (let a = 0; a < n; a++) {
        const i = nonZero[a]!;
        const vi = shifted[i]!;
        shiftedSum[i]! += vi;
        xy[i]! += vi * t;
        const row = i * cols;
        for (let b = a; b < n; b++) {
          const j = nonZero[b]!;
          cross[row + j]! += vi * shifted[j]!;
        }
      }
    }
  });
  options.onPass?.(2, 3);

  // Centre exactly: Σ(x−m)(x−m)ᵀ = Σ(x−s)(x−s)ᵀ − n·d·dᵀ with d = m − s (d is 0 for the shifted columns).
  const d = new Float64Array(cols);
  for (let c = 0; c < cols; c++) d[c] = intercept ? shiftedSum[c]! / rows : 0;
  const gram = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) {
    for (let j = i; j < cols; j++) {
      const value = cross[i * cols + j]! - rows * d[i]! * d[j]!;
      gram[i * cols + j] = value;
      gram[j * cols + i] = value;
    }
  }
  const scale = new Float64Array(cols);
  for (let c = 0; c < cols; c++) {
    const ss = gram[c * cols + c]!;
    scale[c] = ss > 0 ? Math.sqrt(ss / rows) : 1;
  }
  const a = new Float64Array(cols * cols);
  const g = new Float64Array(cols);
  for (let i = 0; i < cols; i++) {
    g[i] = (xy[i]! - d[i]! * yCentredSum) / scale[i]!;
    for (let j = 0; j < cols; j++) a[i * cols + j] = gram[i * cols + j]! / (scale[i]! * scale[j]!);
  }
  const { values, vectors } = symmetricEigen(a, cols);
  const largest = values.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
  const cutoff = Number.EPSILON * cols * largest;
  const inverse = values.map((v) => (Math.abs(v) > cutoff ? 1 / v : 0));
  // β' = V Λ⁺ Vᵀ g on the scaled columns.
  const projected = new Float64Array(cols);
  for (let k = 0; k < cols; k++) {
    let dot = 0;
    for (let i = 0; i < cols; i++) dot += vectors[i * cols + k]! * g[i]!;
    projected[k] = dot * inverse[k]!;
  }
  const coefficients = new Array<number>(cols);
  for (let c = 0; c < cols; c++) {
    let value = 0;
    for (let k = 0; k < cols; k++) value += vectors[c * cols + k]! * projected[k]!;
    coefficients[c] = value / scale[c]!;
  }
  const fittedIntercept = intercept ? yMean - coefficients.reduce((total, b, c) => total + b * mean[c]!, 0) : 0;

  // Pass 3: the residual variance, for the standard errors.
  let rss = 0;
  await forEachBlock(train.x, (block, from, to) => {
    checkAbort();
    for (let r = 0; r < to - from; r++) {
      const base = r * cols;
      let predicted = fittedIntercept;
      for (let c = 0; c < cols; c++) predicted += coefficients[c]! * block[base + c]!;
      const residual = y[from + r]! - predicted;
      rss += residual * residual;
    }
  });
  options.onPass?.(3, 3);
  const parameters = cols + (intercept ? 1 : 0);
  const variance = rss / (rows - parameters);
  const standardErrors = coefficients.map((_, c) => {
    let diagonal = 0;
    for (let k = 0; k < cols; k++) diagonal += vectors[c * cols + k]! ** 2 * inverse[k]!;
    return Math.sqrt(diagonal * variance) / scale[c]!;
  });
  return { featureNames: train.features.map((f) => f.name), coefficients, intercept: fittedIntercept, standardErrors };
}

/**
 * Eigenvalues and eigenvectors of a symmetric n × n matrix (row-major; destroyed), by cyclic
 * Jacobi rotations: accurate to the matrix's own precision, and quick for the few hundred
 * features a linear model has. `vectors` holds the eigenvectors as columns.
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += a[i]! * a[i]!;
  const tolerance = (Number.EPSILON * Number.EPSILON * norm) / Math.max(1, n * n);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off <= tolerance) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (apq === 0) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}
