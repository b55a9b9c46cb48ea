import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspace, REPO_ROOT, runCli } from '../helpers/cli.js';

const WRITER = join(REPO_ROOT, 'test', 'helpers', 'tracking-writer.mjs');
const PROCESSES = 8;
const RUNS_PER_PROCESS = 250;
const STEPS = 5;

const ws = createWorkspace('mlctl-concurrency-');
afterAll(() => ws.cleanup());

function writer(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('8 processes writing one store at once', () => {
  it('ends with exactly 2,000 runs, every metric point present, and verify clean', async () => {
    const root = ws.env.MLCTL_RUNS_DIR!;
    const results = await Promise.all(Array.from({ length: PROCESSES }, () => writer(['runs', root, String(RUNS_PER_PROCESS), String(STEPS)])));
    for (const r of results) expect(r.stderr).toBe('');
    expect(results.map((r) => r.code)).toEqual(Array(PROCESSES).fill(0));
    const ids = results.flatMap((r) => JSON.parse(r.stdout) as string[]);
    expect(new Set(ids).size).toBe(PROCESSES * RUNS_PER_PROCESS);

    // On disk: one folder per run, each with every metric point in order.
    const folders = readdirSync(join(root, 'concurrency')).filter((f) => f !== 'experiment.json');
    expect(folders.sort()).toEqual([...ids].sort());
    for (const id of ids) {
      for (const key of ['loss', 'accuracy', 'index']) {
        const steps = readFileSync(join(root, 'concurrency', id, 'metrics', `${key}.jsonl`), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
        expect(steps).toEqual([0, 1, 2, 3, 4]);
      }
    }

    const listed = await runCli(['runs', 'list', '--limit', '0', '--json'], { cwd: ws.dir, env: ws.env });
    expect(listed.code).toBe(0);
    const list = JSON.parse(listed.stdout) as { total: number; runs: { status: string; metrics: Record<string, number> }[] };
    expect(list.total).toBe(2000);
    expect(list.runs.every((r) => r.status === 'FINISHED' && r.metrics.loss === 1 / STEPS && r.metrics.accuracy === (STEPS - 1) / STEPS)).toBe(true);

    const verify = await runCli(['runs', 'verify', '--json'], { cwd: ws.dir, env: ws.env });
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    const report = JSON.parse(verify.stdout) as { runs: number; metricFiles: number; damage: unknown[]; warnings: unknown[] };
    expect(report).toMatchObject({ runs: 2000, metricFiles: 6000, damage: [], warnings: [] });
  }, 120_000);
});
