// bench/cli-startup: wall time of whole `mlctl` processes that must stay light.
// Target (issue 2): `mlctl --help` median under 150 ms on the 2-core reference machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, median, percentile, round, timeCli } from './lib.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 21);
const dir = mkdtempSync(join(tmpdir(), 'mlctl-bench-startup-'));
const env = { MLCTL_DATA_DIR: join(dir, 'data'), MLCTL_RUNS_DIR: join(dir, 'runs') };
const commands = { '--help': ['--help'], '--version': ['--version'], 'data list': ['data', 'list'], 'train --help': ['train', '--help'] };
const results = {};
try {
  for (const [name, args] of Object.entries(commands)) {
    timeCli(args, { cwd: dir, env }); // warm the file cache
    const times = Array.from({ length: runs }, () => timeCli(args, { cwd: dir, env }).ms);
    results[name] = { medianMs: round(median(times)), p90Ms: round(percentile(times, 90)), minMs: round(Math.min(...times)), runs };
  }
  const bare = Array.from({ length: runs }, () => {
    const t = performance.now();
    const { spawnSync } = process.getBuiltinModule('node:child_process');
    spawnSync(process.execPath, ['-e', '0']);
    return performance.now() - t;
  });
  const figures = {
    benchmark: 'cli-startup',
    machine: machine(),
    nodeBareStartMedianMs: round(median(bare)),
    commands: results,
    target: { command: '--help', medianMsUnder: 150, met: results['--help'].medianMs < 150 },
  };
  console.log(JSON.stringify(figures, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
