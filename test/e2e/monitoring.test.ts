/**
 * The monitoring assets against a real daemon: `promtool check metrics` on its /metrics
 * output (drift gauges included), `promtool check config` on monitoring/prometheus.yml,
 * `promtool check rules` and `promtool test rules` on the alert rules, and every metric the
 * Grafana dashboard or an alert queries must be one the daemon exports. The daemon serves a
 * fixture bundle by path, so no training is needed here.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, SEED_RECORD } from '../helpers/cli.js';
import { missingTool } from '../helpers/tools.js';
import { writeIncomeBundle, type IncomeBundle } from '../unit/serving/fixture.js';
import { startDaemon, type Daemon } from './serve-helpers.js';

const MONITORING = join(REPO_ROOT, 'monitoring');
/** Debian's "prometheus" package; .ci/run installs it. Without it the promtool checks skip. */
const noPromtool = missingTool('promtool');

let bundle: IncomeBundle;
let daemon: Daemon;
let metricsText: string;

beforeAll(async () => {
  bundle = await writeIncomeBundle({ seed: 5, runId: 'monitoring-run', profile: true });
  daemon = await startDaemon(['--model', bundle.dir, '--no-database', '--monitor-window', '1s'], { cwd: bundle.root, env: { MLCTL_RUNS_DIR: join(bundle.root, 'runs'), MLCTL_API_TOKEN: undefined } });
  const post = (path: string, body: string, type = 'application/json') => fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
  // Touch every family: answers, errors, a batch, an unseen category.
  await post('/predict_income', JSON.stringify(SEED_RECORD));
  await post('/predict', JSON.stringify([SEED_RECORD, { ...SEED_RECORD, native_country: 'Atlantis' }]));
  await post('/predict', '{"age":');
  await post('/predict', JSON.stringify(SEED_RECORD), 'text/plain');
  await fetch(`${daemon.url}/nowhere`);
  // Enough records for the drift gauges (100), counted once their 1 s window closes.
  await post('/invocations', JSON.stringify({ instances: Array.from({ length: 120 }, () => SEED_RECORD) }));
  const deadline = Date.now() + 15_000;
  do {
    await new Promise((resolve) => setTimeout(resolve, 200));
    metricsText = await (await fetch(`${daemon.url}/metrics`)).text();
  } while (!/^mlctl_drift_window_records\{[^}]*\} 123$/m.test(metricsText) && Date.now() < deadline);
}, 120_000);

afterAll(async () => {
  await daemon?.stop();
  bundle?.cleanup();
});

