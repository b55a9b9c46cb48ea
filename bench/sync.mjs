#!/usr/bin/env node
// bench/sync: `mlctl sync push runs` of 1,000 small files plus one 50 MiB file to a real S3
// server (s3rver on loopback, in its own process): the first push, a second push with nothing
// changed (target, issue 4: under 2 s), and a push after changing 10 files. Medians of
// BENCH_RUNS (default 3) whole CLI processes, each against a fresh remote prefix.
// Needs `npm run build` first. Prints one JSON document.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine, median, MLCTL_BIN, REPO_ROOT, round } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SMALL_FILES = 1000;
const BIG_BYTES = 50 * 1024 * 1024;
const CHANGED = 10;
const BUCKET = 'mlctl-bench';

/** s3rver in a child process: timeCli blocks this one's event loop while the CLI runs. */
async function startServer(directory) {
  const script = `
    const S3rver = require('s3rver');
    new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(directory)}, configureBuckets: [{ name: ${JSON.stringify(BUCKET)} }] })
      .run().then((address) => console.log(address.port));`;
  // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only has in
  // its legacy provider; more than 1,000 keys means paginated listings.
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (data) => resolve(Number(String(data).trim())));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return { port, stop: () => child.kill() };
}

function writeWorkspace(runsDir) {
  // 1,000 small files laid out like runs: 100 runs of 10 files, 200 B to 4 KiB each.
  for (let i = 0; i < SMALL_FILES; i += 1) {
    const dir = join(runsDir, 'bench', `run${String(Math.floor(i / 10)).padStart(3, '0')}`, 'metrics');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `m${i % 10}.jsonl`), randomBytes(100 + (i % 20) * 100).toString('hex'));
  }
  mkdirSync(join(runsDir, 'bench', 'big', 'artifacts'), { recursive: true });
  writeFileSync(join(runsDir, 'bench', 'big', 'artifacts', 'weights.bin'), randomBytes(BIG_BYTES));
}

function changeFiles(runsDir, round) {
  for (let i = 0; i < CHANGED; i += 1) {
    const path = join(runsDir, 'bench', `run${String(i * 7).padStart(3, '0')}`, 'metrics', `m${i % 10}.jsonl`);
    writeFileSync(path, `${randomBytes(64).toString('hex')} round ${round}\n`);
  }
}

const GNU_TIME = '/usr/bin/time';

/**
 * One whole CLI process: wall ms, and its CPU ms (user + system, from GNU time when present),
 * which stays meaningful when other work shares the cores and stretches the wall time.
 */
function push(env, remote) {
  const args = [MLCTL_BIN, 'sync', 'push', 'runs', '--remote', remote, '--json'];
  const timed = existsSync(GNU_TIME);
  const started = performance.now();
  const r = timed
    ? spawnSync(GNU_TIME, ['-f', 'cpu %U %S', process.execPath, ...args], { env: { ...process.env, CI: 'true', ...env }, encoding: 'utf8' })
    : spawnSync(process.execPath, args, { env: { ...process.env, CI: 'true', ...env }, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`mlctl sync push exited ${r.status}: ${r.stderr}`);
  const cpu = /cpu (\d+\.\d+) (\d+\.\d+)/.exec(r.stderr);
  const result = JSON.parse(r.stdout);
  return {
    ms,
    cpuMs: cpu === null ? null : (Number(cpu[1]) + Number(cpu[2])) * 1000,
    reportedSeconds: result.seconds,
    uploaded: result.uploaded,
    skipped: result.skipped,
    bytes: result.bytes,
  };
}

const work = mkdtempSync(join(tmpdir(), 'mlctl-bench-sync-'));
const server = await startServer(join(work, 's3'));
try {
  const runsDir = join(work, 'runs');
  const dataDir = join(work, 'data');
  writeWorkspace(runsDir);
  const env = {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${server.port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    MLCTL_RUNS_DIR: runsDir,
    MLCTL_DATA_DIR: dataDir,
  };
  const phases = { first: [], unchanged: [], changed10: [] };
  for (let i = 0; i < RUNS; i += 1) {
    // A cold start each round: a new remote prefix and no hash caches.
    rmSync(join(dataDir, 'cache'), { recursive: true, force: true });
    const remote = `s3://${BUCKET}/round${i}`;
    phases.first.push(push(env, remote));
    phases.unchanged.push(push(env, remote));
    changeFiles(runsDir, i);
    phases.changed10.push(push(env, remote));
  }
  const summarize = (samples) => ({
    medianMs: round(median(samples.map((s) => s.ms))),
    medianCliCpuMs: samples[0].cpuMs === null ? null : round(median(samples.map((s) => s.cpuMs))),
    medianReportedSeconds: round(median(samples.map((s) => s.reportedSeconds)), 3),
    uploaded: samples[0].uploaded,
    skipped: samples[0].skipped,
    bytes: samples[0].bytes,
    runsMs: samples.map((s) => round(s.ms)),
  });
  const unchanged = summarize(phases.unchanged);
  console.log(
    JSON.stringify(
      {
        benchmark: 'sync',
        machine: machine(),
        files: { small: SMALL_FILES, bigBytes: BIG_BYTES },
        runs: RUNS,
        firstPush: summarize(phases.first),
        unchangedPush: unchanged,
        changed10Push: summarize(phases.changed10),
        target: { phase: 'unchangedPush', medianMsUnder: 2000, met: unchanged.medianMs < 2000 },
      },
      null,
      2,
    ),
  );
} finally {
  server.stop();
  rmSync(work, { recursive: true, force: true });
}
