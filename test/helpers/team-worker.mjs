#!/usr/bin/env node
// One teammate's machine for the concurrency test: in its own working folder (the cwd, with
// its own data folder), it runs mlctl commands one after another in this process, through
// the CLI's own entry point (dist/cli.js `main`, exactly what bin/mlctl runs), against the
// shared PostgreSQL + S3 backend given in the environment:
//   node test/helpers/team-worker.mjs <runs> <model> <seed-base>
// For each of <runs>: `train housing`, `models register` it as <model>, then move
// <model>@production to the new version with a compare-and-set (`--expect`), retrying with the
// version it then finds when a teammate moved it first. Prints one JSON document:
// { runs: [ids], versions: [numbers], moves, refusedMoves, ms }.
// One process runs many commands: the CLI's per-command listeners add up, which is expected here.
import { main } from '../../dist/cli.js';

process.stdout.setMaxListeners(0);
process.stderr.setMaxListeners(0);

const [runsText, model, seedBaseText] = process.argv.slice(2);
const count = Number(runsText);
const seedBase = Number(seedBaseText);

/** Runs one mlctl command in this process; returns its exit code and what it printed on stdout. */
async function mlctl(...args) {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = (chunk, ...rest) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    const callback = rest.find((r) => typeof r === 'function');
    if (callback !== undefined) callback();
    return true;
  };
  let code;
  try {
    code = await main(['node', 'mlctl', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return { code, out };
}

async function must(...args) {
  const { code, out } = await mlctl(...args);
  if (code !== 0) throw new Error(`mlctl ${args.join(' ')} exited ${code}: ${out}`);
  return JSON.parse(out);
}

const started = performance.now();
const runs = [];
const versions = [];
let moves = 0;
let refusedMoves = 0;
for (let i = 0; i < count; i += 1) {
  const trained = await must('train', 'housing', '--seed', String(seedBase + i), '--no-gates', '--json');
  runs.push(trained.run.id);
  const registered = await must('models', 'register', trained.run.id, '--name', model, '--json');
  versions.push(registered.version);
  // Compare-and-set: move production from what we last saw; a teammate's move in between is refused (exit 4).
  for (let attempt = 0; ; attempt += 1) {
    const shown = await must('models', 'show', model, '--json');
    const current = shown.aliases.production;
    const moved = await mlctl('models', 'alias', 'set', model, 'production', String(registered.version), '--expect', current === undefined ? 'none' : String(current), '--json');
    if (moved.code === 0) {
      moves += 1;
      break;
    }
    if (moved.code !== 4 || attempt > 50) throw new Error(`alias move exited ${moved.code}: ${moved.out}`);
    refusedMoves += 1;
  }
}
process.stdout.write(`${JSON.stringify({ runs, versions, moves, refusedMoves, ms: Math.round(performance.now() - started) })}\n`);
