#!/usr/bin/env node
// Benchmark of drift monitoring (issue 15). Prints one JSON document.
//
// - `mlctl monitor drift <model> --data rows.csv` on 100,000 rows drawn (seeded, with
//   replacement) from adult.data: whole-process wall time and CPU time (user + system, which a
//   busy shared machine inflates less), and the command's own phases. Target: under 2 s. The
//   same with --output-rows all (every row scored, not a 20,000-row sample), interleaved, and
//   the PSI between the two output distributions: what the sample costs in accuracy.
// - The per-record cost of binning against the reference profile (ProfileBinner.addRecord and
//   addOutput), which `serve` pays on every request (bench/serve.mjs measures it in whole requests:
//   driftMonitoringVsOff64); beside it, the per-record cost of
//   transformRecordInto, which serve already pays, for scale.
// - Sampling noise: how often unshifted samples of adult.test of 100 … 3,000 rows cross PSI 0.2
//   (and JS 0.1), the figures behind the thresholds in docs/design.md.
//
//   npm run build && node bench/monitor.mjs [--runs 5] [--rows 100000] [--model <ref>]
//
// The model: --model, else a run trained once (1 epoch: the network's shape, not its accuracy,
// sets the scoring cost) in bench/out/monitor-workspace and reused afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, median, MLCTL_BIN, REPO_ROOT, round, SHARED_DATA } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    rows: { type: 'string', default: '100000' },
    model: { type: 'string' },
  },
});
const RUNS = Number(args.runs);
const ROWS = Number(args.rows);

const OUT = join(REPO_ROOT, 'bench', 'out');
const WORKSPACE = join(OUT, 'monitor-workspace');
mkdirSync(WORKSPACE, { recursive: true });
const env = { ...process.env, CI: 'true', MLCTL_RUNS_DIR: join(WORKSPACE, 'runs'), MLCTL_DATA_DIR: join(WORKSPACE, 'data'), MLCTL_DATA_MIRROR: SHARED_DATA };

/** A run id whose bundle has a reference profile, training one when there is none. */
function benchModel() {
  if (args.model !== undefined) return args.model;
  const runsDir = join(WORKSPACE, 'runs', 'income');
  if (existsSync(runsDir)) {
    for (const id of readdirSync(runsDir)) if (existsSync(join(runsDir, id, 'artifacts', 'model', 'profile.json'))) return id;
  }
  const r = spawnSync(process.execPath, [MLCTL_BIN, 'train', 'income', '--epochs', '1', '--patience', '0', '--no-gates', '--json'], { cwd: WORKSPACE, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`training the bench model failed: ${r.stderr}`);
  return JSON.parse(r.stdout).run.id;
}

const COLUMNS = ['age', 'workclass', 'fnlwgt', 'education', 'education_num', 'marital_status', 'occupation', 'relationship', 'race', 'sex', 'capital_gain', 'capital_loss', 'hours_per_week', 'native_country', 'income'];

/** `count` rows of adult.data drawn with replacement by a seeded generator, as a CSV with a header. */
function writeRows(path, count) {
  const lines = readFileSync(join(SHARED_DATA, 'income', 'adult.data'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) =>
      line
        .split(',')
        .map((f) => f.trim())
        .map((f) => (f === '?' ? '' : f))
        .join(','),
    );
  let state = 42;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const out = [COLUMNS.join(',')];
  for (let i = 0; i < count; i++) out.push(lines[Math.floor(next() * lines.length)]);
  writeFileSync(path, `${out.join('\n')}\n`);
}

/** Runs `mlctl monitor drift` once: wall ms, the child's CPU ms (reported by a preloaded hook), its JSON. */
function timeDrift(model, csv, extra = []) {
  const cpuFile = join(OUT, `monitor-cpu-${process.pid}.json`);
  const hook = `data:text/javascript,${encodeURIComponent(`import { writeFileSync } from 'node:fs'; process.on('exit', () => { const u = process.cpuUsage(); writeFileSync(${JSON.stringify(cpuFile)}, JSON.stringify(u)); });`)}`;
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', hook, MLCTL_BIN, 'monitor', 'drift', model, '--data', csv, '--json', ...extra], { cwd: WORKSPACE, env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const wallMs = performance.now() - started;
  if (r.status !== 0) throw new Error(`mlctl monitor drift exited ${r.status}: ${r.stderr}`);
  const cpu = JSON.parse(readFileSync(cpuFile, 'utf8'));
  rmSync(cpuFile, { force: true });
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, json: JSON.parse(r.stdout) };
}

/** Median ns per call of `fn(i)` over `count` calls, timed in `rounds` rounds after a warm-up. */
function nsPerCall(fn, count, rounds = 7) {
  for (let i = 0; i < count; i++) fn(i);
  const samples = [];
  for (let round_ = 0; round_ < rounds; round_++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < count; i++) fn(i);
    samples.push(Number(process.hrtime.bigint() - t) / count);
  }
  return median(samples);
}

/**
 * How noisy PSI and JS are on unshifted data: seeded samples of adult.test (which does not
 * drift from adult.data) binned against the profile, per sample size, the share of samples
 * where some input's PSI exceeds 0.2 and where some categorical's JS distance exceeds 0.1.
 */
