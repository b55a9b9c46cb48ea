import type { ParamValue } from '../tracking/run-store.js';
import { metricDirection, type MetricDirection } from './metric-gates.js';

/** What a run diff needs of a run: its id, params and final metrics. */
export interface DiffableRun {
  readonly id: string;
  readonly name?: string;
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface ParamDiff {
  readonly key: string;
  readonly a: ParamValue | undefined;
  readonly b: ParamValue | undefined;
  readonly changed: boolean;
}

export interface MetricDiff {
  readonly key: string;
  readonly a: number | null;
  readonly b: number | null;
  /** b − a; null when either side is missing. */
  readonly change: number | null;
  /** 100 · (b − a) / |a|; null when a is 0 or missing. */
  readonly percent: number | null;
  readonly direction: MetricDirection;
  /** Whether b is better, worse or the same as a, by the metric's direction. */
  readonly verdict: 'better' | 'worse' | 'same' | 'n/a';
}

export interface RunDiff {
  readonly a: { readonly id: string; readonly name?: string };
  readonly b: { readonly id: string; readonly name?: string };
  readonly params: readonly ParamDiff[];
  readonly metrics: readonly MetricDiff[];
}

/** Params and final metrics of two runs side by side, B against A (A is the baseline). */
export function diffRuns(a: DiffableRun, b: DiffableRun): RunDiff {
  const paramKeys = [...new Set([...Object.keys(a.params), ...Object.keys(b.params)])].sort();
  const metricKeys = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].sort();
  return {
    a: { id: a.id, ...(a.name === undefined ? {} : { name: a.name }) },
    b: { id: b.id, ...(b.name === undefined ? {} : { name: b.name }) },
    params: paramKeys.map((key) => {
      const va = a.params[key];
      const vb = b.params[key];
      return { key, a: va, b: vb, changed: va !== vb };
    }),
    metrics: metricKeys.map((key) => {
      const va = finite(a.metrics[key]);
      const vb = finite(b.metrics[key]);
      const change = va === null || vb === null ? null : vb - va;
      const percent = change === null || va === 0 || va === null ? null : (100 * change) / Math.abs(va);
      const direction = metricDirection(key);
      const verdict = change === null ? 'n/a' : change === 0 ? 'same' : (change > 0) === (direction === 'higher') ? 'better' : 'worse';
      return { key, a: va, b: vb, change, percent, direction, verdict };
    }),
  };
}

function finite(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}
