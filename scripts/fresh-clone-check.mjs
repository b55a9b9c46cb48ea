#!/usr/bin/env node
// The first hour of a new user, checked (issue 16): in a fresh clone of this repository,
//   1. `npm ci`;
//   2. `npx mlctl --help`;
//   3. `npm test` on a machine without chromium, promtool, PostgreSQL or wrk (PATH stripped of
//      them, MLCTL_TEST_POSTGRES_URL and CI unset): it must pass and end with the skip summary;
//   4. the README tour's commands (its `$ mlctl …` lines, with the run ids the clone's own
//      training gives; curl needs a running server and is left out), each with the exit code
//      the README shows;
//   5. `git status --porcelain` is empty: nothing the tour or the tests write is left untracked.
// Run by .ci/run after the main test run; prints each step's time. Exit 0 when all holds.
//
//   node scripts/fresh-clone-check.mjs [--keep]     (--keep leaves the clone for a look)
//
// It never runs itself again: the clone's `npm test` does not call it, and a nested call exits.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const GUARD = 'MLCTL_FRESH_CLONE_CHECK';
/** What "a machine without the tools" lacks: the executables the tool-dependent tests look for. */
const STRIPPED = ['chromium', 'chromium-browser', 'google-chrome', 'promtool', 'wrk', 'postgres', 'postmaster', 'pg_ctl', 'pg_ctlcluster', 'initdb', 'psql'];
/** The README lines the tour leaves out: they need a server or S3. */
const NOT_IN_TOUR = /^(curl|docker)\b/;

if (process.env[GUARD] !== undefined) {
  console.error('fresh-clone-check: already running (nested call); stopping');
  process.exit(1);
}
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'mlctl-fresh-clone-'));
const clone = join(work, 'mlctl');
const timings = {};
let failed = false;

function fail(message) {
  console.error(`fresh-clone-check: FAILED: ${message}`);
  failed = true;
  throw new Error(message);
}

/** Runs one step, timed; `check` gets the result and calls fail() when it does not hold. */
function step(name, command, args, options, check = (r) => r.status === 0 || fail(`${name} exited ${r.status}\n${tail(r)}`)) {
  console.log(`fresh-clone-check: ${name}`);
  const started = performance.now();
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...options, env: { ...options.env, [GUARD]: '1' } });
  timings[name] = Math.round((performance.now() - started) / 100) / 10;
  if (r.error !== undefined) fail(`${name}: ${r.error.message}`);
  check(r);
  return r;
}

