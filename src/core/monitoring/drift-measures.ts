/**
 * Distances between two binned distributions, given as counts over the same bins.
 *
 * PSI (population stability index) = Σ (c_i − r_i) · ln(c_i / r_i) over the bins' shares r
 * (reference) and c (current). A bin empty on either side would make it infinite, so both
 * sides are smoothed first: every share gets ε = 1e-4 added and the shares are renormalised,
 * (n_i / N + ε) / (1 + kε) for k bins. An empty bin then weighs as one row in ten thousand:
 * through its own bin, a category never seen in training adds about 0.05 when it takes 1 %
 * of the new rows, and about 9 when it takes them all.
 *
 * The Jensen–Shannon distance is the square root of the Jensen–Shannon divergence in bits,
 * symmetric and bounded by 0 and 1; it needs no smoothing (0 · log 0 = 0).
 */

/** Added to every bin's share before PSI (see the module comment). */
export const PSI_EPSILON = 1e-4;

/**
 * Each bin's share of the total, smoothed by `epsilon` and renormalised. An all-zero vector
 * has no shape to compare: its shares are uniform.
 */
export function smoothedShares(counts: ArrayLike<number>, epsilon = PSI_EPSILON): Float64Array {
  const k = counts.length;
  const shares = new Float64Array(k);
  let total = 0;
  for (let i = 0; i < k; i++) total += counts[i]!;
  if (!(total > 0)) return shares.fill(k === 0 ? 0 : 1 / k);
  const norm = 1 + k * epsilon;
  for (let i = 0; i < k; i++) shares[i] = (counts[i]! / total + epsilon) / norm;
  return shares;
}

/** PSI between reference and current counts over the same bins: ≥ 0, finite, 0 for identical shares. */
export function populationStabilityIndex(reference: ArrayLike<number>, current: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  checkSameBins(reference, current);
  const r = smoothedShares(reference, epsilon);
  const c = smoothedShares(current, epsilon);
  let psi = 0;
  for (let i = 0; i < r.length; i++) psi += (c[i]! - r[i]!) * Math.log(c[i]! / r[i]!);
  // Each term is ≥ 0 in exact arithmetic; rounding must not make identical shares read −1e-17.
  return psi > 0 ? psi : 0;
}

/** Jensen–Shannon distance (base 2) between reference and current counts: in [0, 1]. */
export function jensenShannonDistance(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  checkSameBins(reference, current);
  const p = smoothedShares(reference, 0);
  const q = smoothedShares(current, 0);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i]! + q[i]!) / 2;
    if (p[i]! > 0) divergence += 0.5 * p[i]! * Math.log2(p[i]! / m);
    if (q[i]! > 0) divergence += 0.5 * q[i]! * Math.log2(q[i]! / m);
  }
  // Rounding can leave the divergence a hair outside [0, 1].
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

function checkSameBins(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`distributions over different bins: ${a.length} and ${b.length}`);
}
