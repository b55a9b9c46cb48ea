import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspace, MLCTL_BIN } from '../helpers/cli.js';

const ws = createWorkspace();
afterAll(() => ws.cleanup());

function findRunDir(root: string): string | undefined {
  const experiment = join(root, 'income');
  if (!existsSync(experiment)) return undefined;
  const runs = readdirSync(experiment).filter((d) => !d.startsWith('.') && d !== 'experiment.json');
  return runs[0] === undefined ? undefined : join(experiment, runs[0]);
}

describe('Ctrl-C during training', () => {
  it('stops after the current epoch, marks the run KILLED, writes no bundle and exits 130', async () => {
    const child = spawn(process.execPath, [MLCTL_BIN, 'train', 'income', '--epochs', '200', '--patience', '0', '--no-gates'], {
      cwd: ws.dir,
      env: { ...process.env, ...ws.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

    // Wait until the first epoch is on disk, then interrupt as a terminal would.
    let runDir: string | undefined;
    for (let i = 0; i < 600; i++) {
      runDir = findRunDir(ws.env.MLCTL_RUNS_DIR as string);
      if (runDir !== undefined && existsSync(join(runDir, 'metrics', 'val_loss.jsonl'))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(runDir, 'a run folder with a first epoch appeared').toBeDefined();
    child.kill('SIGINT');
    const code = await exited;

    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted/);
    const run = JSON.parse(readFileSync(join(runDir as string, 'run.json'), 'utf8')) as { status: string; endTime: string | null };
    expect(run.status).toBe('KILLED');
    expect(run.endTime).not.toBeNull();
    expect(existsSync(join(runDir as string, 'artifacts', 'model', 'manifest.json'))).toBe(false);
    const epochs = readFileSync(join(runDir as string, 'metrics', 'val_loss.jsonl'), 'utf8').trim().split('\n').length;
    expect(epochs).toBeLessThan(200);
  }, 180_000);
});
