#!/usr/bin/env node
// A tracking-store writer for tests and benchmarks, run against the built store (dist/).
//   node test/helpers/tracking-writer.mjs runs <root> <count> <steps> [experiment]
//     creates <count> runs, each with params, 3 metrics × <steps> steps and a tag, ended FINISHED;
//     prints the run ids as one JSON array.
//   node test/helpers/tracking-writer.mjs loop <root>
//     creates one run and logs metrics forever; prints {"runId","dir"} once the first
//     points are on disk, so that a test can kill it mid-write.
import { createFileRunStore } from '../../dist/core/tracking/file-run-store.js';

const [mode, root, ...rest] = process.argv.slice(2);
const store = createFileRunStore({ root });

if (mode === 'runs') {
  const count = Number(rest[0]);
  const steps = Number(rest[1]);
  const experiment = rest[2] ?? 'concurrency';
  const ids = [];
  for (let i = 0; i < count; i += 1) {
    const run = await store.createRun({ experiment, commandLine: `tracking-writer ${process.pid} ${i}`, tags: { writer: String(process.pid) } });
    await run.logParams({ index: i, writer: process.pid, lr: 0.001 * (1 + (i % 5)) });
    for (let step = 0; step < steps; step += 1) {
      await run.logMetrics({ loss: 1 / (step + 1), accuracy: step / steps, index: i }, step);
    }
    await run.end('FINISHED');
    ids.push(run.id);
  }
  process.stdout.write(`${JSON.stringify(ids)}\n`);
} else if (mode === 'loop') {
  const run = await store.createRun({ experiment: 'killed', commandLine: 'tracking-writer loop' });
  await run.logParams({ lr: 0.01 });
  let announced = false;
  for (let step = 0; ; step += 1) {
    await run.logMetrics({ loss: 1 / (step + 1), accuracy: 1 - 1 / (step + 2) }, step);
    if (!announced) {
      announced = true;
      process.stdout.write(`${JSON.stringify({ runId: run.id, dir: run.dir })}\n`);
    }
    // Yield so the flush timer runs, as an epoch loop does.
    if (step % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
} else {
  process.stderr.write('usage: tracking-writer.mjs runs <root> <count> <steps> [experiment] | loop <root>\n');
  process.exitCode = 2;
}
