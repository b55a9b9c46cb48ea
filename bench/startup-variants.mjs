// bench/startup-variants: how mlctl should start, measured (docs/design.md, "Start-up").
// Three ways to run the same source, interleaved in one run with a bare `node -e 0` as the floor:
//   tsc         dist/cli.js, tsc's output, imported as ES modules (what bin/mlctl runs);
//   bundle      src/ as one esbuild CommonJS file, loaded with a plain require;
//   bundle+cache  the same file compiled through vm.Script with V8's code cache, taken after
//               running `mlctl --help` once;
//   bin/mlctl (shipped)  the launcher as built by `npm run build` (the bundle with its cache).
// Commands: `mlctl --help`, and `mlctl runs show <id>` on a generated store (BENCH_STORE_RUNS,
// default 10,000 runs). Prints one JSON document: medians, and the median of (variant − bare)
// per round. Needs `npm run build` (tsc's output) and esbuild (a devDependency).
//   node bench/startup-variants.mjs            BENCH_ROUNDS=31 by default
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { REPO_ROOT, machine, median, percentile, round } from './lib.mjs';
import { generateStore } from './tracking-generate.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 31);
const storeRuns = Number(process.env.BENCH_STORE_RUNS ?? 10_000);
const DIST = join(REPO_ROOT, 'dist');
// Next to tsc's output, so that `../package.json` and node_modules resolve as they do for it.
const BUNDLE = join(DIST, `.bench-startup-${process.pid}.cjs`);
const work = mkdtempSync(join(tmpdir(), 'mlctl-bench-variants-'));

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
// Heavy and native packages stay in node_modules; commander and cli-table3 go into the bundle.
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })
  .filter((name) => name !== 'commander' && name !== 'cli-table3')
  .flatMap((name) => [name, `${name}/*`]);

const launchers = {
  tsc: join(work, 'tsc.mjs'),
  bundle: join(work, 'bundle.cjs'),
  'bundle+cache': join(work, 'bundle-cache.cjs'),
  'bin/mlctl (shipped)': join(REPO_ROOT, 'bin', 'mlctl'),
};

try {
  await build({
    entryPoints: [join(REPO_ROOT, 'src', 'cli.ts')],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external,
    // A CommonJS file has no import.meta: stand in the bundle's own URL (it sits in dist/, as cli.js does).
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'warning',
  });
  const run = "(m) => m.main(process.argv).then((code) => { process.exitCode = code; })";
  writeFileSync(launchers.tsc, `import { main } from ${JSON.stringify(pathToFileURL(join(DIST, 'cli.js')).href)};\nprocess.exitCode = await main(process.argv);\n`);
  writeFileSync(launchers.bundle, `(${run})(require(${JSON.stringify(BUNDLE)}));\n`);
  writeFileSync(
    launchers['bundle+cache'],
    `const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { Script } = require('node:vm');
const file = ${JSON.stringify(BUNDLE)};
let cachedData;
try { cachedData = readFileSync(file + '.cache'); } catch {}
const script = new Script('(function (exports, require, module, __filename, __dirname) {' + readFileSync(file, 'utf8') + '\\n})', { filename: file, cachedData });
const mod = { exports: {} };
script.runInThisContext()(mod.exports, createRequire(file), mod, file, ${JSON.stringify(DIST)});
if (process.env.WRITE_CACHE) mod.exports.main(['node', 'mlctl', '--help']).then(() => require('node:fs').writeFileSync(file + '.cache', script.createCachedData()));
else (${run})(mod.exports);
`,
  );
  // The cache is taken as the old build did: after `mlctl --help` ran, so its functions are compiled.
  const warm = spawnSync(process.execPath, [launchers['bundle+cache']], { env: { ...process.env, WRITE_CACHE: '1' }, encoding: 'utf8' });
  if (warm.status !== 0) throw new Error(`writing the code cache failed: ${warm.stderr}`);

  const store = join(work, 'runs');
  const { ids } = generateStore(store, { runs: storeRuns, steps: 100 });
  const env = { ...process.env, CI: 'true', NO_COLOR: '1', MLCTL_RUNS_DIR: store, MLCTL_DATA_DIR: join(work, 'data') };
  const commands = { '--help': ['--help'], 'runs show': ['runs', 'show', ids[Math.floor(ids.length / 2)]] };

  const once = (args) => {
    const started = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: work, env, encoding: 'utf8', maxBuffer: 1 << 26 });
    const ms = performance.now() - started;
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return { ms, stdout: r.stdout };
  };
  // Same output from every variant, or the comparison means nothing.
  for (const args of Object.values(commands)) {
    const outputs = new Set(Object.values(launchers).map((launcher) => once([launcher, ...args]).stdout));
    if (outputs.size !== 1) throw new Error(`the variants print different output for mlctl ${args.join(' ')}`);
  }
  // The index `runs show` never needs, but a first `runs list` would build: not part of start-up.
  const bare = [];
  const times = {};
  for (const name of Object.keys(commands)) for (const variant of Object.keys(launchers)) times[`${name} · ${variant}`] = [];
  for (let i = 0; i < rounds; i += 1) {
    bare.push(once(['-e', '0']).ms);
    // Rotate the order each round, so no variant always runs right after another.
    const entries = Object.entries(launchers);
    const order = [...entries.slice(i % entries.length), ...entries.slice(0, i % entries.length)];
    for (const [name, args] of Object.entries(commands)) for (const [variant, launcher] of order) times[`${name} · ${variant}`].push(once([launcher, ...args]).ms);
  }
  const results = {};
  for (const [key, list] of Object.entries(times)) {
    results[key] = { medianMs: round(median(list)), p90Ms: round(percentile(list, 90)), overBareMedianMs: round(median(list.map((ms, i) => ms - bare[i]))) };
  }
  console.log(JSON.stringify({ benchmark: 'startup-variants', machine: machine(), rounds, storeRuns, nodeBareMedianMs: round(median(bare)), results }, null, 2));
} finally {
  rmSync(work, { recursive: true, force: true });
  rmSync(BUNDLE, { force: true });
  rmSync(`${BUNDLE}.cache`, { force: true });
}
