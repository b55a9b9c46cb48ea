// bench/cli-startup: wall time of whole `mlctl` processes that must stay light.
// Target (issue 2): `mlctl --help` median under 150 ms on the 2-core reference machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { machine, median, percentile, REPO_ROOT, round, timeCli } from './lib.mjs';

/** Whether this Node accepts the code cache of the bundle the launcher runs (see scripts/bundle.mjs). */
function codeCache() {
  const script = `const l = require(${JSON.stringify(join(REPO_ROOT, 'bin', 'load-bundle.cjs'))});
    console.log(JSON.stringify({ cacheAccepted: !l.loadBundle().script.cachedDataRejected }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  return r.status === 0 ? JSON.parse(r.stdout) : { error: r.stderr.trim() };
}

const runs = Number(process.env.BENCH_RUNS ?? 21);
const dir = mkdtempSync(join(tmpdir(), 'mlctl-bench-startup-'));
const env = { MLCTL_DATA_DIR: join(dir, 'data'), MLCTL_RUNS_DIR: join(dir, 'runs') };
const commands = { '--help': ['--help'], '--version': ['--version'], 'data list': ['data', 'list'], 'train --help': ['train', '--help'] };
const results = {};
const bareArgs = ['-e', '0'];
try {
  // Interleaved: each round runs a bare `node -e 0` and every command once, so a slow moment of
  // the machine slows them all alike; `overBareMedianMs` is the median of (command − bare) in a round.
  const bare = [];
  const times = Object.fromEntries(Object.keys(commands).map((name) => [name, []]));
  for (const args of Object.values(commands)) timeCli(args, { cwd: dir, env }); // warm the file cache
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    spawnSync(process.execPath, bareArgs);
    bare.push(performance.now() - t);
    for (const [name, args] of Object.entries(commands)) times[name].push(timeCli(args, { cwd: dir, env }).ms);
  }
  for (const [name, list] of Object.entries(times)) {
    const over = list.map((ms, i) => ms - bare[i]);
    results[name] = { medianMs: round(median(list)), p90Ms: round(percentile(list, 90)), minMs: round(Math.min(...list)), overBareMedianMs: round(median(over)), runs };
  }
  const figures = {
    benchmark: 'cli-startup',
    machine: machine(),
    nodeBareStartMedianMs: round(median(bare)),
    bundle: codeCache(),
    commands: results,
    target: { command: '--help', medianMsUnder: 150, met: results['--help'].medianMs < 150 },
  };
  console.log(JSON.stringify(figures, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
