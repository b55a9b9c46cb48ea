import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, runCli, type CliResult } from '../helpers/cli.js';

/**
 * `mlctl evaluate` as a CI gate, against the built CLI: absolute thresholds (--fail-under)
 * and a candidate against the registered champion (--compare-to income@production
 * --max-regression), with exit 4 naming every metric that falls short.
 */

const ws = createWorkspace('mlctl-gates-');
const cli = (args: string[]): Promise<CliResult> => runCli(args, { cwd: ws.dir, env: ws.env, timeoutMs: 300_000 });

interface Trained {
  run: { id: string };
  evaluation: { metrics: Record<string, number> };
}

let good: Trained;
let weak: Trained;

async function train(args: string[]): Promise<Trained> {
  const r = await cli(['train', 'income', ...args, '--patience', '0', '--no-gates', '--json']);
  expect(r.stderr).not.toMatch(/unexpected failure/);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Trained;
}

beforeAll(async () => {
  good = await train(['--epochs', '2', '--seed', '3']);
  // A network too small and too slow to learn in one epoch: clearly worse than `good`.
  weak = await train(['--epochs', '1', '--seed', '5', '--hidden-layers', '4', '--learning-rate', '0.00001']);
  expect(weak.evaluation.metrics.auc!).toBeLessThan(good.evaluation.metrics.auc! - 0.05);
  const registered = await cli(['models', 'register', good.run.id, '--name', 'income']);
  expect(registered.code, registered.stderr).toBe(0);
  const aliased = await cli(['models', 'alias', 'set', 'income', 'production', '1']);
  expect(aliased.code, aliased.stderr).toBe(0);
}, 900_000);

afterAll(() => ws.cleanup());