async function samplingNoise(bundleDir, sizes = [100, 300, 1000, 3000], samples = 40) {
  const [{ loadModel }, { readCsvFile }, { getDatasetSpec }, { validateRecords }, { createProfileBinner }, { compareWithProfile }, { resolveThresholds }] = await Promise.all([
    import('../dist/core/bundle/load-model.js'),
    import('../dist/core/datasets/csv-reader.js'),
    import('../dist/core/datasets/dataset-registry.js'),
    import('../dist/core/features/record-validation.js'),
    import('../dist/core/monitoring/profile-binner.js'),
    import('../dist/core/monitoring/compare-drift.js'),
    import('../dist/core/monitoring/drift-thresholds.js'),
  ]);
  const model = await loadModel(bundleDir);
  const table = await readCsvFile(join(SHARED_DATA, 'income', 'adult.test'), { spec: getDatasetSpec('income') });
  const { records } = validateRecords(model.pipeline, table.records);
  const binner = createProfileBinner(model.referenceProfile(), model.meaning);
  const thresholds = resolveThresholds(undefined);
  let state = 7;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const result = {};
  for (const size of sizes) {
    let psiFlagged = 0;
    let jsFlagged = 0;
    const largest = [];
    for (let s = 0; s < samples; s++) {
      const counts = binner.newCounts();
      for (let i = 0; i < size; i++) binner.addRecord(records[Math.floor(next() * records.length)], counts);
      const c = compareWithProfile(binner, counts, size, thresholds);
      if (c.features.some((f) => f.psi > 0.2)) psiFlagged++;
      if (c.features.some((f) => f.js !== null && f.js > 0.1)) jsFlagged++;
      largest.push(c.features.reduce((best, f) => (f.psi > best.psi ? f : best)));
    }
    const names = largest.map((f) => f.feature);
    result[size] = {
      samplesWithPsiOver0_2: psiFlagged,
      samplesWithJsOver0_1: jsFlagged,
      medianLargestPsi: round(median(largest.map((f) => f.psi)), 3),
      mostOftenLargest: names.sort((a, b) => names.filter((n) => n === b).length - names.filter((n) => n === a).length)[0],
    };
  }
  model.dispose();
  return { samples, ...result };
}

async function microBenchmark(bundleDir) {
  const [{ loadModel }, { readCsvFile }, { getDatasetSpec }, { validateRecords }, { createProfileBinner }, { transformRecordInto }] = await Promise.all([
    import('../dist/core/bundle/load-model.js'),
    import('../dist/core/datasets/csv-reader.js'),
    import('../dist/core/datasets/dataset-registry.js'),
    import('../dist/core/features/record-validation.js'),
    import('../dist/core/monitoring/profile-binner.js'),
    import('../dist/core/features/pipeline.js'),
  ]);
  const model = await loadModel(bundleDir);
  const table = await readCsvFile(join(SHARED_DATA, 'income', 'adult.data'), { spec: getDatasetSpec('income') });
  const { records } = validateRecords(model.pipeline, table.records);
  const binner = createProfileBinner(model.referenceProfile(), model.meaning);
  const counts = binner.newCounts();
  const n = records.length;
  const raw = await model.scoreRecords(records);
  const features = new Float32Array(model.width);
  const result = {
    records: n,
    inputs: binner.features.length,
    binRecordNs: round(nsPerCall((i) => binner.addRecord(records[i], counts), n), 1),
    binOutputNs: round(nsPerCall((i) => binner.addOutput(raw, i, counts), n), 1),
    transformRecordNs: round(nsPerCall((i) => transformRecordInto(model.pipeline, records[i], features, 0), n), 1),
  };
  // Every count landed somewhere: one per input per call.
  const perInput = counts.subarray(binner.features[0].offset, binner.features[0].offset + binner.features[0].size).reduce((a, b) => a + b, 0);
  if (perInput !== n * 8) throw new Error(`binning lost records: ${perInput} counted for ${n * 8}`);
  model.dispose();
  return result;
}

const model = benchModel();
const csv = join(OUT, `monitor-rows-${ROWS}.csv`);
if (!existsSync(csv)) writeRows(csv, ROWS);
timeDrift(model, csv); // warm the file cache
// Interleaved, so a busy moment of the machine slows both alike: the default (the output
// distribution from a 20,000-row sample) and --output-rows all (every row scored).
const runs = [];
const everyRow = [];
for (let i = 0; i < RUNS; i++) {
  runs.push(timeDrift(model, csv));
  everyRow.push(timeDrift(model, csv, ['--output-rows', 'all']));
}
const bundleDir = runs[0].json.model.bundleDir;
const summary = (list) => ({
  rows: list[0].json.rows,
  outputRows: list[0].json.output.rows,
  runs: RUNS,
  medianWallMs: round(median(list.map((r) => r.wallMs))),
  medianCpuMs: round(median(list.map((r) => r.cpuMs))),
  minWallMs: round(Math.min(...list.map((r) => r.wallMs))),
  medianPhaseMs: Object.fromEntries(Object.keys(list[0].json.timings).map((phase) => [phase, round(median(list.map((r) => r.json.timings[phase])))])),
});
const wall = median(runs.map((r) => r.wallMs));
const { populationStabilityIndex } = await import('../dist/core/monitoring/drift-measures.js');
const outputCounts = (r) => r.json.output.bins.map((b) => b.currentCount);
const micro = await microBenchmark(bundleDir);
const noise = await samplingNoise(bundleDir);

console.log(
  JSON.stringify(
    {
      benchmark: 'monitor',
      machine: machine(),
      model,
      driftFromCsv: {
        ...summary(runs),
        drifted: runs[0].json.drifted,
        target: { medianWallMsUnder: 2000, met: wall < 2000 },
      },
      driftFromCsvScoringEveryRow: summary(everyRow),
      // What the sample costs in accuracy: PSI between the output bins of the sample and of every row.
      outputSamplePsiAgainstEveryRow: round(populationStabilityIndex(outputCounts(everyRow[0]), outputCounts(runs[0])), 6),
      binning: { ...micro, note: 'ns per record, median of 7 passes over adult.data; serve pays binRecordNs + binOutputNs per record' },
      unshiftedSamplesOfAdultTest: noise,
    },
    null,
    2,
  ),
);
