/**
 * Maps raw feature values to small integer bins, fitted on the training rows only.
 *
 * Numeric: at most `maxBins` value bins. With few distinct values each gets its own bin and
 * the edges are the midpoints between neighbours; otherwise the edges are quantiles
 * (scikit-learn's `_find_binning_thresholds`, percentile "midpoint" method, on a seeded
 * subsample of at most 200,000 rows). Edges are rounded to Float32 so that, for any Float32
 * input v, `bin(v) ≤ t` exactly when `v ≤ edges[t]`: a tree can store the edge as its
 * threshold in raw units and the scorer needs no bins.
 *
 * Categorical: each code seen in training gets its own bin (in code order). Beyond `maxBins`
 * distinct codes, only the most frequent `maxBins` keep a bin; rarer codes, codes unseen in
 * training, codes ≥ cardinality and non-integer codes all share the missing bin.
 *
 * Every feature's missing bin (NaN) is bin number `valueBins`, after its value bins.
 */
import { createRng } from '../../random.js';
import type { GbtDataset } from './gbt-dataset.js';

/** Rows used to find quantile edges; more rows cost time and hardly move the quantiles. */
export const BINNING_SUBSAMPLE = 200_000;

export interface NumericBins {
  readonly kind: 'numeric';
  /** Value bins; bin `valueBins` holds the missing values. */
  readonly valueBins: number;
  /** valueBins − 1 ascending Float32-exact edges: v is in the first bin b with v ≤ edges[b], else in the last. */
  readonly edges: Float64Array;
}

export interface CategoricalBins {
  readonly kind: 'categorical';
  readonly valueBins: number;
  /** Codes run 0..cardinality−1; anything else is missing. */
  readonly cardinality: number;
  /** Bin of each code; −1 sends the code to the missing bin. */
  readonly codeToBin: Int32Array;
  /** The code of each value bin. */
  readonly binToCode: Int32Array;
}

export type FeatureBins = NumericBins | CategoricalBins;

export interface BinMapper {
  readonly features: readonly FeatureBins[];
  /** First histogram slot of each feature; a feature has valueBins + 1 slots (the last is missing). */
  readonly offsets: Int32Array;
  /** Histogram slots over all features. */
  readonly totalSlots: number;
}

/** Fits the bins of every column of `train`; `seed` draws the quantile subsample. */
export function fitBinMapper(train: GbtDataset, maxBins: number, seed: number): BinMapper {
  const sample = sampleRows(train.rows, BINNING_SUBSAMPLE, seed);
  const features: FeatureBins[] = [];
  const offsets = new Int32Array(train.cols);
  let totalSlots = 0;
  for (let c = 0; c < train.cols; c++) {
    const feature = train.features[c]!;
    const bins = feature.kind === 'categorical' ? fitCategorical(train, c, maxBins, feature.cardinality) : fitNumeric(train, c, maxBins, sample);
    features.push(bins);
    offsets[c] = totalSlots;
    totalSlots += bins.valueBins + 1;
  }
  return { features, offsets, totalSlots };
}

/** Ascending row indices of a seeded sample of at most `limit` rows (all rows when fewer). */
function sampleRows(rows: number, limit: number, seed: number): Uint32Array | null {
  if (rows <= limit) return null;
  const rng = createRng(seed ^ 0x5bd1e995);
  // Selection sampling (Knuth's algorithm S): exactly `limit` rows, already in order.
  const picked = new Uint32Array(limit);
  let taken = 0;
  for (let r = 0; r < rows && taken < limit; r++) {
    if (rng() * (rows - r) < limit - taken) picked[taken++] = r;
  }
  return picked;
}

