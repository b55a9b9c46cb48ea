// bench/tracking-query: whole-process wall times of `mlctl runs list` / `runs show` on a
// generated store of 10,000 runs × 20 params × 10 metrics × 100 steps, and of a
// from-scratch index rebuild. Targets (issue 3): list < 300 ms (index warm), show < 200 ms,
// rebuild < 10 s. Medians of several runs, wall and CPU (user + system of the process, which
// is what a loaded machine does not inflate). Prints one JSON document.
//   node bench/tracking-query.mjs [root]   (generates the store first if it is not there)
// On the SQL store (issue 14: list < 300 ms on PostgreSQL with 10,000 runs):
//   BENCH_TRACKING_URI=postgresql://user@host/db node bench/tracking-query.mjs [root]
// migrates that database and imports the generated store with `mlctl tracking import` (once:
// an import that finds every run there adds nothing), then times the same commands against it;
// the import's own time is reported too. There is no index to rebuild there.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateStore } from './tracking-generate.mjs';
import { machine, median, percentile, round, timeCli } from './lib.mjs';

const root = process.argv[2] ?? join(tmpdir(), 'mlctl-bench-tracking', 'runs');
const repeats = Number(process.env.BENCH_REPEATS ?? 11);
const rebuildRepeats = Number(process.env.BENCH_REBUILD_REPEATS ?? 3);

let generated = null;
if (!existsSync(join(root, 'income'))) {
  const g = generateStore(root);
  generated = { runs: g.runs, wallMs: round(g.ms) };
}
const runCount = readdirSync(join(root, 'income')).filter((f) => /^[0-9a-f]{20}$/.test(f)).length + readdirSync(join(root, 'housing')).filter((f) => /^[0-9a-f]{20}$/.test(f)).length;
const trackingUri = process.env.BENCH_TRACKING_URI;
const sql = trackingUri !== undefined && trackingUri !== '';
// The SQL store keeps the (empty) artifacts of the generated runs in a folder beside the generated store.
const env = sql ? { MLCTL_TRACKING_URI: trackingUri, MLCTL_ARTIFACT_URI: join(root, '..', 'sql-artifacts'), MLCTL_RUNS_DIR: root } : { MLCTL_RUNS_DIR: root };
const listArgs = ['runs', 'list', '--filter', 'metrics.accuracy > 0.8 and params.learningRate = 0.001', '--order-by', 'metrics.auc desc', '--limit', '20', '--json'];
// The README's own example, word for word.
const readmeListArgs = ['runs', 'list', '--filter', 'metrics.auc > 0.9 and params.learningRate = 0.004', '--order-by', 'metrics.auc desc', '--json'];

let imported = null;
if (sql) {
  timeCli(['tracking', 'migrate', '--json'], { env });
  const present = JSON.parse(timeCli(['runs', 'list', '--all', '--limit', '1', '--json'], { env }).stdout).total;
  if (present < runCount) {
    const run = timeCli(['tracking', 'import', root, '--json'], { env });
    const result = JSON.parse(run.stdout);
    imported = { wallMs: round(run.ms), runs: result.runs, metricPoints: result.metricPoints, pointsPerSecond: round(result.metricPoints / (run.ms / 1000), 0) };
  }
}

/** CPU time (user + system) of waited-for children so far, from /proc (Linux); ms. */
function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10; // cutime + cstime, 100 ticks/s
  } catch {
    return Number.NaN;
  }
}

/** Runs the CLI `repeats` times: wall and CPU ms of each whole process. */
function measure(args, count = repeats) {
  const wall = [];
  const cpu = [];
  for (let i = 0; i < count; i += 1) {
    const before = childrenCpuMs();
    wall.push(timeCli(args, { env }).ms);
    cpu.push(childrenCpuMs() - before);
  }
  return { medianMs: round(median(wall)), p90Ms: round(percentile(wall, 90)), minMs: round(Math.min(...wall)), cpuMedianMs: round(median(cpu)), runs: count };
}

