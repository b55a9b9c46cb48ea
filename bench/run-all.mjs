// bench/run-all: every benchmark in bench/, one after the other (they would disturb each
// other's timings side by side), and one JSON document keyed by benchmark name. Each script
// runs in its own process and prints one JSON document; a failing one is recorded with its exit
// code and the end of its stderr, and the others still run.
//
//   npm run build && npm run bench                  full sizes (tens of minutes)
//   npm run bench -- --quick                        small sizes and few repeats: a smoke run
//   npm run bench -- --only cli-startup,serve       some of them
//
// Progress goes to stderr; stdout carries the document only.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, REPO_ROOT, round } from './lib.mjs';

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});

const BENCH = join(REPO_ROOT, 'bench');
/** Not benchmarks: the shared helpers and this script. */
const NOT_BENCHMARKS = new Set(['lib.mjs', 'run-all.mjs']);
const names = readdirSync(BENCH)
  .filter((file) => file.endsWith('.mjs') && !NOT_BENCHMARKS.has(file))
  .map((file) => file.slice(0, -'.mjs'.length))
  .sort();
const wanted = options.only === undefined ? names : options.only.split(',').map((n) => n.trim());
const unknown = wanted.filter((name) => !names.includes(name));
if (unknown.length > 0) {
  process.stderr.write(`bench: no benchmark named ${unknown.join(', ')}; there are ${names.join(', ')}\n`);
  process.exit(2);
}
if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) {
  process.stderr.write('bench: dist/ is missing; run `npm run build` first\n');
  process.exit(2);
}

// tracking-generate writes the store tracking-query reads: one folder for both.
const work = mkdtempSync(join(tmpdir(), 'mlctl-bench-run-all-'));
const trackingStore = join(work, 'tracking', 'runs');

/**
 * What each benchmark is given. `quick` shrinks sizes and repeats (the figures are then a smoke
 * test, not a measurement); the full run uses each script's own defaults.
 */
const SETTINGS = {
  'cli-startup': { quick: { env: { BENCH_RUNS: '3' } } },
  'data-scale': { quick: { args: ['--rounds', '1', '--describe-rows', '100000', '--train-rows', '100000'] } },
  'db-populate': { quick: { env: { BENCH_RUNS: '1' } } },
  'matmul-wasm': { quick: { env: { BENCH_RUNS: '2' } } },
  pipeline: { quick: { args: ['--runs', '1'] } },
  serve: { quick: { args: ['--runs', '1', '--duration', '2', '--batch-requests', '5'] } },
  'startup-variants': { quick: { env: { BENCH_ROUNDS: '3', BENCH_STORE_RUNS: '500' } } },
  sync: { quick: { env: { BENCH_RUNS: '1' } } },
  'tracking-generate': { args: [trackingStore], quick: { env: { BENCH_RUNS: '1000', BENCH_STEPS: '20' } } },
  'tracking-logging': { quick: { env: { BENCH_REPEATS: '1', BENCH_STEPS: '1000' } } },
  'tracking-query': { args: [trackingStore], quick: { env: { BENCH_REPEATS: '2', BENCH_REBUILD_REPEATS: '1' } } },
  'train-income': { quick: { env: { BENCH_RUNS: '1' }, args: ['--epochs', '2', '--patience', '0', '--no-gates'] } },
};

/** The JSON document a benchmark printed: the whole of stdout, or its last top-level `{…}`. */
function documentOf(stdout) {
  try {
    return JSON.parse(stdout);
  } catch {
    const start = stdout.lastIndexOf('\n{');
    return JSON.parse(stdout.slice(start + 1));
  }
}

const started = performance.now();
const results = {};
try {
  for (const name of wanted) {
    const settings = SETTINGS[name] ?? {};
    const mode = options.quick ? (settings.quick ?? {}) : {};
    const args = [...(settings.args ?? []), ...(mode.args ?? [])];
    process.stderr.write(`bench: ${name}${args.length > 0 ? ` ${args.join(' ')}` : ''}… `);
    const t = performance.now();
    const r = spawnSync(process.execPath, [join(BENCH, `${name}.mjs`), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...settings.env, ...mode.env },
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const wallMs = round(performance.now() - t);
    let document;
    try {
      if (r.status !== 0) throw new Error(`exited ${r.status ?? r.signal}`);
      document = documentOf(r.stdout);
    } catch (error) {
      document = { error: error.message, exitCode: r.status, stderr: (r.stderr ?? '').trim().split('\n').slice(-10).join('\n') };
    }
    results[name] = { ...document, benchWallMs: wallMs };
    process.stderr.write(`${'error' in document ? 'failed' : 'done'} in ${round(wallMs / 1000)} s\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const failed = Object.entries(results).filter(([, r]) => 'error' in r).map(([name]) => name);
console.log(JSON.stringify({ benchmark: 'run-all', machine: machine(), quick: options.quick, wallMs: round(performance.now() - started), failed, results }, null, 2));
process.exitCode = failed.length > 0 ? 1 : 0;
