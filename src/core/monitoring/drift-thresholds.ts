/**
 * When an input counts as drifted: its PSI is above a threshold (0.2 by default, the common
 * rule of thumb: below 0.1 stable, 0.1–0.2 a moderate shift, above 0.2 a significant one).
 * The Jensen–Shannon distance of a categorical input is always measured and reported, and
 * decides as well only where a threshold is set for it: at the usual 0.1 it flags an input
 * (mostly native_country) in 16 of 40 unshifted 1,000-row samples of Adult's own test file,
 * where PSI 0.2 flags none (see docs/design.md, Monitoring). One measure deciding for every
 * input also keeps the share of drifted inputs meaning one thing. Defaults, then the task's
 * `monitoring` section, then flags; each may name single inputs.
 */
import { UsageError } from '../errors.js';
import { didYouMean } from '../text/near-names.js';
import type { MonitoringSpec } from '../tasks/task-spec.js';
import type { BinnedDistribution } from './reference-profile.js';

export const DEFAULT_PSI_THRESHOLD = 0.2;
/** Fewer rows than this make PSI mostly sampling noise; `--min-rows` changes it. */
export const DEFAULT_MIN_ROWS = 100;

/** The thresholds in force for one comparison. */
export interface DriftThresholds {
  /** PSI threshold of every input not listed in `features`. */
  readonly psi: number;
  /** Jensen–Shannon threshold of every categorical input not listed in `features`; null: JS does not decide. */
  readonly js: number | null;
  readonly features: Readonly<Record<string, { readonly psi?: number; readonly js?: number }>>;
  /** PSI threshold of the output distribution. */
  readonly output: number;
}

/** A threshold flag as written: `0.25`, `age=0.3,workclass=0.25`, or both (`0.25,age=0.3`). */
export interface ThresholdFlag {
  readonly all?: number;
  readonly features: Readonly<Record<string, number>>;
}

export interface ThresholdFlags {
  readonly psi?: ThresholdFlag;
  readonly js?: ThresholdFlag;
  readonly output?: number;
}

type Measure = 'psi' | 'js';

function rangeProblem(measure: Measure, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return `expected a number above 0, got ${JSON.stringify(value)}`;
  if (measure === 'js' && value > 1) return `a Jensen–Shannon distance is at most 1, got ${value}`;
  return undefined;
}

/** Parses `--psi-threshold` / `--js-threshold`; every problem is reported at once (exit 2). */
export function parseThresholdFlag(flag: string, measure: Measure, text: string): ThresholdFlag {
  const problems: string[] = [];
  let all: number | undefined;
  const features: Record<string, number> = {};
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) problems.push('expected a number, or input=number pairs separated by commas');
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? undefined : part.slice(0, eq).trim();
    const raw = eq < 0 ? part : part.slice(eq + 1).trim();
    const value = raw === '' ? Number.NaN : Number(raw);
    const problem = Number.isNaN(value) ? `expected a number, got "${raw}"` : rangeProblem(measure, value);
    if (name === '') problems.push(`"${part}": name an input before "="`);
    else if (problem !== undefined) problems.push(`${name ?? 'default'}: ${problem}`);
    else if (name === undefined) {
      if (all !== undefined) problems.push(`"${part}": a default is given twice`);
      all = value;
    } else features[name] = value;
  }
  if (problems.length > 0) {
    throw new UsageError('DRIFT_THRESHOLD_INVALID', `${flag} ${JSON.stringify(text)} is not valid`, {
      problems,
      hint: `e.g. ${flag} ${measure === 'psi' ? '0.25,age=0.3' : '0.15,workclass=0.2'}`,
    });
  }
  return { ...(all === undefined ? {} : { all }), features };
}

/** Defaults, overridden by the task's section, overridden by flags. */
export function resolveThresholds(spec: MonitoringSpec | undefined, flags: ThresholdFlags = {}): DriftThresholds {
  const psi = flags.psi?.all ?? spec?.psiThreshold ?? DEFAULT_PSI_THRESHOLD;
  const js = flags.js?.all ?? spec?.jsThreshold ?? null;
  const features: Record<string, { psi?: number; js?: number }> = {};
  for (const [name, override] of Object.entries(spec?.features ?? {})) features[name] = { ...override };
  for (const [name, value] of Object.entries(flags.psi?.features ?? {})) features[name] = { ...features[name], psi: value };
  for (const [name, value] of Object.entries(flags.js?.features ?? {})) features[name] = { ...features[name], js: value };
  return { psi, js, features, output: flags.output ?? spec?.output?.psi ?? psi };
}

/**
 * Refuses thresholds for inputs the model does not read, and Jensen–Shannon thresholds for
 * numeric inputs (it is measured on categorical ones only), naming the near miss.
 */
export function checkThresholdNames(thresholds: DriftThresholds, features: readonly BinnedDistribution[]): void {
  const byName = new Map(features.map((f) => [f.name, f]));
  const problems: string[] = [];
  for (const [name, override] of Object.entries(thresholds.features)) {
    const feature = byName.get(name);
    if (feature === undefined) problems.push(`"${name}" is not an input of this model${didYouMean(name, byName.keys())}`);
    else if (override.js !== undefined && feature.kind === 'numeric') problems.push(`"${name}" is numeric: the Jensen–Shannon distance is measured on categorical inputs only`);
  }
  if (problems.length > 0) {
    throw new UsageError('DRIFT_THRESHOLD_INVALID', `${problems.length} drift threshold${problems.length === 1 ? '' : 's'} cannot apply`, {
      problems,
      hint: `the model's inputs: ${features.map((f) => f.name).join(', ')}`,
    });
  }
}
