/**
 * The reference profile: what drift monitoring compares new data with, saved as profile.json
 * in every bundle (covered by the manifest's SHA-256 like every other file). It is fitted on
 * the rows the pipeline was fitted on (the training rows, validation rows excluded) and holds
 * aggregates only:
 *
 * - per numeric input: quantile cut points (10 bins by default; tied cut points merge, so a
 *   column that is mostly 0 gets fewer bins) and the training rows per bin, plus missing;
 * - per categorical or yes/no input: the training categories (the 50 most frequent) with
 *   their counts, plus "other" (rarer or unseen categories) and "missing";
 * - the model's own output on those rows, binned the same way: P(positive) for a binary
 *   classifier, the predicted value for a regression, the predicted class for multiclass.
 *
 * No row, identifier, minimum or maximum is kept: a cut point is the value at a quantile of
 * thousands of rows, and every count is a number of rows.
 */
import type { OutputMeaning } from '../bundle/output-meaning.js';
import type { DataRecord } from '../datasets/dataset-spec.js';
import { UsageError } from '../errors.js';
import type { FittedPipeline } from '../features/pipeline-spec.js';
import { validateRecords } from '../features/record-validation.js';
import { createProfileBinner, slotSize, type ProfileBinner } from './profile-binner.js';

export const PROFILE_KIND = 'mlctl.profile';
export const PROFILE_VERSION = 1;
/** Quantile bins per numeric distribution unless the task's `monitoring.bins` says otherwise. */
export const DEFAULT_PROFILE_BINS = 10;
export const MIN_PROFILE_BINS = 2;
export const MAX_PROFILE_BINS = 100;
/** Categories kept by name per categorical input; rarer ones are counted under "other". */
export const MAX_PROFILE_CATEGORIES = 50;

/**
 * A numeric distribution over quantile bins. With cut points e_0 < … < e_{k-1}, bin 0 holds
 * x ≤ e_0, bin i holds e_{i-1} < x ≤ e_i, and bin k holds x > e_{k-1}: right-closed, so a
 * value tied at a cut point (a column that is mostly 0) stays in one bin.
 */
export interface NumericDistribution {
  readonly kind: 'numeric';
  readonly name: string;
  readonly edges: readonly number[];
  /** Rows per bin: edges.length + 1 of them. */
  readonly counts: readonly number[];
  readonly missing: number;
}

/** A categorical distribution: named categories, then "other" and "missing". */
export interface CategoricalDistribution {
  readonly kind: 'categorical';
  readonly name: string;
  /** Most frequent first (ties in code-unit order). */
  readonly categories: readonly string[];
  /** yes/no inputs match their values case-insensitively, as the pipeline does. */
  readonly caseInsensitive?: true;
  /** Rows per category, parallel to `categories`. */
  readonly counts: readonly number[];
  /** Rows whose category is not listed: rarer than the listed ones, or never seen in training. */
  readonly other: number;
  readonly missing: number;
}

export type BinnedDistribution = NumericDistribution | CategoricalDistribution;

/** profile.json. */
export interface ReferenceProfile {
  readonly kind: typeof PROFILE_KIND;
  readonly version: typeof PROFILE_VERSION;
  /** Rows profiled: the training rows the pipeline was fitted on. */
  readonly rows: number;
  /** Quantile bins asked for per numeric distribution. */
  readonly bins: number;
  /** One per input column the pipeline reads, in the pipeline's order. */
  readonly features: readonly BinnedDistribution[];
  /** The model's output on the same rows. */
  readonly output: BinnedDistribution;
}

export interface BuildReferenceProfileOptions {
  readonly pipeline: FittedPipeline;
  /** The rows the pipeline was fitted on, as read (before imputation). */
  readonly records: readonly DataRecord[];
  readonly meaning: OutputMeaning;
  /** The model's raw outputs for `records`, `meaning.width` per row. */
  readonly outputs: ArrayLike<number>;
  /** Quantile bins per numeric distribution (default 10). */
  readonly bins?: number;
}

/** The name the output distribution goes by in profiles and reports. */
export function outputName(meaning: OutputMeaning): string {
  const description = meaning.description;
  return description.kind === 'binary-probability' ? `P(${description.target} = ${description.positiveLabel})` : `predicted ${description.target}`;
}

