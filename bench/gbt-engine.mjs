// bench/gbt-engine: the gradient-boosted trees engine alone on Adult (income), defaults.
// Reads adult.data / adult.test with plain code (numeric columns raw, `?` missing, string
// columns as codes of the sorted training categories), holds out a seeded 10 % of adult.data
// for early stopping, trains, and scores adult.test. Prints one JSON document: accuracy, AUC,
// log loss, trees kept, fit ms, test-set score ms (first call, as a CLI run pays it, and best of
// five more) and single-row score µs (warm), as medians over
// BENCH_RUNS runs (seeds BENCH_SEED, BENCH_SEED + 1, …), with every run's figures. fitCpuMs
// (the process's CPU time during the fit) is steadier than wall time on a shared machine.
//   npm run build && node bench/gbt-engine.mjs ['{"learningRate":0.05}']
// Compare with: /usr/bin/python3 bench/gbt-sklearn-reference.py
// Targets (gbt engine brief): accuracy ≥ 0.872, AUC ≥ 0.927, fit well under 1.5 s.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine, median, round, SHARED_DATA } from './lib.mjs';
import { createBoosterScorer, trainBooster, readGbtParams } from '../dist/core/models/gbt/gbt-engine.js';
import { classificationMetrics, logLoss, rocAuc } from '../dist/core/metrics/classification.js';
import { createRng, shuffleInPlace } from '../dist/core/random.js';

const COLUMNS = ['age', 'workclass', 'fnlwgt', 'education', 'education_num', 'marital_status', 'occupation', 'relationship', 'race', 'sex', 'capital_gain', 'capital_loss', 'hours_per_week', 'native_country'];
const CATEGORICAL = new Set(['workclass', 'education', 'marital_status', 'occupation', 'relationship', 'race', 'sex', 'native_country']);

const runs = Number(process.env.BENCH_RUNS ?? 3);
const firstSeed = Number(process.env.BENCH_SEED ?? 0);
const { params, problems } = readGbtParams(JSON.parse(process.argv[2] ?? '{}'));
if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('\n'));

/** Rows of trimmed fields; `?` stays as is; the label's trailing '.' (adult.test) is dropped. */
function readAdult(name, skipFirstLine) {
  const lines = readFileSync(join(SHARED_DATA, 'income', name), 'utf8').split('\n');
  const rows = [];
  for (const [i, line] of lines.entries()) {
    if ((skipFirstLine && i === 0) || line.trim() === '') continue;
    rows.push(line.split(',').map((field) => field.trim()));
  }
  return rows;
}

function encode(rows, categories) {
  const cols = COLUMNS.length;
  const x = new Float32Array(rows.length * cols);
  const y = new Float32Array(rows.length);
  rows.forEach((fields, r) => {
    COLUMNS.forEach((name, c) => {
      const field = fields[c];
      if (field === '?') x[r * cols + c] = Number.NaN;
      else if (CATEGORICAL.has(name)) x[r * cols + c] = categories[c].get(field) ?? Number.NaN;
      else x[r * cols + c] = Number(field);
    });
    y[r] = fields[cols].replace(/\.$/, '') === '>50K' ? 1 : 0;
  });
  return { x, y, rows: rows.length, cols };
}

const trainRows = readAdult('adult.data', false);
const testRows = readAdult('adult.test', true);
const categories = COLUMNS.map((name, c) => {
  if (!CATEGORICAL.has(name)) return null;
  const seen = [...new Set(trainRows.map((row) => row[c]).filter((v) => v !== '?'))].sort();
  return new Map(seen.map((value, code) => [value, code]));
});
const features = COLUMNS.map((name, c) => (CATEGORICAL.has(name) ? { name, kind: 'categorical', cardinality: categories[c].size } : { name, kind: 'numeric' }));
const all = encode(trainRows, categories);
const test = encode(testRows, categories);

function subset(data, indices) {
  const x = new Float32Array(indices.length * data.cols);
  const y = new Float32Array(indices.length);
  indices.forEach((r, i) => {
    x.set(data.x.subarray(r * data.cols, (r + 1) * data.cols), i * data.cols);
    y[i] = data.y[r];
  });
  return { x, y, rows: indices.length, cols: data.cols, features };
}

const samples = [];
for (let run = 0; run < runs; run++) {
  const seed = firstSeed + run;
  const order = Array.from({ length: all.rows }, (_, i) => i);
  shuffleInPlace(order, createRng(seed));
  const validationRows = Math.round(all.rows * 0.1);
  const validation = subset(all, order.slice(0, validationRows).sort((a, b) => a - b));
  const train = subset(all, order.slice(validationRows).sort((a, b) => a - b));

  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const booster = await trainBooster(train, validation, params, { objective: 'binary', seed });
  const fitMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const fitCpuMs = (cpu.user + cpu.system) / 1000;

  const scorer = createBoosterScorer(booster);
  const scoreStarted = performance.now();
  const prob = scorer.score(test.x, test.rows).slice();
  const scoreMs = performance.now() - scoreStarted;
  let scoreWarmMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const again = performance.now();
    scorer.score(test.x, test.rows);
    scoreWarmMs = Math.min(scoreWarmMs, performance.now() - again);
  }
  const one = test.x.subarray(0, test.cols);
  const reps = 2000;
  for (let i = 0; i < 200; i++) scorer.score(one, 1);
  const oneStarted = performance.now();
  for (let i = 0; i < reps; i++) scorer.score(one, 1);
  const singleRowUs = ((performance.now() - oneStarted) / reps) * 1000;

  samples.push({
    seed,
    accuracy: classificationMetrics(test.y, prob).accuracy,
    auc: rocAuc(test.y, prob),
    logLoss: logLoss(test.y, prob),
    trees: booster.bestIteration,
    roundsRun: booster.iterationsRun,
    fitMs,
    fitCpuMs,
    scoreMs,
    scoreWarmMs,
    singleRowUs,
  });
}

const med = (key, digits) => round(median(samples.map((s) => s[key])), digits);
console.log(
  JSON.stringify(
    {
      benchmark: 'gbt-engine',
      machine: machine(),
      runs,
      params,
      trainRows: all.rows - Math.round(all.rows * 0.1),
      accuracy: med('accuracy', 4),
      auc: med('auc', 4),
      logLoss: med('logLoss', 4),
      trees: med('trees', 0),
      fitMs: med('fitMs', 1),
      fitCpuMs: med('fitCpuMs', 1),
      scoreMs: med('scoreMs', 1),
      scoreWarmMs: med('scoreWarmMs', 1),
      singleRowUs: med('singleRowUs', 2),
      perRun: samples.map((s) => ({ ...s, accuracy: round(s.accuracy, 4), auc: round(s.auc, 4), logLoss: round(s.logLoss, 4), fitMs: round(s.fitMs, 1), fitCpuMs: round(s.fitCpuMs, 1), scoreMs: round(s.scoreMs, 1), scoreWarmMs: round(s.scoreWarmMs, 1), singleRowUs: round(s.singleRowUs, 2) })),
    },
    null,
    2,
  ),
);