/** Family names from the exposition's TYPE lines, with the sample names a histogram adds. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

interface AlertRules {
  groups: { name: string; rules: { alert: string; expr: string; for?: string }[] }[];
}

interface Dashboard {
  panels: { title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
  templating: { list: { query?: string }[] };
}

function dashboardQueries(dashboard: Dashboard): string[] {
  return [...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dashboard.templating.list.flatMap((v) => (v.query === undefined ? [] : [v.query]))];
}

/** Metric names a PromQL expression reads: identifiers followed by a selector or range, minus functions and label names. */
function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutGroupings = withoutStrings.replace(/\b(by|without)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const match of withoutGroupings.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|\[|\)|$|,)/g)) {
    const name = match[1]!;
    if (/^(sum|rate|increase|max|min|avg|histogram_quantile|clamp_min|label_values|instance|count)$/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

describe('monitoring assets against a running daemon', () => {
  it.skipIf(noPromtool)('promtool check metrics accepts /metrics', () => {
    const r = spawnSync('promtool', ['check', 'metrics'], { input: metricsText, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(noPromtool)('promtool check config accepts monitoring/prometheus.yml', () => {
    const r = spawnSync('promtool', ['check', 'config', join(MONITORING, 'prometheus.yml')], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it.skipIf(noPromtool)('promtool check rules and test rules accept the alert rules, and they fire as their tests say', () => {
    const checked = spawnSync('promtool', ['check', 'rules', join(MONITORING, 'alerts.yml')], { encoding: 'utf8' });
    expect(checked.status, `${checked.stdout}${checked.stderr}`).toBe(0);
    expect(checked.stdout).toMatch(/SUCCESS: [1-9]\d* rules found/);
    const tested = spawnSync('promtool', ['test', 'rules', join(MONITORING, 'alerts.test.yml')], { encoding: 'utf8', cwd: MONITORING });
    expect(tested.status, `${tested.stdout}${tested.stderr}`).toBe(0);
  });

  it('prometheus.yml loads the alert rules, and every metric an alert reads is exported', () => {
    expect((parse(readFileSync(join(MONITORING, 'prometheus.yml'), 'utf8')) as { rule_files: string[] }).rule_files).toEqual(['alerts.yml']);
    const rules = parse(readFileSync(join(MONITORING, 'alerts.yml'), 'utf8')) as AlertRules;
    const alerts = rules.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(expect.arrayContaining(['MlctlInputsDrifted', 'MlctlInputPsiHigh']));
    const exported = exportedNames(metricsText);
    expect(alerts.flatMap((a) => metricNamesIn(a.expr)).filter((name) => !exported.has(name))).toEqual([]);
    const byName = new Map(alerts.map((a) => [a.alert, a]));
    expect(byName.get('MlctlInputsDrifted')).toMatchObject({ expr: expect.stringContaining('mlctl_drifted_features) > 0'), for: '30m' });
    expect(byName.get('MlctlInputPsiHigh')).toMatchObject({ expr: expect.stringContaining('mlctl_feature_drift) > 0.2'), for: '30m' });
  });

  it('exports the drift gauges with samples once a window holds enough records', () => {
    const version = 'model="income",version="monitoring-run"';
    expect(metricsText).toMatch(new RegExp(`^mlctl_drift_window_records\\{${version}\\} 123$`, 'm'));
    expect(metricsText).toMatch(new RegExp(`^mlctl_feature_drift\\{${version},feature="age"\\} \\d`, 'm'));
    expect(metricsText).toMatch(new RegExp(`^mlctl_drifted_features\\{${version}\\} \\d+$`, 'm'));
  });

  it('exports what the issue asks for, with samples', () => {
    for (const sample of [
      /^mlctl_http_requests_total\{route="predict_income",method="POST",status="200"\} 1$/m,
      /^mlctl_http_requests_total\{route="predict",method="POST",status="400"\} 1$/m,
      /^mlctl_http_requests_total\{route="predict",method="POST",status="415"\} 1$/m,
      /^mlctl_http_requests_total\{route="other",method="GET",status="404"\} 1$/m,
      /^mlctl_http_request_duration_seconds_bucket\{route="predict",status="200",le="\+Inf"\} 1$/m,
      /^mlctl_http_requests_in_flight 1$/m,
      /^mlctl_predictions_total\{model="income",version="monitoring-run",label="(<=50K|>50K)"\} \d+$/m,
      /^mlctl_prediction_batch_size_bucket\{route="predict",le="2"\} 1$/m,
      /^mlctl_unseen_categories_total\{column="native_country"\} 1$/m,
      /^mlctl_model_info\{name="income",version="monitoring-run",run_id="monitoring-run",bundle_sha256="[0-9a-f]{64}",family="mlp",scorer="mlp-simd"\} 1$/m,
      /^process_resident_memory_bytes \d+$/m,
    ]) {
      expect(metricsText).toMatch(sample);
    }
  });

  it('every metric the Grafana dashboard queries is exported by the daemon', () => {
    const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana', 'dashboards', 'mlctl-serve.json'), 'utf8')) as Dashboard;
    const exported = exportedNames(metricsText);
    const queried = new Set(dashboardQueries(dashboard).flatMap(metricNamesIn));
    expect(queried.size).toBeGreaterThan(8);
    expect([...queried].filter((name) => !exported.has(name))).toEqual([]);
    // The panels the issue names.
    const all = dashboardQueries(dashboard).join('\n');
    expect(all).toMatch(/rate\(mlctl_http_requests_total/);
    expect(all).toMatch(/status=~"5\.\."/);
    for (const q of ['0.5', '0.95', '0.99']) expect(all).toContain(`histogram_quantile(${q}, sum by (le) (rate(mlctl_http_request_duration_seconds_bucket`);
    expect(all).toMatch(/sum by \(label\) \(rate\(mlctl_predictions_total/);
    expect(all).toMatch(/mlctl_model_info/);
    // Issue 15's drift panel.
    expect(all).toMatch(/max by \(model, version, feature\) \(mlctl_feature_drift/);
    expect(all).toMatch(/mlctl_drifted_features/);
  });

  it('the dashboard uses the provisioned datasource', () => {
    const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana', 'dashboards', 'mlctl-serve.json'), 'utf8')) as Dashboard;
    const provisioned = readFileSync(join(MONITORING, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8');
    const uid = /uid:\s*(\S+)/.exec(provisioned)?.[1];
    expect(uid).toBeDefined();
    expect(new Set(dashboard.panels.map((p) => p.datasource.uid))).toEqual(new Set([uid]));
  });

  it('the name extractor finds metric names and nothing else (so the check above can fail)', () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (le) (rate(foo_seconds_bucket{route=~"a|b"}[1m])))')).toEqual(['foo_seconds_bucket']);
    expect(metricNamesIn('sum(rate(a_total[1m])) / clamp_min(sum(rate(b_total{x="y"}[1m])), 1e-9)')).toEqual(['a_total', 'b_total']);
    expect(metricNamesIn('process_resident_memory_bytes{instance=~"$instance"}')).toEqual(['process_resident_memory_bytes']);
  });
});

