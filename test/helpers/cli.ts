import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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

/** The seed's curl body: one census record. */
export const SEED_RECORD = Object.freeze({
  age: 39,
  workclass: 'State-gov',
  fnlwgt: 77516,
  education: 'Bachelors',
  education_num: 13,
  marital_status: 'Never-married',
  occupation: 'Adm-clerical',
  relationship: 'Not-in-family',
  race: 'White',
  sex: 'Male',
  capital_gain: 2174,
  capital_loss: 0,
  hours_per_week: 40,
  native_country: 'United-States',
});
