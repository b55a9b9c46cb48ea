import { UsageError } from '../errors.js';

/**
 * Quality gates on evaluated metrics, for CI: absolute bounds (`--fail-under`) and
 * regressions against a champion (`--compare-to … --max-regression`). Every check runs,
 * so a failing build names every metric that falls short at once.
 */

/** Metrics where a smaller value is better. Everything else (accuracy, auc, f1, r2…) is higher-better. */
const LOWER_IS_BETTER = new Set(['log_loss', 'loss', 'rmse', 'mae', 'mse', 'train_loss', 'val_loss']);

export type MetricDirection = 'higher' | 'lower';

export function metricDirection(metric: string): MetricDirection {
  return LOWER_IS_BETTER.has(metric) || metric.endsWith('_loss') ? 'lower' : 'higher';
}

/**
 * Parses `accuracy=0.85,auc=0.9` into metric → number. Every malformed entry is reported
 * at once, naming the flag; a metric the model does not produce is caught later, by name.
 */
export function parseMetricBounds(flag: string, text: string): Record<string, number> {
  const bounds: Record<string, number> = {};
  const problems: string[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? '' : part.slice(0, eq).trim();
    const value = eq < 0 ? Number.NaN : Number(part.slice(eq + 1).trim());
    if (name === '' || !/^[A-Za-z][\w.-]*$/.test(name)) problems.push(`"${part}": expected metric=number, e.g. auc=0.9`);
    else if (part.slice(eq + 1).trim() === '' || !Number.isFinite(value)) problems.push(`"${part}": ${name} needs a number after "="`);
    else if (name in bounds) problems.push(`"${part}": ${name} is given twice`);
    else bounds[name] = value;
  }
  if (problems.length === 0 && Object.keys(bounds).length === 0) problems.push('no metric given; expected metric=number[,metric=number…]');
  if (problems.length > 0) throw new UsageError('GATE_SPEC_INVALID', `${flag} could not be read`, { problems });
  return bounds;
}

export interface BoundCheck {
  readonly metric: string;
  readonly direction: MetricDirection;
  /** Higher-better metrics must be ≥ bound; lower-better ones (losses, errors) ≤ bound. */
  readonly bound: number;
  readonly value: number | null;
  readonly passed: boolean;
}

/** `--fail-under`: each metric must be at least as good as its bound, in its own direction. */
export function checkBounds(bounds: Readonly<Record<string, number>>, metrics: Readonly<Record<string, number>>): BoundCheck[] {
  return Object.entries(bounds).map(([metric, bound]) => {
    const direction = metricDirection(metric);
    const value = metrics[metric];
    const known = value !== undefined && Number.isFinite(value);
    const passed = known && (direction === 'higher' ? value >= bound : value <= bound);
    return { metric, direction, bound, value: known ? value : null, passed };
  });
}

export interface RegressionCheck {
  readonly metric: string;
  readonly direction: MetricDirection;
  readonly candidate: number | null;
  readonly champion: number | null;
  /** candidate − champion. */
  readonly change: number | null;
  /** How much worse the candidate is (positive = worse), in the metric's own units. */
  readonly regression: number | null;
  /** Allowed regression; null = reported, not gated. */
  readonly tolerance: number | null;
  readonly passed: boolean;
}

/**
 * Candidate against champion on the same rows. Every metric either one has is reported;
 * those with a tolerance are gated: worse by more than the tolerance fails. "Worse" means
 * lower for accuracy or AUC and higher for log loss, RMSE or MAE.
 */
export function checkRegressions(
  candidate: Readonly<Record<string, number>>,
  champion: Readonly<Record<string, number>>,
  tolerances: Readonly<Record<string, number>>,
): RegressionCheck[] {
  const names = [...new Set([...Object.keys(candidate), ...Object.keys(champion), ...Object.keys(tolerances)])];
  return names.map((metric) => {
    const direction = metricDirection(metric);
    const c = finite(candidate[metric]);
    const h = finite(champion[metric]);
    const change = c === null || h === null ? null : c - h;
    const regression = change === null ? null : direction === 'higher' ? -change : change;
    const tolerance = tolerances[metric] ?? null;
    // A gated metric that cannot be compared fails: a gate must never pass by accident.
    const passed = tolerance === null || (regression !== null && regression <= tolerance + 1e-12);
    return { metric, direction, candidate: c, champion: h, change, regression, tolerance, passed };
  });
}

function finite(value: number | undefined): number | null {
  return value !== undefined && Number.isFinite(value) ? value : null;
}

/** One line per failed check, as a user reads them in a CI log. */
export function describeBoundFailure(check: BoundCheck): string {
  const op = check.direction === 'higher' ? '>=' : '<=';
  if (check.value === null) return `${check.metric}: not produced by this model, needs ${op} ${check.bound}`;
  return `${check.metric} = ${fmt(check.value)}, needs ${op} ${check.bound}`;
}

export function describeRegressionFailure(check: RegressionCheck): string {
  if (check.regression === null) return `${check.metric}: cannot compare (candidate ${fmtOrNone(check.candidate)}, champion ${fmtOrNone(check.champion)})`;
  const worse = check.direction === 'higher' ? 'lower' : 'higher';
  return `${check.metric} = ${fmt(check.candidate!)} is ${fmt(check.regression)} ${worse} than the champion's ${fmt(check.champion!)} (tolerance ${check.tolerance})`;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? v.toFixed(1) : v.toFixed(4);
}

function fmtOrNone(v: number | null): string {
  return v === null ? 'none' : fmt(v);
}
