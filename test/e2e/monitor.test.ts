import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, SHARED_DATA, SEED_RECORD, createWorkspace, runCli, type CliResult } from '../helpers/cli.js';

/**
 * `mlctl monitor drift --data` against the built CLI and a real income model: Adult's own
 * test file against the training profile, samples shifted by age and by an unseen
 * workclass, every bad input refused with its exit code and nothing written, thresholds from
 * flags and from a task file, and the HTML page in a real headless Chromium.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const ws = createWorkspace('mlctl-monitor-');
const cli = (args: string[]): Promise<CliResult> => runCli(args, { cwd: ws.dir, env: ws.env, timeoutMs: 300_000 });

interface FeatureJson {
  feature: string;
  kind: string;
  rows: number;
  psi: number;
  js: number | null;
  drifted: boolean;
  threshold: { psi: number; js: number | null };
  bins: { label: string; reference: number; current: number; referenceCount: number; currentCount: number }[];
}

interface DriftJson {
  rows: number;
  referenceRows: number;
  features: FeatureJson[];
  output: FeatureJson;
  drifted: string[];
  driftedShare: number;
  passed: boolean;
  html: string | null;
  outputSample: { rows: number; seed: number } | null;
  thresholds: { psi: number; features: Record<string, { psi?: number }> };
}

const COLUMNS = ['age', 'workclass', 'fnlwgt', 'education', 'education_num', 'marital_status', 'occupation', 'relationship', 'race', 'sex', 'capital_gain', 'capital_loss', 'hours_per_week', 'native_country', 'income'];

let bundle: string;
let inputs: string[];
let browser: BrowserContext;
let userDataDir: string;

/** adult.test's rows as field lists ("?" left as is: it is Adult's missing marker, and the CSV reader knows it). */
function adultTestRows(): string[][] {
  return readFileSync(join(SHARED_DATA, 'income', 'adult.test'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('|'))
    .map((line) => line.split(',').map((f) => f.trim().replace(/\.$/, '')).map((f) => (f === '?' ? '' : f)));
}

function writeCsv(name: string, rows: readonly (readonly string[])[], columns: readonly string[] = COLUMNS): string {
  const path = join(ws.dir, name);
  writeFileSync(path, `${columns.join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`);
  return path;
}

function driftJson(r: CliResult): DriftJson {
  expect(r.stderr).not.toMatch(/unexpected failure/);
  return JSON.parse(r.stdout) as DriftJson;
}

beforeAll(async () => {
  const r = await cli(['train', 'income', '--epochs', '2', '--patience', '0', '--seed', '3', '--no-gates', '--json']);
  expect(r.code, r.stderr).toBe(0);
  bundle = (JSON.parse(r.stdout) as { bundleDir: string }).bundleDir;
  inputs = (JSON.parse(readFileSync(join(bundle, 'preprocessing.json'), 'utf8')) as { columns: { column: string }[] }).columns.map((c) => c.column);
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (the CI script does)`).toBe(true);
  userDataDir = mkdtempSync(join(tmpdir(), 'mlctl-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
  ws.cleanup();
});

describe('the reference profile in the bundle', () => {
  it('is listed with its SHA-256 and holds aggregates of the training rows only', () => {
    const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
    expect(manifest.files['profile.json']).toMatch(/^[0-9a-f]{64}$/);
    const profile = JSON.parse(readFileSync(join(bundle, 'profile.json'), 'utf8')) as { rows: number; features: { name: string; counts: number[]; missing: number; other?: number }[] };
    // The training rows of the split, validation rows excluded.
    expect(profile.rows).toBe(29_305);
    expect(profile.features.map((f) => f.name)).toEqual(inputs);
    for (const f of profile.features) expect(f.counts.reduce((a, b) => a + b, 0) + f.missing + (f.other ?? 0)).toBe(29_305);
    expect(readFileSync(join(bundle, 'profile.json'), 'utf8').length).toBeLessThan(8_000);
  });
});

describe('mlctl monitor drift --data (income)', () => {
  it("reports no drifted input on Adult's own test file (exit 0)", async () => {
    const r = await cli(['monitor', 'drift', bundle, '--data', join(SHARED_DATA, 'income', 'adult.test'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = driftJson(r);
    expect(json.rows).toBe(16_281);
    expect(json.referenceRows).toBe(29_305);
    expect(json.features.map((f) => f.feature).sort()).toEqual([...inputs].sort());
    expect(json.drifted).toEqual([]);
    for (const f of json.features) expect(f.psi, f.feature).toBeLessThan(0.02);
    expect(json.output.psi).toBeLessThan(0.05);
    // 16,281 rows: all of them scored for the output distribution.
    expect(json.outputSample).toBeNull();
    expect(json.passed).toBe(true);
  });

  it('flags age in a sample of people over 60, with the inputs it drags along, and no others', async () => {
    const old = writeCsv('age-over-60.csv', adultTestRows().filter((r) => Number(r[0]) > 60));
    const r = await cli(['monitor', 'drift', bundle, '--data', old, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = driftJson(r);
    expect(json.rows).toBeGreaterThan(1_000);
    const [first] = json.features;
    expect(first!.feature).toBe('age');
    expect(first!.psi).toBeGreaterThan(2);
    // Every age bin up to 58 is empty now; the last holds everyone.
    expect(first!.bins.at(-2)).toMatchObject({ current: 1 });
    // Marriage, family role and working hours change with age: drifted, and reported as such.
    expect(json.drifted).toEqual(expect.arrayContaining(['age', 'marital_status', 'relationship', 'hours_per_week']));
    // A census weight and capital losses do not: they stay stable.
    expect(json.drifted).not.toContain('fnlwgt');
    expect(json.drifted).not.toContain('capital_loss');
    for (const f of json.features) expect(f.drifted, f.feature).toBe(f.psi > f.threshold.psi);
    expect(json.driftedShare).toBeCloseTo(json.drifted.length / inputs.length, 12);

    const human = await cli(['monitor', 'drift', bundle, '--data', old]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/age-over-60\.csv \([\d,]+ rows\) against the training profile \(29,305 rows\)/);
    expect(human.stdout).toMatch(/│ age +│ numeric +│ +\d+\.\d{4} │/);
    // A text histogram per drifted input: the last age bin holds everyone.
    expect(human.stdout).toMatch(/age · PSI \d+\.\d{4} > 0\.2\n {2}bin/);
    expect(human.stdout).toMatch(/> 58 +█+.* +█{16} 100\.0%/);
    expect(human.stdout).toMatch(new RegExp(`${json.drifted.length} of ${inputs.length} inputs drifted`));

    // Exit 4 over --fail-over: with --json the one document is the error, the report in its details.
    const gated = await cli(['monitor', 'drift', bundle, '--data', old, '--fail-over', '0.2', '--json']);
    expect(gated.code, gated.stderr).toBe(4);
    const error = (JSON.parse(gated.stdout) as { error: { code: string; problems: string[]; details: { report: DriftJson } } }).error;
    expect(error.code).toBe('DRIFT_GATE_FAILED');
    expect(error.problems[0]).toMatch(/^age: PSI \d+\.\d{4} > 0\.2$/);
    expect(error.details.report.drifted).toEqual(json.drifted);
    const tableGated = await cli(['monitor', 'drift', bundle, '--data', old, '--fail-over', '0.9']);
    expect(tableGated.code, tableGated.stderr).toBe(0);
    expect(tableGated.stdout).toMatch(/not over --fail-over 90\.0%/);

    // Every row scored for the output unless there are more than --output-rows: then a seeded sample, the same each run.
    expect(json.output.rows).toBe(json.rows);
    const sampled = await cli(['monitor', 'drift', bundle, '--data', old, '--output-rows', '500', '--json']);
    const sampledJson = driftJson(sampled);
    expect(sampledJson.outputSample).toMatchObject({ rows: 500 });
    expect(sampledJson.output.rows).toBe(500);
    expect(sampledJson.features.map((f) => f.psi)).toEqual(json.features.map((f) => f.psi));
    expect(driftJson(await cli(['monitor', 'drift', bundle, '--data', old, '--output-rows', '500', '--json'])).output.psi).toBe(sampledJson.output.psi);

    // A per-input threshold from a flag.
    const lenient = driftJson(await cli(['monitor', 'drift', bundle, '--data', old, '--psi-threshold', 'age=100', '--json']));
    expect(lenient.drifted).not.toContain('age');
    expect(lenient.features.find((f) => f.feature === 'age')!.threshold.psi).toBe(100);
  });

  it('flags a workclass never seen in training through its "other" bin, and draws it in Chromium', async () => {
    const rows = adultTestRows().slice(0, 2_000).map((r) => r.map((f, i) => (i === 1 ? 'Gig-economy' : f)));
    const file = join(ws.dir, 'out', 'workclass.html');
    const r = await cli(['monitor', 'drift', bundle, '--data', writeCsv('unseen-workclass.csv', rows), '--html', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = driftJson(r);
    expect(json.drifted).toEqual(['workclass']);
    const workclass = json.features[0]!;
    expect(workclass.psi).toBeGreaterThan(5);
    expect(workclass.js).toBeCloseTo(1, 6);
    expect(workclass.bins.find((b) => b.label === 'other')).toEqual({ label: 'other', reference: 0, current: 1, referenceCount: 0, currentCount: 2_000 });
    expect(json.html).toBe(file);

    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/https?:\/\//);
    const page = await browser.newPage();
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (q) => requests.push(q.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    try {
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const charts = await page.evaluate<{ title: string; width: number; height: number; bars: number }[]>(`
        Array.from(document.querySelectorAll('svg.chart')).map((svg) => {
          const box = svg.getBoundingClientRect();
          const bars = Array.from(svg.querySelectorAll('rect.bar')).filter((el) => { const b = el.getBBox(); return b.width > 0 && b.height > 0; }).length;
          return { title: svg.querySelector('title')?.textContent ?? '', width: box.width, height: box.height, bars };
        })
      `);
      const text = await page.evaluate<string>('document.body.innerText');
      await page.screenshot({ path: join(ARTIFACTS, 'monitor-drift-workclass.png'), fullPage: true });
      expect(consoleErrors).toEqual([]);
      expect(requests).toEqual([pathToFileURL(file).href]);
      // PSI by input, the output, then one chart per input with reference and current side by side.
      expect(charts).toHaveLength(inputs.length + 2);
      expect(charts[0]!.title).toBe('PSI by input');
      expect(charts[1]!.title).toMatch(/^P\(income = >50K\) · PSI/);
      expect(charts[2]!.title).toMatch(/^workclass · PSI \d+\.\d{3}, JS 1\.000 · drifted$/);
      for (const chart of charts) {
        expect(chart.width, chart.title).toBeGreaterThan(100);
        expect(chart.height, chart.title).toBeGreaterThan(100);
        expect(chart.bars, `${chart.title} draws nothing`).toBeGreaterThan(0);
      }
      // workclass: its categories in training, "other" now, each bin with both series.
      const start = html.indexOf('aria-label="workclass · PSI');
      const chart = html.slice(start, html.indexOf('</svg>', start));
      expect(chart).toContain('<title>other · current: 1.0000</title>');
      expect(chart).toContain('<title>other · reference (training): 0.0000</title>');
      expect(chart).toContain('<title>Private · current: 0.0000</title>');
      expect(text).toContain('1 input drifted: workclass');
      expect(text).toContain('unseen-workclass.csv');
    } finally {
      await page.close();
    }
  });
});

describe('bad input: a clear message, its exit code, and nothing written', () => {
  const html = (): string => join(ws.dir, 'never.html');

  it('a CSV without some of the model inputs exits 2, naming them', async () => {
    const rows = adultTestRows().slice(0, 200).map((r) => r.slice(1));
    const r = await cli(['monitor', 'drift', bundle, '--data', writeCsv('no-age.csv', rows, COLUMNS.slice(1)), '--html', html()]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/no-age\.csv.*age/);
    expect(r.stderr).toMatch(/nothing was compared/);
    expect(r.stdout).toBe('');
    expect(existsSync(html())).toBe(false);
  });

  it('fewer rows than --min-rows (100 by default) exits 2; the flag lowers the bar', async () => {
    const few = writeCsv('few.csv', adultTestRows().slice(0, 50));
    const r = await cli(['monitor', 'drift', bundle, '--data', few, '--html', html(), '--json']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/holds 50 rows; drift is measured on at least 100/);
    expect(r.stderr).toMatch(/--min-rows 50/);
    expect((JSON.parse(r.stdout) as { error: { code: string } }).error.code).toBe('DRIFT_TOO_FEW_ROWS');
    expect(existsSync(html())).toBe(false);
    const accepted = await cli(['monitor', 'drift', bundle, '--data', few, '--min-rows', '50', '--json']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(driftJson(accepted).rows).toBe(50);
  });

  it('data with no rows exits 3', async () => {
    const r = await cli(['monitor', 'drift', bundle, '--data', writeCsv('empty.csv', []), '--html', html()]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/holds no rows/);
    expect(existsSync(html())).toBe(false);
  });

  it('a bundle written before profiles still predicts; monitoring says it needs a profile (exit 2)', async () => {
    const old = join(ws.dir, 'old-bundle');
    cpSync(bundle, old, { recursive: true });
    rmSync(join(old, 'profile.json'));
    const manifest = JSON.parse(readFileSync(join(old, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
    delete manifest.files['profile.json'];
    writeFileSync(join(old, 'manifest.json'), JSON.stringify(manifest, null, 2));
    const predicted = await runCli(['predict', '--model', old, '--json'], { cwd: ws.dir, env: ws.env, input: JSON.stringify(SEED_RECORD) });
    expect(predicted.code, predicted.stderr).toBe(0);
    const r = await cli(['monitor', 'drift', old, '--data', join(SHARED_DATA, 'income', 'adult.test'), '--html', html()]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/has no reference profile \(profile\.json\)/);
    expect(r.stderr).toMatch(/hint: retrain/);
    expect(existsSync(html())).toBe(false);
  });

  it('a changed profile is refused like any tampered bundle file (exit 4)', async () => {
    const tampered = join(ws.dir, 'tampered-bundle');
    cpSync(bundle, tampered, { recursive: true });
    writeFileSync(join(tampered, 'profile.json'), readFileSync(join(tampered, 'profile.json'), 'utf8').replace('"rows": 29305', '"rows": 29306'));
    const r = await cli(['monitor', 'drift', tampered, '--data', join(SHARED_DATA, 'income', 'adult.test')]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/profile\.json: SHA-256/);
  });

  it('thresholds for inputs the model does not read, bad values and a missing --data exit 2 before any data is read', async () => {
    const typo = await cli(['monitor', 'drift', bundle, '--data', 'nowhere.csv', '--psi-threshold', 'agee=0.3']);
    expect(typo.code, typo.stderr).toBe(2);
    expect(typo.stderr).toMatch(/"agee" is not an input of this model \(did you mean "age"\?\)/);
    const bad = await cli(['monitor', 'drift', bundle, '--data', 'nowhere.csv', '--js-threshold', '1.5']);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/at most 1/);
    const share = await cli(['monitor', 'drift', bundle, '--data', 'nowhere.csv', '--fail-over', '20']);
    expect(share.code, share.stderr).toBe(2);
    expect(share.stderr).toMatch(/--fail-over must be a number from 0 to 1, got "20"/);
    const none = await cli(['monitor', 'drift', bundle]);
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr).toMatch(/--data <csv>/);
  });
});

describe('monitoring settings in a task file (housing: yes/no inputs, a regression output)', () => {
  it('bins the profile as the task says and judges by its thresholds, which flags override', async () => {
    writeFileSync(join(ws.dir, 'housing-monitored.json'), JSON.stringify({ extends: 'housing', name: 'housing-monitored', monitoring: { bins: 4, features: { area: { psi: 50 } } } }));
    const trained = await cli(['train', '--config', 'housing-monitored.json', '--no-gates', '--json']);
    expect(trained.code, trained.stderr).toBe(0);
    const housing = (JSON.parse(trained.stdout) as { bundleDir: string }).bundleDir;
    const profile = JSON.parse(readFileSync(join(housing, 'profile.json'), 'utf8')) as { bins: number; features: { name: string; kind: string; edges?: number[]; categories?: string[] }[]; output: { name: string } };
    expect(profile.bins).toBe(4);
    expect(profile.features.find((f) => f.name === 'area')!.edges).toHaveLength(3);
    expect(profile.features.find((f) => f.name === 'mainroad')).toMatchObject({ kind: 'categorical', categories: ['yes', 'no'] });
    expect(profile.output.name).toBe('predicted price');

    const lines = readFileSync(join(SHARED_DATA, 'housing', 'housing.csv'), 'utf8').trim().split('\n');
    const large = join(ws.dir, 'large-houses.csv');
    writeFileSync(large, `${lines[0]}\n${lines.slice(1).filter((l) => Number(l.split(',')[1]) > 6000).join('\n')}\n`);
    const byTask = driftJson(await cli(['monitor', 'drift', housing, '--data', large, '--json']));
    const area = byTask.features.find((f) => f.feature === 'area')!;
    expect(area.psi).toBeGreaterThan(0.2);
    expect(area).toMatchObject({ drifted: false, threshold: { psi: 50, js: null } });
    expect(byTask.thresholds.features).toEqual({ area: { psi: 50 } });
    // Larger houses sell for more: the output drifts too.
    expect(byTask.output.psi).toBeGreaterThan(0.2);
    const byFlag = driftJson(await cli(['monitor', 'drift', housing, '--data', large, '--psi-threshold', 'area=0.2', '--json']));
    expect(byFlag.drifted).toContain('area');
  });
});
