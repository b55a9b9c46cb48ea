import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listModelFamilies, registerModelFamily } from '../../src/core/models/model-families.js';
import type { ModelFamily } from '../../src/core/models/model-family.js';
import { loadPredictor } from '../../src/core/predict/predictor.js';
import { collectRunReport } from '../../src/core/report/collect-run-report.js';
import { renderRunReport } from '../../src/core/report/render-run-report.js';
import { createModelHolder } from '../../src/core/serving/model-holder.js';
import { createServeHandler } from '../../src/core/serving/prediction-handler.js';
import { createServeLogger } from '../../src/core/serving/request-log.js';
import { loadServedModel } from '../../src/core/serving/served-model.js';
import { createServingMetrics } from '../../src/core/serving/serving-metrics.js';
import { applyOverrides, getTask } from '../../src/core/tasks/task-registry.js';
import { createFileRunStore } from '../../src/core/tracking/file-run-store.js';
import { evaluateModel } from '../../src/core/training/evaluate-model.js';
import { trainTask } from '../../src/core/training/train-task.js';
import { REPO_ROOT, SHARED_DATA } from '../helpers/cli.js';

/**
 * The model-family seam: a family that exists only in this file is registered, trained,
 * bundled, predicted, evaluated, reported and served through the same code the built-in
 * families use. Nothing outside src/core/models/ names a family.
 */

/** Predicts the (smoothed) training mean of the target: the smallest family there is. */
const priorFamily: ModelFamily = {
  name: 'test-prior',
  description: 'the training mean of the target (a test family)',
  problemTypes: ['regression', 'binary-classification'],
  params: { smoothing: { type: 'number', default: 0, min: 0, description: 'pseudo-rows at zero added to the mean' } },
  backends: [],
  async fit(train, _validation, params, options) {
    let sum = 0;
    for (const y of train.y) sum += y;
    const mean = sum / (train.y.length + (params.smoothing as number));
    await options.onIteration?.({ unit: 'pass', iteration: 1, iterations: 1, metrics: { train_loss: 0 }, elapsedMs: 0, etaMs: 0 });
    return {
      files: new Map([['prior.json', new TextEncoder().encode(JSON.stringify({ mean }))]]),
      summary: { facts: [{ label: 'prior', value: mean.toFixed(2) }], featureWeights: { label: 'weight', description: 'none: a constant', values: [] } },
      backend: 'js',
    };
  },
  async load(files) {
    const { mean } = JSON.parse(new TextDecoder().decode(files.get('prior.json')!)) as { mean: number };
    return { kind: 'prior-js', outputs: 1, score: (_features, rows) => new Float32Array(rows).fill(mean), dispose: () => {} };
  },
};

let work: string;
let unregister: () => void;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'mlctl-seam-'));
  unregister = registerModelFamily(priorFamily);
});
afterAll(() => {
  unregister();
  rmSync(work, { recursive: true, force: true });
});

describe('a model family defined outside src/', () => {
  it('is trained, bundled, predicted, evaluated, reported and served with no other change', async () => {
    expect(listModelFamilies().map((f) => f.name)).toContain('test-prior');
    const task = applyOverrides(getTask('housing'), { family: 'test-prior', params: { smoothing: 1 } });
    const data = { dataDir: join(work, 'data'), mirror: SHARED_DATA };
    const trained = await trainTask({
      task,
      runStore: createFileRunStore({ root: join(work, 'runs') }),
      commandLine: 'test',
      gitCommit: null,
      mlctlVersion: '0.0.0-test',
      data,
    });
    expect(trained.modelFamily).toBe('test-prior');
    expect(trained.model.facts[0]?.label).toBe('prior');
    const mean = Number(trained.model.facts[0]!.value);
    expect(mean).toBeGreaterThan(1_000_000);

    // predict
    const predictor = await loadPredictor(trained.bundleDir);
    expect(predictor.scorer.kind).toBe('prior-js');
    const record = { area: 7420, bedrooms: 4, bathrooms: 2, stories: 3, mainroad: 'yes', guestroom: 'no', basement: 'no', hotwaterheating: 'no', airconditioning: 'yes', parking: 2, prefarea: 'yes', furnishingstatus: 'furnished' };
    const [answer] = await predictor.predict([record]);
    expect(answer).toEqual({ prediction: expect.closeTo(mean, 0) });

    // evaluate: the same metrics the run recorded
    const evaluation = await evaluateModel(predictor, { data, keepRecords: true });
    expect(evaluation.metrics.r2).toBeCloseTo(trained.evaluation.metrics.r2!, 10);
    expect(evaluation.metrics.r2).toBeLessThan(0.05);

    // report
    const report = await collectRunReport({
      runs: createFileRunStore({ root: join(work, 'runs') }),
      modelRef: trained.run.id,
      runId: trained.run.id,
      predictor,
      evaluation,
      mlctlVersion: '0.0.0-test',
      importance: { repeats: 1 },
    });
    const html = renderRunReport(report);
    expect(html).toContain('The fitted test-prior model');
    expect(html).toContain('<section id="regression">');

    // serve
    const served = await loadServedModel({ bundleDir: trained.bundleDir, source: { kind: 'path' } });
    const metrics = createServingMetrics();
    metrics.setModel(served);
    const handler = createServeHandler({
      holder: createModelHolder({ initial: served, resolve: async () => ({ bundleDir: served.bundleDir, source: served.source }), load: async () => served }),
      metrics,
      logger: createServeLogger({ sink: { write: () => {} }, ipKey: new Uint8Array(32) }),
      mlctlVersion: '0.0.0-test',
    });
    const response = await handler.handle({ method: 'POST', url: '/predict', contentType: 'application/json', authorization: undefined, body: Buffer.from(JSON.stringify([record])), clientIp: '127.0.0.1' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).predictions[0].prediction).toBeCloseTo(mean, 0);
    predictor.dispose();
  });

  it('refuses its parameters out of range, naming them, before any data is read', () => {
    let problems: readonly string[] = [];
    try {
      applyOverrides(getTask('housing'), { family: 'test-prior', params: { smoothing: -1, smooth: 2 } });
    } catch (error) {
      problems = (error as { problems: readonly string[] }).problems;
    }
    expect(problems).toEqual([
      'model.params.smoothing: must be a number ≥ 0, got -1',
      'model.params.smooth: is not a parameter of this model family (did you mean "smoothing"?); it takes smoothing',
    ]);
  });
});

describe('nothing outside src/core/models/ names a model family', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
    });

  it('holds for every built-in family, by name as a string literal', () => {
    const names = listModelFamilies()
      .map((f) => f.name)
      .filter((name) => name !== 'test-prior');
    const offenders: string[] = [];
    for (const path of files(join(REPO_ROOT, 'src'))) {
      const rel = relative(REPO_ROOT, path);
      // Family code, and the built-in tasks, which are data that choose a family.
      if (rel.startsWith(join('src', 'core', 'models')) || rel === join('src', 'core', 'tasks', 'builtin-tasks.ts')) continue;
      const text = readFileSync(path, 'utf8');
      for (const name of names) if (new RegExp(`['"\`]${name}['"\`]`).test(text)) offenders.push(`${rel} names "${name}"`);
    }
    expect(offenders).toEqual([]);
  });
});