/** Builds the profile: cut points and categories from the rows, then counts by the same binner monitoring uses. */
export function buildReferenceProfile(options: BuildReferenceProfileOptions): ReferenceProfile {
  const { pipeline, meaning, outputs } = options;
  const bins = options.bins ?? DEFAULT_PROFILE_BINS;
  if (!Number.isInteger(bins) || bins < MIN_PROFILE_BINS || bins > MAX_PROFILE_BINS) {
    throw new UsageError('PROFILE_BINS_INVALID', `monitoring.bins must be a whole number from ${MIN_PROFILE_BINS} to ${MAX_PROFILE_BINS}, got ${bins}`);
  }
  if (outputs.length !== options.records.length * meaning.width) {
    throw new RangeError(`${outputs.length} outputs for ${options.records.length} rows of width ${meaning.width}`);
  }
  // The coercion monitoring applies to new rows (numeric strings to numbers, trimmed
  // categories), so training and new values are read alike. Training rows fitted the pipeline,
  // so nothing here is refused; a field that were would count as missing.
  const records = validateRecords(pipeline, options.records).records;
  const features = pipeline.columns.map((column): BinnedDistribution => {
    if (column.type === 'numeric') {
      return numericShape(column.column, records.length, (i) => records[i]![column.column], bins);
    }
    return categoricalShape(column.column, records, column.type === 'boolean');
  });
  const output: BinnedDistribution =
    meaning.problemType === 'multiclass-classification'
      ? { kind: 'categorical', name: outputName(meaning), categories: meaning.labels, counts: [], other: 0, missing: 0 }
      : numericShape(outputName(meaning), records.length, (row) => meaning.valueOf(outputs, row), bins);
  const shaped: ReferenceProfile = { kind: PROFILE_KIND, version: PROFILE_VERSION, rows: records.length, bins, features, output };
  const binner = createProfileBinner(shaped, meaning);
  const counts = binner.newCounts();
  for (const record of records) binner.addRecord(record, counts);
  for (let row = 0; row < records.length; row++) binner.addOutput(outputs, row, counts);
  return withCounts(shaped, binner, counts);
}

function numericShape(name: string, rows: number, valueOf: (row: number) => unknown, bins: number): NumericDistribution {
  const values = new Float64Array(rows);
  let n = 0;
  for (let i = 0; i < rows; i++) {
    const x = valueOf(i);
    if (typeof x === 'number' && Number.isFinite(x)) values[n++] = x;
  }
  return { kind: 'numeric', name, edges: quantileEdges(values.subarray(0, n).sort(), bins), counts: [], missing: 0 };
}

/**
 * Cut points at the 1/bins … (bins−1)/bins quantiles of ascending `sorted` values (the
 * smallest value with at least that share of rows at or below it), ties merged.
 */
export function quantileEdges(sorted: ArrayLike<number>, bins: number): number[] {
  const n = sorted.length;
  if (n === 0) return [];
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const value = sorted[Math.max(0, Math.ceil((k * n) / bins) - 1)]!;
    if (edges.length === 0 || value > edges[edges.length - 1]!) edges.push(value === 0 ? 0 : value);
  }
  return edges;
}

function categoryKey(value: unknown, caseInsensitive: boolean): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return undefined;
  return caseInsensitive ? text.toLowerCase() : text;
}

function categoricalShape(name: string, records: readonly DataRecord[], caseInsensitive: boolean): CategoricalDistribution {
  const counts = new Map<string, number>();
  for (const record of records) {
    const key = categoryKey(record[name], caseInsensitive);
    if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const categories = [...counts]
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MAX_PROFILE_CATEGORIES)
    .map(([category]) => category);
  return { kind: 'categorical', name, categories, ...(caseInsensitive ? { caseInsensitive: true as const } : {}), counts: [], other: 0, missing: 0 };
}

function withCounts(profile: ReferenceProfile, binner: ProfileBinner, counts: Float64Array): ReferenceProfile {
  const fill = (distribution: BinnedDistribution, offset: number): BinnedDistribution => {
    const values = distribution.kind === 'numeric' ? distribution.edges.length + 1 : distribution.categories.length;
    const filled = Array.from(counts.subarray(offset, offset + values));
    const missing = counts[offset + slotSize(distribution) - 1]!;
    return distribution.kind === 'numeric'
      ? { ...distribution, counts: filled, missing }
      : { ...distribution, counts: filled, other: counts[offset + values]!, missing };
  };
  return {
    ...profile,
    features: profile.features.map((d, i) => fill(d, binner.features[i]!.offset)),
    output: fill(profile.output, binner.output.offset),
  };
}

