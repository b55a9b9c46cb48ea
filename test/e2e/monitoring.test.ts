/**
 * The monitoring assets against a real daemon: `promtool check metrics` on its /metrics
 * output, `promtool check config` on monitoring/prometheus.yml, and every metric the
 * Grafana dashboard queries must be one the daemon exports. The daemon serves a fixture
 * bundle by path, so no training is needed here.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  bundle = await writeIncomeBundle({ seed: 5, runId: 'monitoring-run' });
  daemon = await startDaemon(['--model', bundle.dir, '--no-database'], { cwd: bundle.root, env: { MLCTL_RUNS_DIR: join(bundle.root, 'runs'), MLCTL_API_TOKEN: undefined } });
  const post = (path: string, body: string, type = 'application/json') => fetch(`${daemon.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
  // Touch every family: answers, errors, a batch, an unseen category.
  await post('/predict_income', JSON.stringify(SEED_RECORD));
  await post('/predict', JSON.stringify([SEED_RECORD, { ...SEED_RECORD, native_country: 'Atlantis' }]));
  await post('/predict', '{"age":');
  await post('/predict', JSON.stringify(SEED_RECORD), 'text/plain');
  await fetch(`${daemon.url}/nowhere`);
  metricsText = await (await fetch(`${daemon.url}/metrics`)).text();
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
      /^mlctl_model_info\{name="income",version="monitoring-run",run_id="monitoring-run",bundle_sha256="[0-9a-f]{64}",family="mlp",scorer="mlp-js"\} 1$/m,
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
