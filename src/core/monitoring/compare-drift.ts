/**
 * Compares a histogram of current data with the reference profile it was binned against:
 * per input PSI (and the Jensen–Shannon distance for categoricals), whether it crossed its
 * threshold, the share of inputs that drifted, and the drift of the model's output. The
 * histogram may come from a CSV (`monitor drift --data`) or from stored serving windows;
 * this function does not know which.
 */
import { jensenShannonDistance, populationStabilityIndex } from './drift-measures.js';
import type { DriftThresholds } from './drift-thresholds.js';
import type { HistogramSlot, ProfileBinner } from './profile-binner.js';

/** One bin, reference against current, as shares of their rows (unsmoothed) and as counts. */
export interface BinComparison {
  readonly label: string;
  readonly reference: number;
  readonly current: number;
  readonly referenceCount: number;
  readonly currentCount: number;
}

export interface FeatureDrift {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  /** Current rows counted in this distribution (the output may be measured on a sample of the rows). */
  readonly rows: number;
  readonly psi: number;
  /** Jensen–Shannon distance (base 2, 0…1), for categorical distributions; null for numeric ones. */
  readonly js: number | null;
  /** What `drifted` was decided against; `js` is null where no Jensen–Shannon threshold applies. */
  readonly threshold: { readonly psi: number; readonly js: number | null };
  readonly drifted: boolean;
  /** The measures above their threshold. */
  readonly exceeded: readonly ('psi' | 'js')[];
  readonly bins: readonly BinComparison[];
}

export interface DriftComparison {
  /** Rows in the current data. */
  readonly rows: number;
  /** Rows the profile was built from. */
  readonly referenceRows: number;
  /** Every input: drifted ones first, then by PSI, highest first. */
  readonly features: readonly FeatureDrift[];
  /** The model's output distribution (not counted among the inputs). */
  readonly output: FeatureDrift;
  /** Names of the drifted inputs, in the order of `features`. */
  readonly drifted: readonly string[];
  /** Drifted inputs over all inputs, 0…1. */
  readonly driftedShare: number;
  readonly thresholds: DriftThresholds;
}

function compareSlot(slot: HistogramSlot, counts: Float64Array, referenceRows: number, threshold: FeatureDrift['threshold']): FeatureDrift {
  const current = counts.subarray(slot.offset, slot.offset + slot.size);
  let rows = 0;
  for (let i = 0; i < current.length; i++) rows += current[i]!;
  const psi = populationStabilityIndex(slot.reference, current);
  const js = slot.kind === 'categorical' ? jensenShannonDistance(slot.reference, current) : null;
  const exceeded: ('psi' | 'js')[] = [];
  if (psi > threshold.psi) exceeded.push('psi');
  if (js !== null && threshold.js !== null && js > threshold.js) exceeded.push('js');
  return {
    feature: slot.name,
    kind: slot.kind,
    rows,
    psi,
    js,
    threshold,
    drifted: exceeded.length > 0,
    exceeded,
    bins: slot.labels.map((label, i) => ({
      label,
      reference: referenceRows > 0 ? slot.reference[i]! / referenceRows : 0,
      current: rows > 0 ? current[i]! / rows : 0,
      referenceCount: slot.reference[i]!,
      currentCount: current[i]!,
    })),
  };
}

/**
 * Compares `counts` (laid out by `binner`, `rows` records binned) with the binner's profile.
 * Each distribution's shares are of its own total, so an output measured on a sample of the
 * rows compares as fairly as the inputs.
 */
export function compareWithProfile(binner: ProfileBinner, counts: Float64Array, rows: number, thresholds: DriftThresholds): DriftComparison {
  if (counts.length !== binner.size) throw new RangeError(`a histogram of ${counts.length} counters for a profile of ${binner.size}`);
  const referenceRows = binner.profile.rows;
  const features = binner.features.map((slot) => {
    const override = thresholds.features[slot.name];
    return compareSlot(slot, counts, referenceRows, {
      psi: override?.psi ?? thresholds.psi,
      js: slot.kind === 'categorical' ? (override?.js ?? thresholds.js) : null,
    });
  });
  features.sort((a, b) => Number(b.drifted) - Number(a.drifted) || b.psi - a.psi);
  const drifted = features.filter((f) => f.drifted).map((f) => f.feature);
  return {
    rows,
    referenceRows,
    features,
    output: compareSlot(binner.output, counts, referenceRows, { psi: thresholds.output, js: null }),
    drifted,
    driftedShare: features.length === 0 ? 0 : drifted.length / features.length,
    thresholds,
  };
}
