/**
 * GET /docs in a real browser (Debian's chromium through playwright-core): the page renders
 * every route and the input fields from the embedded OpenAPI document, loads nothing from
 * another origin, and its "Try it" form posts the seed body and shows the answer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateTool, missingTool } from '../helpers/tools.js';
import { writeIncomeBundle, type IncomeBundle } from '../unit/serving/fixture.js';
import { startDaemon, type Daemon } from './serve-helpers.js';

/** Every test here drives the browser: without chromium they all skip (see test/helpers/tools.ts). */
const noChromium = missingTool('chromium');
let bundle: IncomeBundle;
let daemon: Daemon;
let browser: BrowserContext;
let userDataDir: string;

beforeAll(async () => {
  if (noChromium) return;
  bundle = await writeIncomeBundle({ seed: 9, runId: 'docs-run' });
  daemon = await startDaemon(['--model', bundle.dir, '--no-database'], { cwd: bundle.root, env: { MLCTL_RUNS_DIR: join(bundle.root, 'runs'), MLCTL_API_TOKEN: undefined } });
  userDataDir = mkdtempSync(join(tmpdir(), 'mlctl-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: locateTool('chromium')!,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
  await daemon?.stop();
  bundle?.cleanup();
});

describe.skipIf(noChromium)('GET /docs in chromium', () => {
  it('renders every route and field from the embedded spec, with nothing from another origin', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${daemon.url}/docs`);
    expect(await page.textContent('#title')).toBe('mlctl serve: income');
    const routes = await page.$$eval('.route', (nodes) => nodes.map((n) => n.querySelector('code')?.textContent));
    expect(routes).toEqual(
      expect.arrayContaining(['/predict_income', '/predict', '/invocations', '/health', '/livez', '/ping', '/ready', '/readyz', '/version', '/metrics', '/models', '/openapi.json', '/docs']),
    );
    // The record is named after the model's own task, with training ranges and bounds.
    expect(await page.textContent('#record-title')).toBe('Input record: IncomeRecord (task income)');
    const fields = await page.$$eval('#fields tr.field', (rows) => rows.map((r) => [r.children[0]?.textContent, r.children[2]?.textContent, r.children[4]?.textContent]));
    // Race and sex are sensitive: the model takes the seed's 12 fields.
    expect(fields).toHaveLength(12);
    expect(fields).toContainEqual(['age', 'imputed', expect.stringMatching(/^18 to \d+ \(allowed 0 to 120\)$/)]);
    expect(fields.map((f) => f[0])).not.toContain('race');
    expect(errors).toEqual([]);
    expect(requests.filter((u) => !u.startsWith(daemon.url))).toEqual([]);
    await page.close();
  });

  it('"Try it" posts the example to /predict_income and shows the answer', async () => {
    const page = await browser.newPage();
    await page.goto(`${daemon.url}/docs`);
    const box = page.locator('#route-post--predict-income');
    await box.locator('summary').click();
    await box.locator('button.try-send').click();
    await page.waitForFunction(`/^200 /.test(document.querySelector('#route-post--predict-income .try-result')?.textContent ?? '')`);
    const text = (await box.locator('.try-result').textContent()) ?? '';
    const answer = JSON.parse(text.slice(text.indexOf('\n') + 1)) as { income_gt_50k: boolean; probability: number; model: { name: string; version: string } };
    expect(answer.model).toEqual({ name: 'income', version: 'docs-run' });
    expect(answer.income_gt_50k).toBe(answer.probability >= 0.5);
    await page.close();
  });
});
