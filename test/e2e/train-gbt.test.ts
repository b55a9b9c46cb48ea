import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspace, MLCTL_BIN, REPO_ROOT, runCli } from '../helpers/cli.js';

/**
 * Gradient-boosted trees through the built CLI: the income task beats the bars on
 * the official test file, predict and evaluate reproduce the run's numbers with no
 * TensorFlow.js loaded, bad settings stop before any data is read, and Ctrl-C leaves a
 * KILLED run.
 */
const ws = createWorkspace('mlctl-gbt-');
afterAll(() => ws.cleanup());
const cli = (args: string[], input?: string) => runCli(args, { cwd: ws.dir, env: ws.env, timeoutMs: 300_000, ...(input === undefined ? {} : { input }) });

function runDirs(experiment: string): string[] {
  const dir = join(ws.env.MLCTL_RUNS_DIR as string, experiment);
  return existsSync(dir) ? readdirSync(dir).filter((d) => !d.startsWith('.') && d !== 'experiment.json').map((d) => join(dir, d)) : [];
}

describe('mlctl train income --model gbt', () => {
  it('reaches accuracy ≥ 0.872 and AUC ≥ 0.927, and predict and evaluate reproduce it', async () => {
    const trained = await cli(['train', 'income', '--model', 'gbt', '--json']);
    expect(trained.code, trained.stderr).toBe(0);
    const result = JSON.parse(trained.stdout) as {
      run: { id: string };
      modelFamily: string;
      evaluation: { metrics: Record<string, number> };
      model: { iterations: { unit: string; run: number; best: number }; featureWeights: { label: string; values: { feature: string; value: number }[] } };
    };
    expect(result.modelFamily).toBe('gbt');
    expect(result.evaluation.metrics.accuracy).toBeGreaterThanOrEqual(0.872);
    expect(result.evaluation.metrics.auc).toBeGreaterThanOrEqual(0.927);
    expect(result.model.iterations.unit).toBe('round');
    expect(result.model.iterations.best).toBeLessThanOrEqual(result.model.iterations.run);
    expect(result.model.featureWeights.label).toBe('importance (gain)');
    expect(result.model.featureWeights.values.map((v) => v.feature)).toContain('capital_gain');
    const manifest = JSON.parse(readFileSync(join(runDirs('income')[0]!, 'artifacts', 'model', 'manifest.json'), 'utf8')) as { model: unknown; files: Record<string, string> };
    expect(Object.keys(manifest.files)).toContain('model/booster.json');
    expect(manifest.model).toEqual(result.model);

    const evaluated = await cli(['evaluate', result.run.id, '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect((JSON.parse(evaluated.stdout) as { metrics: Record<string, number> }).metrics).toEqual(result.evaluation.metrics);

    const record = { age: 52, workclass: 'Self-emp-inc', fnlwgt: 287927, education: 'HS-grad', education_num: 9, marital_status: 'Married-civ-spouse', occupation: 'Exec-managerial', relationship: 'Wife', capital_gain: 15024, capital_loss: 0, hours_per_week: 40, native_country: 'United-States' };
    const predicted = await cli(['predict', '--model', result.run.id, '--json'], JSON.stringify(record));
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(JSON.parse(predicted.stdout)).toMatchObject({ label: '>50K' });
    // A missing value goes down the side the trees learned for it; an unseen category too.
    const unusual = await cli(['predict', '--model', result.run.id, '--json'], JSON.stringify({ ...record, age: null, workclass: 'Astronaut' }));
    expect(unusual.code, unusual.stderr).toBe(0);
    expect(unusual.stderr).toMatch(/Astronaut/);

    // Scoring trees needs no TensorFlow.js: predict and evaluate never load it.
    for (const args of [['predict', '--model', result.run.id, '--json'], ['evaluate', result.run.id, '--json']]) {
      const trace = join(ws.dir, `trace-${args[0]}.txt`);
      const traced = spawnSync(process.execPath, ['--import', join(REPO_ROOT, 'test/helpers/import-tracer.mjs'), MLCTL_BIN, ...args], {
        cwd: ws.dir,
        env: { ...process.env, ...ws.env, CI: 'true', MLCTL_TRACE_IMPORTS: trace },
        input: JSON.stringify(record),
        encoding: 'utf8',
      });
      expect(traced.status, traced.stderr).toBe(0);
      const loaded = readFileSync(trace, 'utf8').split('\n');
      expect(loaded.some((u) => u.endsWith('/bin/mlctl') || u.includes('load-bundle')), 'the tracer saw the CLI load').toBe(true);
      expect(loaded.filter((u) => u.includes('@tensorflow')), `${args[0]} loaded TensorFlow.js`).toEqual([]);
    }
  }, 300_000);

  it('refuses out-of-range settings naming the flag and the range, before any data is read', async () => {
    const before = runDirs('housing').length;
    const r = await cli(['train', 'housing', '--model', 'gbt', '--max-leaves', '1', '--learning-rate', '0', '--trees', '-5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--max-leaves: must be a whole number from 2 to 131072, got 1');
    expect(r.stderr).toContain('--learning-rate: must be a number > 0 and ≤ 1, got 0');
    expect(r.stderr).toContain('--trees: must be a whole number from 1 to 100000, got -5');
    expect(runDirs('housing').length).toBe(before);
    const foreign = await cli(['train', 'income', '--model', 'gbt', '--epochs', '5']);
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toMatch(/--epochs does not apply to the gbt model family/);
  });

  it('stops on Ctrl-C within a round, leaving a KILLED run and no bundle', async () => {
    const child = spawn(process.execPath, [MLCTL_BIN, 'train', 'income', '--model', 'gbt', '--experiment', 'gbt-interrupt', '--trees', '100000', '--early-stopping-rounds', '0', '--learning-rate', '0.01', '--no-gates'], {
      cwd: ws.dir,
      env: { ...process.env, ...ws.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let runDir: string | undefined;
    for (let i = 0; i < 600; i++) {
      runDir = runDirs('gbt-interrupt')[0];
      if (runDir !== undefined && existsSync(join(runDir, 'metrics', 'val_loss.jsonl'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(runDir, 'a run with a first round appeared').toBeDefined();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    const run = JSON.parse(readFileSync(join(runDir!, 'run.json'), 'utf8')) as { status: string };
    expect(run.status).toBe('KILLED');
    expect(existsSync(join(runDir!, 'artifacts', 'model', 'manifest.json'))).toBe(false);
    // Params were logged before the fit, so the killed run still says what it was trying.
    expect(JSON.parse(readFileSync(join(runDir!, 'params.json'), 'utf8'))).toMatchObject({ model_family: 'gbt', trees: 100000 });
  }, 180_000);
});
