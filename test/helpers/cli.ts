import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SEED_INCOME_EXAMPLE } from '../../src/core/serving/openapi.js';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const MLCTL_BIN = join(REPO_ROOT, 'bin', 'mlctl');
export const SHARED_DATA = process.env.MLCTL_DATA_MIRROR ?? resolve(REPO_ROOT, '..', 'shared', 'data');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCliOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Spawns the built `bin/mlctl` (run `npm run build` first) and collects its output. */
export function runCli(args: readonly string[], options: RunCliOptions): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...process.env, CI: 'true', NO_COLOR: '1', ...options.env })) if (v !== undefined) env[k] = v;
    const child = spawn(process.execPath, [MLCTL_BIN, ...args], { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** A temporary working folder with its own runs/ and data/; `cleanup()` removes it. */
export function createWorkspace(prefix = 'mlctl-test-'): { dir: string; env: Record<string, string>; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    env: {
      MLCTL_RUNS_DIR: join(dir, 'runs'),
      MLCTL_DATA_DIR: join(dir, 'data'),
      MLCTL_DATA_MIRROR: SHARED_DATA,
      DATABASE_URL: `sqlite:${join(dir, 'data', 'mlctl.db')}`,
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The seed's curl body as one complete census record (race and sex added). */
export const SEED_RECORD = Object.freeze({ ...SEED_INCOME_EXAMPLE, race: 'White', sex: 'Male' } as Record<string, unknown>);
