import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspace, MLCTL_BIN, REPO_ROOT, runCli } from '../helpers/cli.js';

const ws = createWorkspace('mlctl-kill-');
const cli = (...args: string[]) => runCli(args, { cwd: ws.dir, env: ws.env });
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  ws.cleanup();
});

/** Waits until some run under `experimentDir` has a non-empty metric file; returns that run's id. */
async function firstMetricLine(experimentDir: string, child: ChildProcess, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the process exited (${child.exitCode}) before logging a metric`);
    if (existsSync(experimentDir)) {
      for (const id of readdirSync(experimentDir)) {
        const metrics = join(experimentDir, id, 'metrics');
        if (existsSync(metrics) && readdirSync(metrics).some((f) => statSync(join(metrics, f)).size > 0)) return id;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no metric line appeared in time');
}

function start(args: string[]): ChildProcess {
  const env = { ...process.env, ...ws.env, CI: 'true', NO_COLOR: '1' };
  const child = spawn(process.execPath, args, { cwd: ws.dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  children.push(child);
  return child;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  const closed = new Promise((resolve) => child.on('close', resolve));
  child.kill('SIGKILL');
  await closed;
}

interface ListJson {
  runs: { id: string; status: string; metrics: Record<string, number> }[];
}

describe('kill -9 mid-run', () => {
  it('leaves `mlctl train` readable and not FINISHED', async () => {
    const child = start([MLCTL_BIN, 'train', 'income', '--epochs', '50', '--patience', '0', '--no-gates']);
    const id = await firstMetricLine(join(ws.env.MLCTL_RUNS_DIR!, 'income'), child, 240_000);
    await killAndWait(child);

    const list = await cli('runs', 'list', '--experiment', 'income', '--json');
    expect(list.code).toBe(0);
    const run = (JSON.parse(list.stdout) as ListJson).runs.find((r) => r.id === id);
    expect(run?.status).toBe('FAILED');
    expect(Object.keys(run!.metrics).length).toBeGreaterThan(0);
    expect((await cli('runs', 'show', id, '--json')).code).toBe(0);
    // A torn metric tail is a warning, not damage: the store stays clean.
    const verify = await cli('runs', 'verify', '--json');
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
  }, 300_000);

  it('leaves a run killed while logging metrics in a tight loop readable and FAILED', async () => {
    const child = start([join(REPO_ROOT, 'test', 'helpers', 'tracking-writer.mjs'), 'loop', ws.env.MLCTL_RUNS_DIR!]);
    const id = await firstMetricLine(join(ws.env.MLCTL_RUNS_DIR!, 'killed'), child, 60_000);
    // Let it write for a while so that the kill lands mid-batch.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await killAndWait(child);

    const list = await cli('runs', 'list', '--experiment', 'killed', '--json');
    const run = (JSON.parse(list.stdout) as ListJson).runs.find((r) => r.id === id);
    expect(run?.status).toBe('FAILED');
    const shown = JSON.parse((await cli('runs', 'show', id, '--json')).stdout) as { history: Record<string, { step: number }[]> };
    const steps = shown.history.loss!.map((p) => p.step);
    expect(steps.length).toBeGreaterThan(0);
    // Every complete line is there, in order, with no gaps.
    expect(steps).toEqual(Array.from({ length: steps.length }, (_, i) => i));
    expect((await cli('runs', 'verify')).code).toBe(0);
  }, 120_000);
});