describe('mlctl evaluate --fail-under', () => {
  it('passes with exit 0 when every metric clears its bound, and says so in the JSON', async () => {
    const r = await cli(['evaluate', good.run.id, '--fail-under', 'accuracy=0.5,auc=0.6,log_loss=0.9', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { passed: boolean; metrics: Record<string, number>; gates: { metric: string; bound: number; direction: string; passed: boolean }[]; confusion: unknown };
    expect(json.passed).toBe(true);
    // The existing shape stays: metrics and confusion as before, gates added.
    expect(json.metrics.auc).toBeCloseTo(good.evaluation.metrics.auc!, 5);
    expect(json.confusion).toBeDefined();
    expect(json.gates).toEqual([
      { metric: 'accuracy', direction: 'higher', bound: 0.5, value: expect.any(Number), passed: true },
      { metric: 'auc', direction: 'higher', bound: 0.6, value: expect.any(Number), passed: true },
      { metric: 'log_loss', direction: 'lower', bound: 0.9, value: expect.any(Number), passed: true },
    ]);
  });

  it('exits 4 and names every metric that falls short, losses judged lower-is-better', async () => {
    const r = await cli(['evaluate', weak.run.id, '--fail-under', 'accuracy=0.85,auc=0.9,recall=0.01,log_loss=0.5']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/3 metric checks failed/);
    expect(r.stderr).toMatch(/- accuracy = 0\.\d{4}, needs >= 0\.85/);
    expect(r.stderr).toMatch(/- auc = 0\.\d{4}, needs >= 0\.9/);
    expect(r.stderr).toMatch(/- log_loss = \d\.\d{4}, needs <= 0\.5/);
    expect(r.stderr).not.toMatch(/- recall/);
    // The table is still printed, with the failing rows marked.
    expect(r.stdout).toMatch(/auc\s*│\s*0\.\d{4}\s*│\s*≥ 0\.9\s*│\s*FAIL/);
  });

  it('with --json on failure prints exactly one document: the error, listing every failure', async () => {
    const r = await cli(['evaluate', weak.run.id, '--fail-under', 'accuracy=0.85,auc=0.9', '--json']);
    expect(r.code, r.stderr).toBe(4);
    const json = JSON.parse(r.stdout) as { error: { code: string; problems: string[] } };
    expect(json.error.code).toBe('EVALUATE_GATE_FAILED');
    expect(json.error.problems).toHaveLength(2);
  });

  it('prints a Markdown table for a pull-request comment, and still exits 4', async () => {
    const r = await cli(['evaluate', weak.run.id, '--fail-under', 'auc=0.9', '--format', 'md']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toMatch(/^### mlctl evaluate: `[0-9a-f]+` ❌ failed/m);
    expect(r.stdout).toContain('| metric | value | required | status |');
    expect(r.stdout).toMatch(/\| auc \| 0\.\d{4} \| ≥ 0\.9 \| FAIL \|/);
  });

  it('refuses a malformed or unknown metric with exit 2, before or after evaluating', async () => {
    const malformed = await cli(['evaluate', good.run.id, '--fail-under', 'accuracy=high,auc']);
    expect(malformed.code, malformed.stderr).toBe(2);
    expect(malformed.stderr).toMatch(/accuracy needs a number/);
    expect(malformed.stderr).toMatch(/"auc": expected metric=number/);
    const unknown = await cli(['evaluate', good.run.id, '--fail-under', 'r2=0.5']);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toMatch(/no metric "r2"/);
    const noChampion = await cli(['evaluate', good.run.id, '--max-regression', 'auc=0.01']);
    expect(noChampion.code, noChampion.stderr).toBe(2);
    expect(noChampion.stderr).toMatch(/--max-regression needs --compare-to/);
  });
});

describe('mlctl evaluate --compare-to', () => {
  it('fails a candidate worse than the champion by more than the tolerance, on the same rows', async () => {
    const r = await cli(['evaluate', weak.run.id, '--compare-to', 'income@production', '--max-regression', 'auc=0.005,log_loss=0.01', '--format', 'json']);
    expect(r.code, r.stderr).toBe(4);
    const json = JSON.parse(r.stdout) as {
      passed: boolean;
      rows: number;
      comparison: { champion: { runId: string; alias: string; metrics: Record<string, number> }; metrics: { metric: string; regression: number; tolerance: number | null; passed: boolean }[] };
    };
    expect(json.passed).toBe(false);
    expect(json.comparison.champion).toMatchObject({ runId: good.run.id, alias: 'production' });
    const byMetric = Object.fromEntries(json.comparison.metrics.map((m) => [m.metric, m]));
    expect(byMetric.auc).toMatchObject({ tolerance: 0.005, passed: false });
    expect(byMetric.auc!.regression).toBeCloseTo(good.evaluation.metrics.auc! - weak.evaluation.metrics.auc!, 4);
    // A higher log loss is the regression for a loss.
    expect(byMetric.log_loss!.regression).toBeGreaterThan(0.01);
    expect(byMetric.log_loss!.passed).toBe(false);
    expect(byMetric.precision).toMatchObject({ tolerance: null, passed: true });
    expect(r.stderr).toMatch(/- auc = 0\.\d{4} is 0\.\d{4} lower than the champion's 0\.\d{4} \(tolerance 0\.005\)/);
    expect(r.stderr).toMatch(/- log_loss = .* higher than the champion's/);
  });

  it('passes the champion against itself, and a better candidate against a worse champion', async () => {
    const self = await cli(['evaluate', 'income@production', '--compare-to', good.run.id, '--max-regression', 'auc=0']);
    expect(self.code, self.stderr).toBe(0);
    expect(self.stdout).toMatch(/all metric checks passed/);
    const better = await cli(['evaluate', good.run.id, '--compare-to', weak.run.id, '--max-regression', 'auc=0,accuracy=0', '--format', 'md']);
    expect(better.code, better.stderr).toBe(0);
    expect(better.stdout).toMatch(/✅ passed/);
    expect(better.stdout).toMatch(/\| auc \| 0\.\d{4} \| 0\.\d{4} \| \+0\.\d{4} \| 0 \| pass \|/);
  });

  it("gates on the task's own gate metrics when no tolerance is given", async () => {
    const r = await cli(['evaluate', weak.run.id, '--compare-to', 'income@production', '--json']);
    expect(r.code, r.stderr).toBe(4);
    const json = JSON.parse(r.stdout) as { error: { problems: string[] } };
    // The income task gates accuracy and AUC.
    expect(json.error.problems.map((p) => p.split(' ')[0])).toEqual(['accuracy', 'auc']);
  });
});
