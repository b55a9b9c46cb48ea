// bench/data-scale (issue 18): mlctl against pandas + scikit-learn on generated Adult-like
// files, side by side in the same run, interleaved round by round, whole process each. Wall time
// and peak RSS come from the operating system (bench/data-scale/measure.py: getrusage of the
// child). Prints one JSON document; figures are medians over the rounds.
//
//   npm run build && node bench/data-scale.mjs [--rounds 3] [--describe-rows 10000000] [--train-rows 2000000] [--only describe,linear,gbt,predict]
//
// Jobs (bench/data-scale/reference.py is the Python side of each):
//   describe  mlctl data describe big.csv --json        vs pandas read_csv + describe(include='all')
//   linear    mlctl train --data f --target yearly_income --model linear
//                                                      vs read_csv + impute/scale/one-hot + LinearRegression
//   gbt       mlctl train --config (income, without yearly_income) --model gbt
//                                                      vs read_csv + HistGradientBoostingClassifier
//   predict   mlctl predict --input f --output preds.csv (the gbt model)
//                                                      vs read_csv + a HistGradientBoosting model's predict_proba to CSV
//
// Targets: describe of ~1 GB peak RSS < 300 MiB and wall ≤ pandas'; linear and gbt on 2 M rows
// peak RSS ≤ 3 × the CSV's size, wall ≤ 2 × scikit-learn's; predict of 2 M rows peak RSS < 400 MiB.
// The files are written to a temporary folder and removed at the end. Never run in tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateAdultLike } from './data-scale/generate.mjs';
import { machine, median, MLCTL_BIN, REPO_ROOT, round, SHARED_DATA } from './lib.mjs';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: process.env.BENCH_RUNS ?? '3' },
    'describe-rows': { type: 'string', default: process.env.BENCH_DESCRIBE_ROWS ?? '10000000' },
    'train-rows': { type: 'string', default: process.env.BENCH_TRAIN_ROWS ?? '2000000' },
    only: { type: 'string', default: 'describe,linear,gbt,predict' },
  },
});
const rounds = Number(options.rounds);
const jobs = new Set(options.only.split(','));
const PYTHON = process.env.MLCTL_BENCH_PYTHON ?? '/usr/bin/python3';
const MEASURE = join(REPO_ROOT, 'bench', 'data-scale', 'measure.py');
const REFERENCE = join(REPO_ROOT, 'bench', 'data-scale', 'reference.py');
const MiB = 1024 * 1024;

const work = mkdtempSync(join(tmpdir(), 'mlctl-bench-data-scale-'));
const env = { ...process.env, CI: 'true', MLCTL_DATA_MIRROR: SHARED_DATA, MLCTL_RUNS_DIR: join(work, 'runs'), MLCTL_DATA_DIR: join(work, 'data') };