function tail(r, lines = 40) {
  return `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-lines).join('\n');
}

/** A bin folder with every executable on PATH but the stripped ones, as links. */
function strippedPath() {
  const bin = join(work, 'bin-without-tools');
  mkdirSync(bin);
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let names;
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (STRIPPED.includes(name)) continue;
      try {
        accessSync(join(dir, name), constants.X_OK);
        symlinkSync(join(dir, name), join(bin, name));
      } catch {
        // not executable, or an earlier PATH entry already provides it
      }
    }
  }
  return bin;
}

/**
 * The tour: every `$ ` line of the README between "A tour" and the S3 section, with the exit
 * code its block shows ("(exit 2)"), or 0.
 */
function tourCommands(readme) {
  const start = readme.indexOf('## A tour');
  const end = readme.indexOf('### S3', start);
  const commands = [];
  for (const block of readme.slice(start, end).matchAll(/^```\w*\n([\s\S]*?)^```/gm)) {
    const lines = block[1].split('\n');
    lines.forEach((line, i) => {
      if (!line.startsWith('$ ')) return;
      const next = lines.slice(i + 1).findIndex((l) => l.startsWith('$ '));
      const output = lines.slice(i + 1, next < 0 ? undefined : i + 1 + next).join('\n');
      commands.push({ line: line.slice(2), exit: Number(/^\(exit (\d+)\)$/m.exec(output)?.[1] ?? 0) });
    });
  }
  return commands;
}

try {
  const env = { ...process.env };
  step('git clone', 'git', ['clone', '--quiet', REPO, clone], { env });
  step('npm ci', 'npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: clone, env });
  step('npx mlctl --help', 'npx', ['--no-install', 'mlctl', '--help'], { cwd: clone, env }, (r) => {
    if (r.status !== 0 || !r.stdout.startsWith('Usage: mlctl')) fail(`npx mlctl --help exited ${r.status}\n${tail(r)}`);
  });

  // A machine with Node and nothing else: no tools, no PostgreSQL URL, not CI.
  const bare = { ...env, PATH: strippedPath() };
  for (const name of ['CI', 'MLCTL_TEST_POSTGRES_URL', 'CHROMIUM_PATH']) delete bare[name];
  step('npm test (without chromium, promtool, PostgreSQL, wrk; CI unset)', 'npm', ['test'], { cwd: clone, env: bare }, (r) => {
    if (r.status !== 0) fail(`npm test exited ${r.status}\n${tail(r, 80)}`);
    const summary = /^skipped \d+ tests? because tools are missing: .*$/m.exec(r.stdout)?.[0];
    if (summary === undefined) fail(`npm test printed no skip summary\n${tail(r)}`);
    for (const tool of ['chromium', 'promtool', 'PostgreSQL']) if (!summary.includes(tool)) fail(`the skip summary does not name ${tool}: ${summary}`);
    console.log(`fresh-clone-check: ${summary}`);
  });

  // The tour runs `mlctl` as the README writes it: a bin folder stands in for `npm link`.
  const shim = join(work, 'bin-mlctl');
  mkdirSync(shim);
  writeFileSync(join(shim, 'mlctl'), `#!/bin/sh\nexec "${process.execPath}" "${join(clone, 'bin', 'mlctl')}" "$@"\n`, { mode: 0o755 });
  const tourEnv = { ...env, PATH: `${shim}${delimiter}${env.PATH}` };
  const tourText = readFileSync(join(clone, 'README.md'), 'utf8');
  delete tourEnv.CI;
  const ids = new Map();
  const readmeRuns = [...tourText.matchAll(/trained \w+ → run ([0-9a-f]{20})/g)].map((m) => m[1]);
  let trainings = 0;
  const started = performance.now();
  for (const { line, exit } of tourCommands(tourText)) {
    if (NOT_IN_TOUR.test(line)) continue;
    // The README's run ids are the author's; this clone's training made others.
    let command = line;
    for (const [readmeId, id] of ids) command = command.replaceAll(readmeId, id);
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', command], { cwd: clone, env: tourEnv, encoding: 'utf8', maxBuffer: 1 << 28 });
    // `| head` closes the pipe early: 141 (SIGPIPE) upstream is how such a line ends.
    const status = r.status === 141 && /\|\s*head\b/.test(command) ? 0 : r.status;
    if (status !== exit) fail(`tour: \`${command}\` exited ${r.status}, the README shows ${exit}\n${tail(r)}`);
    // The n-th training of the tour made what the README's n-th "trained … → run" shows.
    const trained = /trained \w+ → run ([0-9a-f]{20})/.exec(r.stdout);
    if (trained !== null) {
      const readmeId = readmeRuns[trainings++];
      if (readmeId !== undefined) ids.set(readmeId, trained[1]);
    }
    console.log(`fresh-clone-check: tour: ${command.length > 100 ? `${command.slice(0, 97)}…` : command} (exit ${r.status})`);
  }
  timings['README tour'] = Math.round((performance.now() - started) / 100) / 10;

  step('git status --porcelain', 'git', ['status', '--porcelain'], { cwd: clone, env }, (r) => {
    if (r.status !== 0 || r.stdout.trim() !== '') fail(`the clone has changes or untracked files after the tests and the tour:\n${r.stdout}`);
  });
} catch (error) {
  if (!failed) console.error(`fresh-clone-check: FAILED: ${error.stack ?? error}`);
  failed = true;
} finally {
  const total = Object.values(timings).reduce((a, b) => a + b, 0);
  console.log(`fresh-clone-check: ${failed ? 'failed' : 'passed'}; seconds per step: ${JSON.stringify(timings)}, total ${Math.round(total)} s`);
  if (keep) console.log(`fresh-clone-check: the clone is kept at ${clone}`);
  else rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
