// bench/train-income: `mlctl train income` with defaults, data already present.
// Prints per-phase times (load, preprocess, fit, evaluate, save), training rows/s, epochs,
// the test metrics and whole-process wall time, as medians over BENCH_RUNS runs.
// Target (issue 2): under 30 s wall with defaults; accuracy >= 0.850 and AUC >= 0.905.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, median, round, SHARED_DATA, timeCli } from './lib.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const extra = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'mlctl-bench-train-'));
const env = { MLCTL_DATA_DIR: join(dir, 'data'), MLCTL_RUNS_DIR: join(dir, 'runs'), MLCTL_DATA_MIRROR: SHARED_DATA };
try {
  timeCli(['data', 'pull', 'income'], { cwd: dir, env });
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const { ms, stdout } = timeCli(['train', 'income', '--json', '--no-gates', ...extra], { cwd: dir, env });
    const r = JSON.parse(stdout);
    samples.push({ wallMs: ms, ...r.timings, rowsPerSecond: r.trainingRowsPerSecond, epochs: r.model.iterations?.run, bestEpoch: r.model.iterations?.best, backend: r.backend, metrics: r.evaluation.metrics });
  }
  const med = (key) => round(median(samples.map((s) => s[key])));
  const figures = {
    benchmark: 'train-income',
    machine: machine(),
    runs,
    flags: extra,
    backend: samples[0].backend,
    wallMs: med('wallMs'),
    phasesMs: { load: med('load'), preprocess: med('preprocess'), fit: med('fit'), evaluate: med('evaluate'), save: med('save') },
    trainingRowsPerSecond: Math.round(median(samples.map((s) => s.rowsPerSecond))),
    epochs: samples.map((s) => s.epochs),
    accuracy: samples.map((s) => round(s.metrics.accuracy, 4)),
    auc: samples.map((s) => round(s.metrics.auc, 4)),
    targets: {
      wallMsUnder: 30_000,
      wallMet: med('wallMs') < 30_000,
      qualityMet: samples.every((s) => s.metrics.accuracy >= 0.85 && s.metrics.auc >= 0.905),
    },
  };
  console.log(JSON.stringify(figures, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