/** One whole process under measure.py: wall time, peak RSS and (when asked) its stdout as JSON. */
function measured(command, args) {
  const stdout = join(work, 'stdout.json');
  const r = spawnSync(PYTHON, [MEASURE, '--stdout', stdout, '--', command, ...args], { cwd: work, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`measure.py failed: ${r.stderr}`);
  const measure = JSON.parse(r.stdout.trim().split('\n').at(-1));
  if (measure.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} exited ${measure.exitCode}: ${r.stderr.slice(-2000)}`);
  let output;
  try {
    output = JSON.parse(spawnSync('cat', [stdout], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout);
  } catch {
    output = undefined;
  }
  return { wallMs: measure.wallMs, peakRssMiB: measure.peakRssMiB, output };
}

const mlctl = (...args) => measured(process.execPath, [MLCTL_BIN, ...args]);
const python = (job, file) => measured(PYTHON, [REFERENCE, job, file]);

function summary(runs) {
  return { wallMsMedian: round(median(runs.map((r) => r.wallMs))), peakRssMiBMedian: round(median(runs.map((r) => r.peakRssMiB))), wallMs: runs.map((r) => r.wallMs), peakRssMiB: runs.map((r) => r.peakRssMiB) };
}

/** Runs `ours` and `theirs` alternately, `rounds` times; medians and their ratio. */
function compare(name, ours, theirs, facts = () => ({})) {
  process.stderr.write(`data-scale: ${name}`);
  const a = [];
  const b = [];
  for (let i = 0; i < rounds; i++) {
    a.push(ours());
    b.push(theirs());
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  const mine = summary(a);
  const reference = summary(b);
  return { mlctl: mine, reference, wallRatio: round(mine.wallMsMedian / reference.wallMsMedian, 2), ...facts(a.at(-1).output, b.at(-1).output) };
}

const document = { benchmark: 'data-scale', machine: machine(), rounds, files: {}, results: {}, targets: {} };
try {
  const trainRows = Number(options['train-rows']);
  const trainFile = join(work, 'train.csv');
  if (jobs.has('linear') || jobs.has('gbt') || jobs.has('predict')) {
    process.stderr.write(`data-scale: writing ${trainRows} rows\n`);
    await generateAdultLike(trainRows, trainFile, { seed: 1, mirror: SHARED_DATA });
    document.files.train = { rows: trainRows, bytes: statSync(trainFile).size };
  }
  const trainMiB = (document.files.train?.bytes ?? 0) / MiB;

  if (jobs.has('describe')) {
    const rows = Number(options['describe-rows']);
    const file = join(work, 'describe.csv');
    process.stderr.write(`data-scale: writing ${rows} rows\n`);
    await generateAdultLike(rows, file, { seed: 2, mirror: SHARED_DATA });
    document.files.describe = { rows, bytes: statSync(file).size };
    const result = compare('describe', () => mlctl('data', 'describe', file, '--json'), () => python('describe', file), (ours) => ({ rows: ours?.rows }));
    document.results.describe = result;
    document.targets.describe = { peakRssUnder300MiB: result.mlctl.peakRssMiBMedian < 300, wallAtMostPandas: result.wallRatio <= 1 };
    rmSync(file, { force: true });
  }

  if (jobs.has('linear')) {
    const result = compare(
      'linear',
      () => mlctl('train', '--data', trainFile, '--target', 'yearly_income', '--model', 'linear', '--json', '--no-gates'),
      () => python('linear', trainFile),
      (ours, theirs) => ({ r2: { mlctl: round(ours?.evaluation?.metrics?.r2 ?? Number.NaN, 4), reference: theirs?.r2 }, timings: ours?.timings }),
    );
    document.results.linear = result;
    document.targets.linear = { peakRssAtMost3xCsv: result.mlctl.peakRssMiBMedian <= 3 * trainMiB, wallWithin2xSklearn: result.wallRatio <= 2 };
  }

  let gbtRun;
  if (jobs.has('gbt') || jobs.has('predict')) {
    // The task as inferred, without the regression target (a leak for income), as the reference drops it.
    const printed = spawnSync(process.execPath, [MLCTL_BIN, 'train', '--data', trainFile, '--target', 'income', '--model', 'gbt', '--print-task'], { cwd: work, env, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (printed.status !== 0) throw new Error(`--print-task failed: ${printed.stderr}`);
    const task = JSON.parse(printed.stdout);
    task.features.columns = task.features.columns.filter((column) => column.column !== 'yearly_income');
    writeFileSync(join(work, 'gbt-task.json'), JSON.stringify(task));
  }
  if (jobs.has('gbt')) {
    const result = compare(
      'gbt',
      () => mlctl('train', '--config', join(work, 'gbt-task.json'), '--json', '--no-gates'),
      () => python('gbt', trainFile),
      (ours, theirs) => {
        gbtRun = ours?.run?.id;
        return { accuracy: { mlctl: round(ours?.evaluation?.metrics?.accuracy ?? Number.NaN, 4), reference: theirs?.accuracy }, auc: { mlctl: round(ours?.evaluation?.metrics?.auc ?? Number.NaN, 4), reference: theirs?.auc }, timings: ours?.timings };
      },
    );
    document.results.gbt = result;
    document.targets.gbt = { peakRssAtMost3xCsv: result.mlctl.peakRssMiBMedian <= 3 * trainMiB, wallWithin2xSklearn: result.wallRatio <= 2 };
  }

  if (jobs.has('predict')) {
    if (gbtRun === undefined) gbtRun = mlctl('train', '--config', join(work, 'gbt-task.json'), '--json', '--no-gates').output.run.id;
    const result = compare(
      'predict',
      () => mlctl('predict', '--model', gbtRun, '--input', trainFile, '--output', join(work, 'predictions.csv'), '--json'),
      () => python('predict', trainFile),
      (ours) => ({ rows: ours?.rows }),
    );
    document.results.predict = result;
    document.targets.predict = { peakRssUnder400MiB: result.mlctl.peakRssMiBMedian < 400 };
  }
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
