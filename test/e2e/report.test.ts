import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { REPO_ROOT, SHARED_DATA, createWorkspace, runCli, type CliResult } from '../helpers/cli.js';
import { locateTool, missingTool } from '../helpers/tools.js';

/**
 * `mlctl report` against the built CLI and real trained runs, checked in a real headless
 * Chromium: the page loads with no console error and no request but its own file, every
 * chart draws marks with a non-zero size, and a full-page screenshot is kept in
 * test-artifacts/ for a person to look at. Without chromium the command's own checks still
 * run, and each test that would open its page skips there (see test/helpers/tools.ts).
 */

const noChromium = missingTool('chromium');
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const ws = createWorkspace('mlctl-report-');
const cli = (args: string[]): Promise<CliResult> => runCli(args, { cwd: ws.dir, env: ws.env, timeoutMs: 300_000 });

interface Trained {
  run: { id: string };
  evaluation: { metrics: Record<string, number> };
}

let income: Trained;
let incomeShort: Trained;
let housing: Trained;
let browser: BrowserContext | undefined;
let userDataDir: string | undefined;

async function train(args: string[]): Promise<Trained> {
  const r = await cli(['train', ...args, '--no-gates', '--json']);
  expect(r.stderr).not.toMatch(/unexpected failure/);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Trained;
}