// From-scratch rebuilds (file store): the index folder removed, then one whole `runs list` process.
const rebuildCli = [];
const rebuildCpu = [];
const rebuildInProcess = [];
const { openRunIndex } = await import('../dist/core/tracking/run-index.js');
for (let i = 0; i < (sql ? 0 : rebuildRepeats); i += 1) {
  rmSync(join(root, '.index'), { recursive: true, force: true });
  const before = childrenCpuMs();
  rebuildCli.push(timeCli(['runs', 'list', '--limit', '1', '--json'], { env }).ms);
  rebuildCpu.push(childrenCpuMs() - before);
  const index = openRunIndex({ root, effectiveStatus: (info) => ({ status: info.status }) });
  const t = performance.now();
  index.rebuild();
  rebuildInProcess.push(performance.now() - t);
  index.close();
}

// Warm index: the query the issue names.
const first = JSON.parse(timeCli(listArgs, { env }).stdout);
const list = measure(listArgs);
const readmeFirst = JSON.parse(timeCli(readmeListArgs, { env }).stdout);
const readmeList = measure(readmeListArgs);
const showId = first.runs[0].id;
timeCli(['runs', 'show', showId, '--json'], { env });
const show = measure(['runs', 'show', showId, '--json']);
const showHuman = measure(['runs', 'show', showId]);
const version = measure(['--version']);
const bare = Array.from({ length: repeats }, () => {
  const t = performance.now();
  process.getBuiltinModule('node:child_process').spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - t;
});
// The tracking code's own share, without the CLI's start-up: a fresh process that imports the
// store and answers the same query (cold SQLite page cache, as in a CLI process).
function inFreshProcess(body) {
  const code = `const t = performance.now(); const c = process.cpuUsage();
    const { openTrackingStore } = await import(${JSON.stringify(new URL('../dist/core/tracking/open-tracking-store.js', import.meta.url).href)});
    const ops = await import(${JSON.stringify(new URL('../dist/core/tracking/run-operations.js', import.meta.url).href)});
    const store = await openTrackingStore(${JSON.stringify({ trackingUri: sql ? trackingUri : root, artifactUri: sql ? env.MLCTL_ARTIFACT_URI : root, cwd: root, dataDir: join(root, '..', 'bench-data'), aws: {} })});
    ${body}
    await store.close();
    const u = process.cpuUsage(c);
    process.stdout.write(JSON.stringify({ ms: performance.now() - t, cpuMs: (u.user + u.system) / 1000 }));`;
  const runs = Array.from({ length: repeats }, () => {
    const r = process.getBuiltinModule('node:child_process').spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout);
  });
  return { medianMs: round(median(runs.map((r) => r.ms))), cpuMedianMs: round(median(runs.map((r) => r.cpuMs))), runs: runs.length };
}
const listInProcess = inFreshProcess(`await ops.listRuns(store, { filter: 'metrics.accuracy > 0.8 and params.learningRate = 0.001', orderBy: 'metrics.auc desc', limit: 20 });`);
const showInProcess = inFreshProcess(`await ops.showRun(store, ${JSON.stringify(showId)});`);

const rebuild = sql ? null : { medianMs: round(median(rebuildCli)), minMs: round(Math.min(...rebuildCli)), cpuMedianMs: round(median(rebuildCpu)), runs: rebuildCli.length };
console.log(
  JSON.stringify(
    {
      benchmark: 'tracking-query',
      machine: machine(),
      store: { backend: sql ? trackingUri.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@') : 'files', root, runs: runCount, params: 20, metrics: 10, steps: 100, generated, imported },
      nodeBareStartMedianMs: round(median(bare)),
      cliVersion: { command: 'mlctl --version (start-up floor)', ...version },
      list: { command: `mlctl ${listArgs.join(' ')}`, matches: first.total, ...list, trackingCodeOnly: listInProcess },
      readmeList: { command: `mlctl ${readmeListArgs.join(' ')}`, matches: readmeFirst.total, ...readmeList },
      show: { command: `mlctl runs show <id> --json`, ...show, trackingCodeOnly: showInProcess },
      showHuman: { command: 'mlctl runs show <id>', ...showHuman },
      rebuild: rebuild === null ? null : { command: 'rm -rf <root>/.index && mlctl runs list --limit 1 --json', ...rebuild, inProcessRebuildMedianMs: round(median(rebuildInProcess)) },
      targets: {
        listMsUnder: 300,
        listMet: list.medianMs < 300 && readmeList.medianMs < 300,
        showMsUnder: 200,
        showMet: show.medianMs < 200,
        ...(rebuild === null ? {} : { rebuildMsUnder: 10_000, rebuildMet: rebuild.medianMs < 10_000 }),
      },
    },
    null,
    2,
  ),
);
