import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../../src/core/fs/hash.js';
import { createFileRunStore, type FileActiveRun, type FileRunStore, type FileRunStoreOptions } from '../../src/core/tracking/file-run-store.js';
import type { ActiveRun, ParamValue, RunStore } from '../../src/core/tracking/run-store.js';

/** A temporary store root; `cleanup()` removes it. */
export function createTempStore(options: Partial<FileRunStoreOptions> = {}): { root: string; store: FileRunStore; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'mlctl-tracking-'));
  const root = join(dir, 'runs');
  return { root, store: createFileRunStore({ root, ...options }), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a minimal bundle (manifest.json listing one weights file by SHA-256) where the trainer would. */
export function writeFakeBundle(bundleDir: string, weights = 'weights-v1'): void {
  mkdirSync(bundleDir, { recursive: true });
  writeFileSync(join(bundleDir, 'weights.bin'), weights);
  writeFileSync(join(bundleDir, 'manifest.json'), `${JSON.stringify({ kind: 'mlctl.bundle', files: { 'weights.bin': sha256(weights) } }, null, 2)}\n`);
}

export interface FakeRunOptions {
  readonly experiment?: string;
  /** The run's name (default: generated, as the trainer's). */
  readonly name?: string;
  readonly params?: Readonly<Record<string, ParamValue>>;
  /** Metric histories: key → values by step. */
  readonly metrics?: Readonly<Record<string, readonly number[]>>;
  readonly tags?: Readonly<Record<string, string>>;
  readonly bundle?: boolean;
  readonly status?: 'FINISHED' | 'FAILED' | 'KILLED' | 'RUNNING';
}

/** Creates a run through the store's public API, as the trainer does (any tracking backend). */
export async function createFakeRun(store: FileRunStore, options?: FakeRunOptions): Promise<FileActiveRun>;
export async function createFakeRun(store: RunStore, options?: FakeRunOptions): Promise<ActiveRun>;
export async function createFakeRun(store: RunStore, options: FakeRunOptions = {}): Promise<ActiveRun> {
  const run = await store.createRun({
    experiment: options.experiment ?? 'income',
    commandLine: 'mlctl train income',
    task: 'income',
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.tags === undefined ? {} : { tags: options.tags }),
  });
  if (options.params !== undefined) await run.logParams(options.params);
  const metrics = options.metrics ?? {};
  const steps = Math.max(0, ...Object.values(metrics).map((v) => v.length));
  for (let step = 0; step < steps; step += 1) {
    const point: Record<string, number> = {};
    for (const [key, values] of Object.entries(metrics)) if (step < values.length) point[key] = values[step]!;
    await run.logMetrics(point, step);
  }
  if (options.bundle === true) writeFakeBundle(join(run.artifactsDir, 'model'));
  const status = options.status ?? 'FINISHED';
  if (status !== 'RUNNING') await run.end(status);
  return run;
}
