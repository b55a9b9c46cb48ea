// bench/tracking-generate: writes a synthetic tracking store straight to disk, in the exact
// layout the file store writes (run.json, params.json, tags.json, metrics/<key>.jsonl).
// Default: 10,000 runs × 20 params × 10 metrics × 100 steps (issue 3's benchmark store).
//   node bench/tracking-generate.mjs [root]   (BENCH_RUNS, BENCH_STEPS override the size)
// Prints one JSON document: what was written and how long it took.
import { rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, round } from './lib.mjs';

export const METRICS = ['accuracy', 'auc', 'loss', 'val_loss', 'val_accuracy', 'val_auc', 'precision', 'recall', 'f1', 'brier'];
export const LEARNING_RATES = [0.0001, 0.0004, 0.001, 0.004, 0.01];

/** mulberry32: a small seeded generator, so every generated store is the same. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateStore(root, { runs = 10_000, steps = 100, params = 20, experiments = ['income', 'housing'] } = {}) {
  const random = rng(42);
  const started = performance.now();
  const t0 = Date.parse('2025-01-01T00:00:00Z');
  const ids = [];
  let metricPoints = 0;
  for (const experiment of experiments) {
    mkdirSync(join(root, experiment), { recursive: true });
    writeFileSync(join(root, experiment, 'experiment.json'), `${JSON.stringify({ name: experiment, createdTime: new Date(t0).toISOString() }, null, 2)}\n`);
  }
  for (let i = 0; i < runs; i += 1) {
    const experiment = experiments[i % experiments.length];
    const start = t0 + i * 60_000;
    const id = `${start.toString(16).padStart(12, '0')}${Math.floor(random() * 2 ** 32).toString(16).padStart(8, '0')}`;
    ids.push(id);
    const dir = join(root, experiment, id);
    mkdirSync(join(dir, 'metrics'), { recursive: true });
    mkdirSync(join(dir, 'artifacts'));
    const info = {
      id, name: `bench-run-${i}`, experiment, status: 'FINISHED', startTime: new Date(start).toISOString(), endTime: new Date(start + 45_000).toISOString(),
      pid: 1, host: 'bench-host', user: 'bench', gitCommit: null, commandLine: 'mlctl train income', task: experiment, datasetSha256: null, backend: 'cpu', note: null,
    };
    const p = { learningRate: LEARNING_RATES[Math.floor(random() * LEARNING_RATES.length)], optimizer: random() < 0.5 ? 'adam' : 'sgd' };
    for (let k = 2; k < params; k += 1) p[`param_${String(k).padStart(2, '0')}`] = k % 2 === 0 ? Math.round(random() * 1000) / 1000 : `value-${Math.floor(random() * 10)}`;
    writeFileSync(join(dir, 'params.json'), `${JSON.stringify(p, null, 2)}\n`);
    writeFileSync(join(dir, 'tags.json'), `${JSON.stringify({ team: random() < 0.5 ? 'ml' : 'data' }, null, 2)}\n`);
    const finalMetrics = {};
    const finalAccuracy = 0.6 + random() * 0.35;
    const finalAuc = 0.65 + random() * 0.33;
    for (const key of METRICS) {
      const final = key === 'accuracy' ? finalAccuracy : key === 'auc' ? finalAuc : random();
      let text = '';
      for (let step = 0; step < steps; step += 1) {
        // A curve that ends exactly at `final`.
        const value = step === steps - 1 ? final : final * (1 - Math.exp(-(step + 1) / 10)) + random() * 0.01;
        text += `{"step":${step},"value":${value},"timestamp":${start + step * 400}}\n`;
      }
      writeFileSync(join(dir, 'metrics', `${key}.jsonl`), text);
      finalMetrics[key] = final;
      metricPoints += steps;
    }
    // As end() writes it: RunInfo plus the last value of each metric.
    const sortedFinal = Object.fromEntries(Object.entries(finalMetrics).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileSync(join(dir, 'run.json'), `${JSON.stringify({ ...info, finalMetrics: sortedFinal }, null, 2)}\n`);
  }
  return { root, runs, params, metrics: METRICS.length, steps, metricPoints, ids, ms: performance.now() - started };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = process.argv[2] ?? join(tmpdir(), 'mlctl-bench-tracking', 'runs');
  // Generation is seeded, so a second run would collide with the first: start from nothing.
  rmSync(root, { recursive: true, force: true });
  const result = generateStore(root, { runs: Number(process.env.BENCH_RUNS ?? 10_000), steps: Number(process.env.BENCH_STEPS ?? 100) });
  console.log(JSON.stringify({ benchmark: 'tracking-generate', machine: machine(), root, runs: result.runs, params: result.params, metrics: result.metrics, steps: result.steps, metricPoints: result.metricPoints, wallMs: round(result.ms) }, null, 2));
}
