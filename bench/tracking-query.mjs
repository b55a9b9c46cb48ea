// bench/tracking-query: whole-process wall times of `mlctl runs list` / `runs show` on a
// generated store of 10,000 runs × 20 params × 10 metrics × 100 steps, and of a
// from-scratch index rebuild. Targets (issue 3): list < 300 ms (index warm), show < 200 ms,
// rebuild < 10 s. Medians of several runs, wall and CPU (user + system of the process, which
// is what a loaded machine does not inflate). Prints one JSON document.
//   node bench/tracking-query.mjs [root]   (generates the store first if it is not there)
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
const env = { MLCTL_RUNS_DIR: root };
const listArgs = ['runs', 'list', '--filter', 'metrics.accuracy > 0.8 and params.lr = 0.001', '--order-by', 'metrics.auc desc', '--limit', '20', '--json'];

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

// From-scratch rebuilds: the index folder removed, then one whole `runs list` process.
const rebuildCli = [];
const rebuildCpu = [];
const rebuildInProcess = [];
const { openRunIndex } = await import('../dist/core/tracking/run-index.js');
for (let i = 0; i < rebuildRepeats; i += 1) {
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
    const { createFileRunStore } = await import(${JSON.stringify(new URL('../dist/core/tracking/file-run-store.js', import.meta.url).href)});
    const ops = await import(${JSON.stringify(new URL('../dist/core/tracking/run-operations.js', import.meta.url).href)});
    const store = createFileRunStore({ root: ${JSON.stringify(root)} });
    ${body}
    const u = process.cpuUsage(c);
    process.stdout.write(JSON.stringify({ ms: performance.now() - t, cpuMs: (u.user + u.system) / 1000 }));`;
  const runs = Array.from({ length: repeats }, () => {
    const r = process.getBuiltinModule('node:child_process').spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout);
  });
  return { medianMs: round(median(runs.map((r) => r.ms))), cpuMedianMs: round(median(runs.map((r) => r.cpuMs))), runs: runs.length };
}
const listInProcess = inFreshProcess(`ops.listRuns(store, { filter: 'metrics.accuracy > 0.8 and params.lr = 0.001', orderBy: 'metrics.auc desc', limit: 20 });`);
const showInProcess = inFreshProcess(`await ops.showRun(store, ${JSON.stringify(showId)});`);

const rebuild = { medianMs: round(median(rebuildCli)), minMs: round(Math.min(...rebuildCli)), cpuMedianMs: round(median(rebuildCpu)), runs: rebuildCli.length };
console.log(
  JSON.stringify(
    {
      benchmark: 'tracking-query',
      machine: machine(),
      store: { root, runs: runCount, params: 20, metrics: 10, steps: 100, generated },
      nodeBareStartMedianMs: round(median(bare)),
      cliVersion: { command: 'mlctl --version (start-up floor)', ...version },
      list: { command: `mlctl ${listArgs.join(' ')}`, matches: first.total, ...list, trackingCodeOnly: listInProcess },
      show: { command: `mlctl runs show <id> --json`, ...show, trackingCodeOnly: showInProcess },
      showHuman: { command: 'mlctl runs show <id>', ...showHuman },
      rebuild: { command: 'rm -rf <root>/.index && mlctl runs list --limit 1 --json', ...rebuild, inProcessRebuildMedianMs: round(median(rebuildInProcess)) },
      targets: {
        listMsUnder: 300,
        listMet: list.medianMs < 300,
        showMsUnder: 200,
        showMet: show.medianMs < 200,
        rebuildMsUnder: 10_000,
        rebuildMet: rebuild.medianMs < 10_000,
      },
    },
    null,
    2,
  ),
);