function fitNumeric(train: GbtDataset, c: number, maxBins: number, sample: Uint32Array | null): NumericBins {
  const { x, cols } = train;
  const count = sample === null ? train.rows : sample.length;
  const values = new Float64Array(count);
  let n = 0;
  for (let i = 0; i < count; i++) {
    const r = sample === null ? i : sample[i]!;
    const v = x[r * cols + c]!;
    if (v === v) values[n++] = v;
  }
  const sorted = values.subarray(0, n).sort();
  let distinct = 0;
  for (let i = 0; i < n; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const raw: number[] = [];
  if (distinct <= maxBins) {
    let previous = Number.NaN;
    for (let i = 0; i < n; i++) {
      const v = sorted[i]!;
      if (i > 0 && v !== previous) raw.push(Math.fround((previous + v) / 2));
      previous = v;
    }
  } else {
    for (let k = 1; k < maxBins; k++) {
      const position = (k / maxBins) * (n - 1);
      const below = sorted[Math.floor(position)]!;
      const above = sorted[Math.ceil(position)]!;
      raw.push(Math.fround((below + above) / 2));
    }
  }
  // Quantiles of tied values coincide, and Float32 rounding can merge neighbours: keep each edge once.
  // An edge of +Infinity would put no value above it, so it is dropped too.
  const edges: number[] = [];
  for (const edge of raw) if (edge !== Number.POSITIVE_INFINITY && (edges.length === 0 || edge > edges[edges.length - 1]!)) edges.push(edge);
  return { kind: 'numeric', valueBins: edges.length + 1, edges: Float64Array.from(edges) };
}

function fitCategorical(train: GbtDataset, c: number, maxBins: number, declared: number | undefined): CategoricalBins {
  const { x, cols, rows } = train;
  let cardinality = declared ?? 0;
  if (declared === undefined) {
    for (let r = 0; r < rows; r++) {
      const v = x[r * cols + c]!;
      if (isCode(v, Number.MAX_SAFE_INTEGER) && v + 1 > cardinality) cardinality = v + 1;
    }
  }
  const counts = new Float64Array(cardinality);
  for (let r = 0; r < rows; r++) {
    const v = x[r * cols + c]!;
    if (isCode(v, cardinality)) counts[v]! += 1;
  }
  let seen: number[] = [];
  for (let code = 0; code < cardinality; code++) if (counts[code]! > 0) seen.push(code);
  if (seen.length > maxBins) {
    // Keep the most frequent codes (ties to the smaller code), then restore code order.
    seen = seen.sort((a, b) => counts[b]! - counts[a]! || a - b).slice(0, maxBins).sort((a, b) => a - b);
  }
  const codeToBin = new Int32Array(cardinality).fill(-1);
  seen.forEach((code, bin) => (codeToBin[code] = bin));
  return { kind: 'categorical', valueBins: seen.length, cardinality, codeToBin, binToCode: Int32Array.from(seen) };
}

/** True when `v` is a category code below `cardinality`. */
export function isCode(v: number, cardinality: number): boolean {
  return v >= 0 && v < cardinality && Math.floor(v) === v;
}

/** The bins of `x` as a row-major Uint8Array (rows × cols), the layout histogram building reads fastest. */
export function binDataset(mapper: BinMapper, x: Float32Array, rows: number, cols: number): Uint8Array {
  const binned = new Uint8Array(rows * cols);
  for (let c = 0; c < cols; c++) {
    const bins = mapper.features[c]!;
    if (bins.kind === 'numeric') binNumericColumn(bins, x, rows, cols, c, binned);
    else binCategoricalColumn(bins, x, rows, cols, c, binned);
  }
  return binned;
}

function binNumericColumn(bins: NumericBins, x: Float32Array, rows: number, cols: number, c: number, out: Uint8Array): void {
  const { edges, valueBins } = bins;
  const last = edges.length;
  for (let r = 0; r < rows; r++) {
    const v = x[r * cols + c]!;
    if (v !== v) {
      out[r * cols + c] = valueBins;
      continue;
    }
    // First edge ≥ v (searchsorted left), i.e. the number of edges < v.
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    out[r * cols + c] = lo;
  }
}

function binCategoricalColumn(bins: CategoricalBins, x: Float32Array, rows: number, cols: number, c: number, out: Uint8Array): void {
  const { codeToBin, cardinality, valueBins } = bins;
  for (let r = 0; r < rows; r++) {
    const v = x[r * cols + c]!;
    const bin = isCode(v, cardinality) ? codeToBin[v]! : -1;
    out[r * cols + c] = bin < 0 ? valueBins : bin;
  }
}
