// bench/gbt-housing: a regression sanity check of the gradient-boosted trees engine on the
// housing data (545 rows): R² on a seeded 20 % hold-out, next to scikit-learn's
// HistGradientBoostingRegressor on exactly the same rows (bench/gbt-housing-sklearn.py draws
// the same split: the same mulberry32 shuffle as src/core/random.ts).
// Two runs of the engine: defaults with early stopping on a seeded 10 % of the training rows
// (how mlctl trains), and defaults on all training rows with no validation (every round runs).
//   npm run build && node bench/gbt-housing.mjs && /usr/bin/python3 bench/gbt-housing-sklearn.py
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, round, SHARED_DATA } from './lib.mjs';
import { createBoosterScorer, GBT_DEFAULTS, trainBooster } from '../dist/core/models/gbt/gbt-engine.js';
import { regressionMetrics } from '../dist/core/metrics/regression.js';
import { createRng, shuffleInPlace } from '../dist/core/random.js';

const seeds = (process.env.BENCH_SEEDS ?? '0,1,2,3,4').split(',').map(Number);
const lines = readFileSync(join(SHARED_DATA, 'housing', 'housing.csv'), 'utf8').trim().split('\n');
const header = lines[0].split(',');
const rows = lines.slice(1).map((line) => line.split(','));
const target = header.indexOf('price');
const columns = header.filter((name) => name !== 'price');
const furnishing = [...new Set(rows.map((row) => row[header.indexOf('furnishingstatus')]))].sort();
const features = columns.map((name) => (name === 'furnishingstatus' ? { name, kind: 'categorical', cardinality: furnishing.length } : { name, kind: 'numeric' }));

function encode(field, name) {
  if (name === 'furnishingstatus') return furnishing.indexOf(field);
  if (field === 'yes' || field === 'no') return field === 'yes' ? 1 : 0;
  return Number(field);
}

function dataset(indices) {
  const cols = columns.length;
  const x = new Float32Array(indices.length * cols);
  const y = new Float32Array(indices.length);
  indices.forEach((r, i) => {
    columns.forEach((name, c) => (x[i * cols + c] = encode(rows[r][header.indexOf(name)], name)));
    y[i] = Number(rows[r][target]);
  });
  return { x, y, rows: indices.length, cols, features };
}

/** The seeded split both scripts draw: shuffle 0..n−1, the first 20 % are held out. */
function split(n, seed, fraction) {
  const order = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(order, createRng(seed));
  const cut = Math.round(n * fraction);
  return { held: order.slice(0, cut).sort((a, b) => a - b), kept: order.slice(cut).sort((a, b) => a - b) };
}

const results = [];
for (const seed of seeds) {
  const { held, kept } = split(rows.length, seed, 0.2);
  const test = dataset(held);
  const inner = split(kept.length, seed + 1, 0.1);
  const train = dataset(inner.kept.map((i) => kept[i]));
  const validation = dataset(inner.held.map((i) => kept[i]));
  const stopped = await trainBooster(train, validation, GBT_DEFAULTS, { objective: 'regression', seed });
  const all = await trainBooster(dataset(kept), undefined, GBT_DEFAULTS, { objective: 'regression', seed });
  results.push({
    seed,
    r2EarlyStopping: regressionMetrics(test.y, createBoosterScorer(stopped).score(test.x, test.rows)).r2,
    treesEarlyStopping: stopped.bestIteration,
    r2AllRounds: regressionMetrics(test.y, createBoosterScorer(all).score(test.x, test.rows)).r2,
    treesAllRounds: all.bestIteration,
  });
}
const med = (key) => round(median(results.map((r) => r[key])), 4);
console.log(
  JSON.stringify(
    {
      benchmark: 'gbt-housing',
      rows: rows.length,
      holdOut: Math.round(rows.length * 0.2),
      r2EarlyStopping: med('r2EarlyStopping'),
      r2AllRounds: med('r2AllRounds'),
      perSeed: results.map((r) => ({ ...r, r2EarlyStopping: round(r.r2EarlyStopping, 4), r2AllRounds: round(r.r2AllRounds, 4) })),
    },
    null,
    2,
  ),
);
