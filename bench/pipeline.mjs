#!/usr/bin/env node
// Preprocessing pipeline speed on the UCI Adult train set (32,561 rows × 14 columns).
// Needs the build: `npm run build`. Reads adult.data from
// $MLCTL_DATA_MIRROR/income, ../shared/data/income or data/raw/income, or generates
// rows of the same shape when none is there. Prints one JSON document.
//
//   node bench/pipeline.mjs [--runs 7]
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 7;

const { fitPipeline, transformRecords, transformRecordInto, parsePipeline } = await import(
  join(root, 'dist/core/features/pipeline.js')
);

const COLUMNS = [
  ['age', 'number'], ['workclass', 'string'], ['fnlwgt', 'number'], ['education', 'string'],
  ['education_num', 'number'], ['marital_status', 'string'], ['occupation', 'string'],
  ['relationship', 'string'], ['race', 'string'], ['sex', 'string'], ['capital_gain', 'number'],
  ['capital_loss', 'number'], ['hours_per_week', 'number'], ['native_country', 'string'],
  ['income', 'string'],
];

const numeric = (column, ...steps) => ({ column, type: 'numeric', steps: [{ kind: 'impute', strategy: 'median' }, ...steps, { kind: 'standardize' }] });
const categorical = (column) => ({
  column,
  type: 'categorical',
  steps: [{ kind: 'impute', strategy: 'most-frequent' }, { kind: 'one-hot', unseen: 'ignore' }],
});
const SPEC = {
  columns: [
    numeric('age'), categorical('workclass'), numeric('fnlwgt'), categorical('education'),
    numeric('education_num'), categorical('marital_status'), categorical('occupation'),
    categorical('relationship'), categorical('race'), categorical('sex'),
    numeric('capital_gain', { kind: 'log1p' }), numeric('capital_loss', { kind: 'log1p' }),
    numeric('hours_per_week'), categorical('native_country'),
  ],
};

function findAdult() {
  const candidates = [
    process.env.MLCTL_DATA_MIRROR && join(process.env.MLCTL_DATA_MIRROR, 'income', 'adult.data'),
    join(root, '..', 'shared', 'data', 'income', 'adult.data'),
    join(root, 'data', 'raw', 'income', 'adult.data'),
  ].filter(Boolean);
  return candidates.find((path) => existsSync(path));
}

/** The adult dialect, just enough of it: ", " separators, "?" missing, no header. */
function parseAdult(text) {
  const records = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(',');
    const record = {};
    COLUMNS.forEach(([name, type], i) => {
      const raw = (fields[i] ?? '').trim();
      record[name] = raw === '?' || raw === '' ? null : type === 'number' ? Number(raw) : raw;
    });
    records.push(record);
  }
  return records;
}

function generateAdultLike(count) {
  let state = 42;
  const rand = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const pick = (n, prefix) => `${prefix}-${Math.floor(rand() * rand() * n)}`;
  return Array.from({ length: count }, () => ({
    age: 17 + Math.floor(rand() * 73), workclass: rand() < 0.06 ? null : pick(8, 'w'),
    fnlwgt: Math.floor(rand() * 1_000_000), education: pick(16, 'e'), education_num: 1 + Math.floor(rand() * 16),
    marital_status: pick(7, 'm'), occupation: rand() < 0.06 ? null : pick(14, 'o'), relationship: pick(6, 'r'),
    race: pick(5, 'ra'), sex: rand() < 0.67 ? 'Male' : 'Female', capital_gain: rand() < 0.92 ? 0 : Math.floor(rand() * 99_999),
    capital_loss: rand() < 0.95 ? 0 : Math.floor(rand() * 4_356), hours_per_week: 1 + Math.floor(rand() * 98),
    native_country: rand() < 0.02 ? null : pick(41, 'c'), income: rand() < 0.24 ? '>50K' : '<=50K',
  }));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Wall and CPU milliseconds: on a shared, loaded machine CPU time is the steadier figure. */
function time(fn) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const result = fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, result };
}

const source = findAdult();
const records = source ? parseAdult(readFileSync(source, 'utf8')) : generateAdultLike(32_561);

const fitMs = [];
const transformMs = [];
const totalMs = [];
const totalCpuMs = [];
let pipeline;
let matrix;
for (let run = 0; run < runs; run++) {
  const fit = time(() => fitPipeline(SPEC, records));
  const transform = time(() => transformRecords(fit.result, records));
  fitMs.push(fit.ms);
  transformMs.push(transform.ms);
  totalMs.push(fit.ms + transform.ms);
  totalCpuMs.push(fit.cpuMs + transform.cpuMs);
  pipeline = fit.result;
  matrix = transform.result;
}

// Serving path: a pipeline freshly read from JSON, one record at a time into one buffer.
const parse = time(() => parsePipeline(JSON.parse(JSON.stringify(pipeline))));
const served = parse.result;
const out = new Float32Array(served.featureNames.length);
const single = [];
for (let run = 0; run < runs; run++) {
  const start = performance.now();
  for (let i = 0; i < records.length; i++) transformRecordInto(served, records[i], out, 0, undefined, i);
  single.push(((performance.now() - start) * 1000) / records.length);
}

const transformMedian = median(transformMs);
console.log(
  JSON.stringify(
    {
      bench: 'pipeline',
      source: source ?? 'generated',
      rows: records.length,
      columnsIn: SPEC.columns.length,
      featuresOut: matrix.cols,
      runs,
      fitMs: Number(median(fitMs).toFixed(2)),
      transformMs: Number(transformMedian.toFixed(2)),
      fitPlusTransformMs: Number(median(totalMs).toFixed(2)),
      fitPlusTransformCpuMs: Number(median(totalCpuMs).toFixed(2)),
      transformRowsPerSec: Math.round(records.length / (transformMedian / 1000)),
      parsePipelineMs: Number(parse.ms.toFixed(3)),
      singleRecordMicros: Number(median(single).toFixed(3)),
      loadAverage1m: Number(loadavg()[0].toFixed(2)),
      node: process.version,
    },
    null,
    2,
  ),
);
