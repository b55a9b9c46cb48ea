/**
 * Bins records against a reference profile: the one piece both sides of drift monitoring
 * share. `mlctl monitor drift --data` bins a CSV with it, training builds the profile's own
 * counts with it, and `serve` bins each request with it, so the reference and the current
 * counts can never disagree on where a value falls.
 *
 * A histogram is one Float64Array: each input's counters in the profile's order, then the
 * output's. A distribution's counters are its bins, then "other" (categorical only), then
 * "missing" (see `slotSize`).
 */
import type { OutputMeaning } from '../bundle/output-meaning.js';
import type { DataRecord } from '../datasets/dataset-spec.js';
import type { BinnedDistribution, ReferenceProfile } from './reference-profile.js';

/** Where one distribution's counters sit in a histogram. */
export interface HistogramSlot {
  readonly name: string;
  readonly kind: BinnedDistribution['kind'];
  readonly offset: number;
  /** Counters, "other" and "missing" included. */
  readonly size: number;
  /** One label per counter: "≤ 22", "(22, 26]", "> 65", a category, "other", "missing". */
  readonly labels: readonly string[];
  /** The profile's counts in the same layout. */
  readonly reference: readonly number[];
}

export interface ProfileBinner {
  readonly profile: ReferenceProfile;
  /** One slot per input column, in the profile's order. */
  readonly features: readonly HistogramSlot[];
  readonly output: HistogramSlot;
  /** Counters in one histogram. */
  readonly size: number;
  /** A zeroed histogram. */
  newCounts(): Float64Array;
  /**
   * Adds one record's inputs to `counts`, one count per input column. The record is as
   * `validateRecords` returns it: numbers (null for missing) for numeric inputs, trimmed
   * strings (null for missing) for the others. Allocates nothing for values in the profile;
   * a category it does not list is trimmed (and lower-cased for yes/no) before it counts
   * as "other".
   */
  addRecord(record: DataRecord, counts: Float64Array): void;
  /** Adds row `row` of raw model outputs (`meaning.width` per row) to `counts`. Allocates nothing. */
  addOutput(raw: ArrayLike<number>, row: number, counts: Float64Array): void;
}

/** Counters a distribution takes in a histogram: its bins, "other" for categories, then "missing". */
export function slotSize(distribution: BinnedDistribution): number {
  return distribution.kind === 'numeric' ? distribution.edges.length + 2 : distribution.categories.length + 2;
}

/** A distribution's own counts in histogram layout. */
export function referenceCounts(distribution: BinnedDistribution): number[] {
  return distribution.kind === 'numeric' ? [...distribution.counts, distribution.missing] : [...distribution.counts, distribution.other, distribution.missing];
}

/** The bin of `x` among ascending cut points: the number of cut points below it (right-closed bins). */
export function numericBin(edges: Float64Array, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A cut point as a label: exact for whole numbers, four significant digits otherwise. */
export function formatEdge(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** Labels of a distribution's counters, in histogram layout. */
export function binLabels(distribution: BinnedDistribution): string[] {
  if (distribution.kind === 'categorical') return [...distribution.categories, 'other', 'missing'];
  const edges = distribution.edges.map(formatEdge);
  if (edges.length === 0) return ['any value', 'missing'];
  const labels = [`≤ ${edges[0]}`];
  for (let i = 1; i < edges.length; i++) labels.push(`(${edges[i - 1]}, ${edges[i]}]`);
  labels.push(`> ${edges[edges.length - 1]}`, 'missing');
  return labels;
}

/** How one input is binned, compiled once. */
interface InputBinning {
  readonly column: string;
  readonly offset: number;
  /** Numeric inputs: the cut points. */
  readonly edges: Float64Array | null;
  /** Categorical inputs: category → its bin. */
  readonly index: ReadonlyMap<string, number>;
  readonly caseInsensitive: boolean;
  /** Offset of "other" (categorical) and of "missing", within the histogram. */
  readonly other: number;
  readonly missing: number;
}

function compileInput(distribution: BinnedDistribution, offset: number): InputBinning {
  const size = slotSize(distribution);
  return {
    column: distribution.name,
    offset,
    edges: distribution.kind === 'numeric' ? Float64Array.from(distribution.edges) : null,
    index: new Map(distribution.kind === 'categorical' ? distribution.categories.map((c, i) => [c, i]) : []),
    caseInsensitive: distribution.kind === 'categorical' && distribution.caseInsensitive === true,
    other: offset + size - 2,
    missing: offset + size - 1,
  };
}

function slotOf(distribution: BinnedDistribution, offset: number): HistogramSlot {
  return { name: distribution.name, kind: distribution.kind, offset, size: slotSize(distribution), labels: binLabels(distribution), reference: referenceCounts(distribution) };
}

/** The counter a categorical value goes to. */
function categoryCounter(input: InputBinning, value: unknown): number {
  if (typeof value === 'string') {
    const bin = input.index.get(value);
    if (bin !== undefined) return input.offset + bin;
    const normalised = input.caseInsensitive ? value.trim().toLowerCase() : value.trim();
    const again = normalised === value ? undefined : input.index.get(normalised);
    return again === undefined ? input.other : input.offset + again;
  }
  if (typeof value === 'number' && Number.isFinite(value)) {
    // A code column read as numbers (training rows of a numeric-typed CSV column).
    const bin = input.index.get(String(value));
    return bin === undefined ? input.other : input.offset + bin;
  }
  return input.missing;
}

/**
 * The binner for a profile. `meaning` reads the model's raw outputs: the value a numeric
 * output distribution bins, or the class a multiclass one counts.
 */
export function createProfileBinner(profile: ReferenceProfile, meaning: OutputMeaning): ProfileBinner {
  let offset = 0;
  const inputs: InputBinning[] = [];
  const features: HistogramSlot[] = [];
  for (const distribution of profile.features) {
    inputs.push(compileInput(distribution, offset));
    features.push(slotOf(distribution, offset));
    offset += slotSize(distribution);
  }
  const output = slotOf(profile.output, offset);
  const outputEdges = profile.output.kind === 'numeric' ? Float64Array.from(profile.output.edges) : null;
  const outputMissing = offset + output.size - 1;
  const size = offset + output.size;
  return {
    profile,
    features,
    output,
    size,
    newCounts: () => new Float64Array(size),
    addRecord(record, counts) {
      for (let i = 0; i < inputs.length; i++) {
        const input = inputs[i]!;
        const value = record[input.column];
        if (input.edges !== null) {
          counts[typeof value === 'number' && value === value ? input.offset + numericBin(input.edges, value) : input.missing]! += 1;
        } else {
          counts[categoryCounter(input, value)]! += 1;
        }
      }
    },
    addOutput(raw, row, counts) {
      if (outputEdges === null) {
        counts[output.offset + meaning.classOf(raw, row)]! += 1;
        return;
      }
      const value = meaning.valueOf(raw, row);
      counts[value === value ? output.offset + numericBin(outputEdges, value) : outputMissing]! += 1;
    },
  };
}