/** profile.json's text: one line per distribution, so a person can read it and `git diff` two. */
export function serializeProfile(profile: ReferenceProfile): string {
  const { features, output, ...head } = profile;
  const lines = Object.entries(head).map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)},`);
  lines.push('  "features": [', features.map((f) => `    ${JSON.stringify(f)}`).join(',\n'), '  ],', `  "output": ${JSON.stringify(output)}`);
  return `{\n${lines.join('\n')}\n}\n`;
}

/**
 * Checks a profile read from a bundle against the bundle's pipeline and output: the same
 * input columns in the same order, well-formed bins and counts. Throws UsageError
 * 'PROFILE_INVALID' listing every problem.
 */
export function parseReferenceProfile(json: unknown, pipeline: FittedPipeline, meaning: OutputMeaning): ReferenceProfile {
  const problems: string[] = [];
  const profile = json as Partial<ReferenceProfile> | null;
  if (typeof profile !== 'object' || profile === null || profile.kind !== PROFILE_KIND) {
    problems.push(`kind: expected "${PROFILE_KIND}"`);
  } else if (profile.version !== PROFILE_VERSION) {
    problems.push(`version: ${String(profile.version)} is not supported by this mlctl (reads ${PROFILE_VERSION})`);
  } else {
    if (!isCount(profile.rows)) problems.push('rows: expected a whole number ≥ 0');
    const features = Array.isArray(profile.features) ? profile.features : [];
    if (!Array.isArray(profile.features)) problems.push('features: expected a list');
    const columns = pipeline.columns.map((c) => c.column);
    const names = features.map((f) => (f as { name?: unknown } | null)?.name);
    if (names.length !== columns.length || names.some((name, i) => name !== columns[i])) {
      problems.push(`features: profiles ${names.map(String).join(', ') || 'nothing'}; the pipeline reads ${columns.join(', ')}`);
    }
    features.forEach((feature, i) => checkDistribution(feature, `features[${i}]`, problems));
    checkDistribution(profile.output, 'output', problems);
    const output = profile.output as BinnedDistribution | undefined;
    const wantsCategories = meaning.problemType === 'multiclass-classification';
    if (output !== undefined && (output.kind === 'categorical') !== wantsCategories) {
      problems.push(`output: a ${output.kind} distribution, but the model's output is ${wantsCategories ? 'a class' : 'a number'}`);
    }
  }
  if (problems.length > 0) {
    throw new UsageError('PROFILE_INVALID', `the bundle's reference profile is invalid: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, {
      problems,
      hint: 'the bundle may have been written by another mlctl version; retrain the model to write a new profile',
    });
  }
  return profile as ReferenceProfile;
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function checkDistribution(value: unknown, path: string, problems: string[]): void {
  const d = value as Partial<NumericDistribution> & Partial<Omit<CategoricalDistribution, 'kind'>> & { kind?: unknown };
  if (typeof d !== 'object' || d === null) {
    problems.push(`${path}: expected an object`);
    return;
  }
  if (typeof d.name !== 'string') problems.push(`${path}.name: expected a string`);
  if (!isCount(d.missing)) problems.push(`${path}.missing: expected a whole number ≥ 0`);
  if (!Array.isArray(d.counts) || !d.counts.every(isCount)) {
    problems.push(`${path}.counts: expected a list of whole numbers ≥ 0`);
    return;
  }
  if (d.kind === 'numeric') {
    const edges = d.edges;
    if (!Array.isArray(edges) || !edges.every((e, i) => typeof e === 'number' && Number.isFinite(e) && (i === 0 || e > (edges[i - 1] as number)))) {
      problems.push(`${path}.edges: expected increasing finite numbers`);
    } else if (d.counts.length !== edges.length + 1) {
      problems.push(`${path}.counts: ${d.counts.length} counts for ${edges.length + 1} bins`);
    }
  } else if (d.kind === 'categorical') {
    const categories = d.categories;
    if (!Array.isArray(categories) || !categories.every((c) => typeof c === 'string') || new Set(categories).size !== categories.length) {
      problems.push(`${path}.categories: expected distinct strings`);
    } else if (d.counts.length !== categories.length) {
      problems.push(`${path}.counts: ${d.counts.length} counts for ${categories.length} categories`);
    }
    if (!isCount(d.other)) problems.push(`${path}.other: expected a whole number ≥ 0`);
  } else {
    problems.push(`${path}.kind: expected numeric or categorical`);
  }
}
