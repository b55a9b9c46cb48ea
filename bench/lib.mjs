// Small helpers shared by the benchmark scripts. Every benchmark prints one JSON document.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MLCTL_BIN = join(REPO_ROOT, 'bin', 'mlctl');
export const SHARED_DATA = process.env.MLCTL_DATA_MIRROR ?? resolve(REPO_ROOT, '..', 'shared', 'data');

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Runs the built CLI once and returns its wall time in ms (throws on a non-zero exit). */
export function timeCli(args, { cwd = REPO_ROOT, env = {}, input } = {}) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [MLCTL_BIN, ...args], { cwd, env: { ...process.env, CI: 'true', ...env }, input, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`mlctl ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout, stderr: r.stderr };
}

export function machine() {
  return { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, loadAverage1m: round(loadavg()[0], 2) };
}
