// bench/tracking-logging: metric points logged per second from one process, through the
// file store's public API (dist/), awaiting every logMetrics call as the trainer does.
// Target (issue 3): at least 20,000 points/s. Prints one JSON document.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, median, round } from './lib.mjs';

const { createFileRunStore } = await import('../dist/core/tracking/file-run-store.js');

const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const steps = Number(process.env.BENCH_STEPS ?? 10_000);
const keys = Array.from({ length: 10 }, (_, i) => `metric_${i}`);
const dir = mkdtempSync(join(tmpdir(), 'mlctl-bench-logging-'));
try {
  const store = createFileRunStore({ root: join(dir, 'runs') });
  const rates = [];
  for (let r = 0; r < repeats; r += 1) {
    const run = await store.createRun({ experiment: 'bench', commandLine: 'bench/tracking-logging.mjs' });
    const started = performance.now();
    for (let step = 0; step < steps; step += 1) {
      const point = {};
      for (const key of keys) point[key] = Math.sin(step + key.length);
      await run.logMetrics(point, step);
    }
    // end() flushes what is buffered: counted, the points are on disk only then.
    await run.end('FINISHED');
    const seconds = (performance.now() - started) / 1000;
    rates.push((steps * keys.length) / seconds);
    const history = await store.getMetricHistory(run.id, 'metric_9');
    if (history.length !== steps) throw new Error(`expected ${steps} points, read ${history.length}`);
  }
  const pointsPerSecond = median(rates);
  console.log(
    JSON.stringify(
      {
        benchmark: 'tracking-logging',
        machine: machine(),
        pointsPerRun: steps * keys.length,
        metricsPerCall: keys.length,
        repeats,
        pointsPerSecondMedian: Math.round(pointsPerSecond),
        pointsPerSecondAll: rates.map((x) => Math.round(x)),
        target: { pointsPerSecondAtLeast: 20_000, met: pointsPerSecond >= 20_000 },
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