beforeAll(async () => {
  income = await train(['income', '--epochs', '2', '--patience', '0', '--seed', '3']);
  incomeShort = await train(['income', '--epochs', '1', '--patience', '0', '--seed', '4', '--learning-rate', '0.01']);
  housing = await train(['housing']);
  if (noChromium) return;
  userDataDir = mkdtempSync(join(tmpdir(), 'mlctl-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: locateTool('chromium')!,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 900_000);

afterAll(async () => {
  await browser?.close();
  if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
  ws.cleanup();
});

interface ChartCheck {
  title: string;
  width: number;
  height: number;
  /** Data marks (series paths, bars, cells, points) drawn with a non-zero box. */
  marks: number;
}

interface PageCheck {
  requests: string[];
  consoleErrors: string[];
  charts: ChartCheck[];
  text: string;
}

/**
 * Opens a report file, records every request and console error, measures every chart,
 * screenshots it. Without chromium the test skips here, after its command-line checks.
 */
async function openReport(context: TestContext, file: string, screenshot: string): Promise<PageCheck> {
  if (browser === undefined) context.skip(`chromium is missing: ${file} is not opened`);
  const page = await browser!.newPage();
  const requests: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  try {
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    // Browser-side code as a string: this project compiles without the DOM library.
    const charts = await page.evaluate<ChartCheck[]>(`
      Array.from(document.querySelectorAll('svg.chart')).map((svg) => {
        const box = svg.getBoundingClientRect();
        const marks = Array.from(svg.querySelectorAll('path.series, rect.bar, rect.cell, circle')).filter((el) => {
          const b = el.getBBox();
          return b.width > 0 || b.height > 0;
        }).length;
        return { title: svg.querySelector('title')?.textContent ?? '', width: box.width, height: box.height, marks };
      })
    `);
    const text = await page.evaluate<string>('document.body.innerText');
    await page.screenshot({ path: join(ARTIFACTS, screenshot), fullPage: true });
    return { requests, consoleErrors, charts, text };
  } finally {
    await page.close();
  }
}

function expectCleanLoad(check: PageCheck, file: string): void {
  expect(check.consoleErrors).toEqual([]);
  // Only the page itself: no CDN, no font, no image, no favicon fetched over the network.
  expect(check.requests).toEqual([pathToFileURL(file).href]);
  for (const chart of check.charts) {
    expect(chart.width, chart.title).toBeGreaterThan(100);
    expect(chart.height, chart.title).toBeGreaterThan(100);
    expect(chart.marks, `${chart.title} draws nothing`).toBeGreaterThan(0);
  }
}

describe('mlctl report <run-id> (classifier)', () => {
  let result: CliResult;
  let file: string;
  beforeAll(async () => {
    result = await cli(['report', income.run.id, '--importance-rows', '4000', '--json']);
    file = join(ws.dir, 'reports', `report-${income.run.id}.html`);
  }, 300_000);

  it('writes reports/report-<run-id>.html under the working folder and describes it in one JSON document', () => {
    expect(result.stderr).not.toMatch(/unexpected failure/);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { out: string; run: string; charts: string[]; fairness: { column: string; largestGap: { gap: number } | null }[]; importance: { column: string; drop: number }[]; evaluation: { metrics: Record<string, number> } };
    expect(json.out).toBe(file);
    expect(json.run).toBe(income.run.id);
    expect(existsSync(file)).toBe(true);
    expect(json.charts).toEqual(expect.arrayContaining(['learning-curves', 'roc', 'precision-recall', 'confusion-matrix', 'calibration', 'slices:sex', 'slices:race', 'permutation-importance']));
    // Re-evaluating the bundle on the test rows gives the metrics the run recorded.
    expect(json.evaluation.metrics.auc).toBeCloseTo(income.evaluation.metrics.auc!, 5);
    expect(json.fairness.map((f) => f.column)).toEqual(['sex', 'race']);
    expect(json.fairness[0]!.largestGap!.gap).toBeGreaterThan(0);
    // Race and sex are sensitive: sliced, but no inputs of the model.
    expect(json.importance).toHaveLength(12);
    // A model that learned anything leans on some column: the largest AUC drop is positive.
    expect(json.importance[0]!.drop).toBeGreaterThan(0.005);
  });

  it('is self-contained and loads in Chromium with no console error, no request, and every chart drawn', async (context) => {
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/https?:\/\//);
    const check = await openReport(context, file, 'report-income.png');
    expectCleanLoad(check, file);
    // Loss, accuracy/AUC, ROC, PR, confusion, calibration, sex, race, importance.
    expect(check.charts).toHaveLength(9);
    expect(check.text).toContain(income.run.id);
    expect(check.text).toMatch(/Largest gap: .+ differs by 0\.\d{4}/);
    expect(check.text).toContain('Threshold table');
    expect(check.text).toContain('dataset');
  });
});

describe('mlctl report without the test rows', () => {
  it('falls back to the predictions the run recorded, says so, and still draws every curve', async (context) => {
    // A fresh data folder and a mirror whose test file is corrupt: the rows cannot be loaded.
    const mirror = join(ws.dir, 'bad-mirror');
    mkdirSync(join(mirror, 'income'), { recursive: true });
    for (const f of ['adult.data', 'adult.test']) copyFileSync(join(SHARED_DATA, 'income', f), join(mirror, 'income', f));
    appendFileSync(join(mirror, 'income', 'adult.test'), 'tampered\n');
    const file = join(ws.dir, 'recorded.html');
    const r = await runCli(['report', income.run.id, '--out', file, '--json'], {
      cwd: ws.dir,
      env: { ...ws.env, MLCTL_DATA_DIR: join(ws.dir, 'no-data'), MLCTL_DATA_MIRROR: mirror },
      timeoutMs: 300_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/test rows could not be loaded .*SHA-256.*no fairness slices, no feature importance/s);
    const json = JSON.parse(r.stdout) as { charts: string[]; evaluation: { source: string; rows: number; metrics: Record<string, number> }; importance: unknown };
    expect(json.evaluation.source).toBe(`test predictions recorded by run ${income.run.id}`);
    expect(json.evaluation.rows).toBe(16_281);
    expect(json.evaluation.metrics.auc).toBeCloseTo(income.evaluation.metrics.auc!, 6);
    expect(json.charts).toEqual(['learning-curves', 'roc', 'precision-recall', 'confusion-matrix', 'calibration']);
    expect(json.importance).toBeNull();
    const check = await openReport(context, file, 'report-income-recorded.png');
    expectCleanLoad(check, file);
    expect(check.charts).toHaveLength(6);
    expect(check.text).toContain('The test rows could not be loaded');
  }, 300_000);

  it('does not fall back when --data names a file that is not there', async () => {
    const r = await cli(['report', income.run.id, '--data', join(ws.dir, 'missing.csv'), '--no-importance']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/missing\.csv: no such file/);
    expect(r.stderr).not.toMatch(/recorded at training time/);
  });
});

describe('mlctl report (regression)', () => {
  it('draws predicted vs actual, residuals, the coefficients and importance by R²', async (context) => {
    const file = join(ws.dir, 'out', 'housing.html');
    const r = await cli(['report', `runs:/${housing.run.id}`, '--out', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(file);
    const check = await openReport(context, file, 'report-housing.png');
    expectCleanLoad(check, file);
    expect(check.charts.map((c) => c.title)).toEqual(['Predicted vs actual', 'Residuals', 'Permutation importance (drop in R2)']);
    expect(check.text).toContain('The fitted linear model');
    expect(check.text).toContain('Per feature: coefficient');
    expect(check.text).toContain('(intercept)');
    expect(check.text).toContain('No per-epoch history');
  }, 300_000);
});

describe('mlctl report --compare', () => {
  it('overlays the runs’ curves and tabulates their metrics', async (context) => {
    const file = join(ws.dir, 'compare.html');
    const r = await cli(['report', '--compare', income.run.id, incomeShort.run.id, '--out', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { runs: { id: string }[] };
    expect(json.runs.map((x) => x.id)).toEqual([income.run.id, incomeShort.run.id]);
    const check = await openReport(context, file, 'report-compare.png');
    expectCleanLoad(check, file);
    expect(check.charts.map((c) => c.title)).toEqual(['Final metrics', 'Loss per epoch', 'val_auc per epoch', 'ROC curves (test rows)', 'Precision–recall (test rows)']);
    // Two runs overlaid: one ROC path per run.
    const html = readFileSync(file, 'utf8');
    const roc = html.slice(html.indexOf('ROC curves (test rows)'));
    expect(roc.slice(0, roc.indexOf('</svg>')).match(/<path class="series"/g)).toHaveLength(2);
    expect(check.text).toContain('learningRate');
  }, 300_000);

  it('refuses one run, and an unknown one', async () => {
    const one = await cli(['report', '--compare', income.run.id]);
    expect(one.code, one.stderr).toBe(2);
    expect(one.stderr).toMatch(/at least two run ids/);
    const unknown = await cli(['report', '--compare', income.run.id, 'ffffffffffff']);
    expect(unknown.code, unknown.stderr).toBe(3);
  });

  it('needs something to report on', async () => {
    const r = await cli(['report']);
    expect(r.code, r.stderr).toBe(2);
  });
});

describe('mlctl runs diff', () => {
  it('shows params and metrics with change and percentage as JSON', async () => {
    const r = await cli(['runs', 'diff', income.run.id, incomeShort.run.id, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const diff = JSON.parse(r.stdout) as {
      params: { key: string; a: unknown; b: unknown; changed: boolean }[];
      metrics: { key: string; a: number; b: number; change: number; percent: number; verdict: string }[];
    };
    expect(diff.params.find((p) => p.key === 'epochs')).toEqual({ key: 'epochs', a: 2, b: 1, changed: true });
    expect(diff.params.find((p) => p.key === 'task')).toMatchObject({ changed: false });
    const auc = diff.metrics.find((m) => m.key === 'auc')!;
    expect(auc.a).toBeCloseTo(income.evaluation.metrics.auc!, 10);
    expect(auc.change).toBeCloseTo(auc.b - auc.a, 12);
    expect(auc.percent).toBeCloseTo((100 * (auc.b - auc.a)) / auc.a, 8);
  });

  it('prints a Markdown table with --format md, and a terminal table by default', async () => {
    const md = await cli(['runs', 'diff', income.run.id.slice(0, 10), incomeShort.run.id, '--format', 'md']);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toContain('| metric | A | B | change | % | B is |');
    expect(md.stdout).toMatch(/\| epochs \| 2 \| 1 \| changed \|/);
    const table = await cli(['runs', 'diff', income.run.id, incomeShort.run.id]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/log_loss/);
    expect(table.stdout).toMatch(/[+−]\d+\.\d{2}%/);
  });

  it('exits 3 for an unknown run', async () => {
    const r = await cli(['runs', 'diff', income.run.id, 'ffffffffffff']);
    expect(r.code, r.stderr).toBe(3);
  });
});
