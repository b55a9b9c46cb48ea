/**
 * The drift gauges of /metrics, rendered by whichever process answers the scrape: the
 * daemon itself, or with `serve --workers N` the primary, from every worker's live
 * snapshot. Counts are summed per model version first and PSI computed from the sum (by
 * the same compareWithProfile `monitor drift` uses), never averaged over workers: PSI is
 * not linear in the counts, and a worker that saw ten records must not weigh as much as
 * one that saw ten thousand.
 */
import { interpretOutput } from '../bundle/output-meaning.js';
import { compareWithProfile } from '../monitoring/compare-drift.js';
import { DEFAULT_MIN_ROWS } from '../monitoring/drift-thresholds.js';
import { createProfileBinner } from '../monitoring/profile-binner.js';
import { DEFAULT_SPAN_WINDOWS, type LiveDriftSnapshot } from './drift-monitor.js';
import { MetricsRegistry } from './metrics-registry.js';

/** The drift families, for dashboards and alert rules to check against. */
export const DRIFT_METRIC_NAMES = ['mlctl_feature_drift', 'mlctl_drifted_features', 'mlctl_output_drift', 'mlctl_drift_window_records'] as const;

export interface DriftMetricsOptions {
  /** Fewer records in the span show no drift gauge, only the record count (default 100, as `monitor drift --min-rows`). */
  readonly minRows?: number;
  /** Closed windows the gauges cover, for the help text. */
  readonly spanWindows: number;
  /** The window length as written (5m), for the help text. */
  readonly window: string;
}

/** How /metrics renders the drift gauges for serve's settings (in the daemon, or in the primary of --workers). */
export function driftMetricsOptions(monitor: { readonly window: string; readonly spanWindows?: number }): DriftMetricsOptions {
  return { window: monitor.window, spanWindows: monitor.spanWindows ?? DEFAULT_SPAN_WINDOWS };
}

/**
 * The drift families as exposition text (HELP and TYPE always, samples per model version),
 * from the snapshots of every process that serves: one list per process.
 */
export function renderDriftMetrics(perProcess: readonly (readonly LiveDriftSnapshot[])[], options: DriftMetricsOptions): string {
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  const over = `the last ${options.spanWindows} closed ${options.window} windows of served records, summed over workers`;
  const registry = new MetricsRegistry();
  const psi = registry.gauge('mlctl_feature_drift', `PSI of each input against the training profile, over ${over}; absent under ${minRows} records.`, ['model', 'version', 'feature']);
  const drifted = registry.gauge(
    'mlctl_drifted_features',
    `Inputs whose drift is over their threshold (the task's monitoring section; PSI 0.2 by default), over ${over}; absent under ${minRows} records.`,
    ['model', 'version'],
  );
  const output = registry.gauge('mlctl_output_drift', `PSI of the model's output distribution against the training profile, over ${over}; absent under ${minRows} records.`, ['model', 'version']);
  const records = registry.gauge('mlctl_drift_window_records', `Records in ${over}: what the drift gauges are computed from.`, ['model', 'version']);

  const merged = new Map<string, { first: LiveDriftSnapshot; counts: Float64Array; rows: number }>();
  for (const snapshots of perProcess) {
    for (const snapshot of snapshots) {
      const key = `${snapshot.model}\u0001${snapshot.version}`;
      let entry = merged.get(key);
      if (entry === undefined) {
        entry = { first: snapshot, counts: new Float64Array(snapshot.counts.length), rows: 0 };
        merged.set(key, entry);
      }
      // One version is one bundle, so one layout; a mismatch would be a bug, not traffic.
      if (snapshot.counts.length !== entry.counts.length) continue;
      for (let i = 0; i < snapshot.counts.length; i++) entry.counts[i]! += snapshot.counts[i]!;
      entry.rows += snapshot.rows;
    }
  }
  for (const { first, counts, rows } of merged.values()) {
    records.labels(first.model, first.version).set(rows);
    if (rows < minRows) continue;
    const binner = createProfileBinner(first.profile, interpretOutput(first.output));
    if (binner.size !== counts.length) continue;
    const comparison = compareWithProfile(binner, counts, rows, first.thresholds);
    for (const feature of comparison.features) psi.labels(first.model, first.version, feature.feature).set(feature.psi);
    drifted.labels(first.model, first.version).set(comparison.drifted.length);
    output.labels(first.model, first.version).set(comparison.output.psi);
  }
  return registry.render();
}
