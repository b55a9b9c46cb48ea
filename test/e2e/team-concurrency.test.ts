import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorkspace, REPO_ROOT, runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase, describeWithPostgres } from '../helpers/postgres.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';

/**
 * Issue 14's check: six machines (processes, each in its own working folder) share one
 * PostgreSQL + S3 backend; each trains 20 housing runs, registers each, and moves
 * housing@production to it with a compare-and-set. Nothing may be lost: 120 runs, versions
 * 1…120 with no gap and no duplicate, every move in the alias history as one unbroken chain,
 * and `runs verify` clean.
 */
const WORKERS = 6;
const RUNS_PER_WORKER = 20;

interface WorkerReport {
  runs: string[];
  versions: number[];
  moves: number;
  refusedMoves: number;
  ms: number;
}

function runWorker(cwd: string, env: Record<string, string>, seedBase: number): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'test', 'helpers', 'team-worker.mjs'), String(RUNS_PER_WORKER), 'housing', String(seedBase)], {
      cwd,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`worker in ${cwd} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1) as string) as WorkerReport);
    });
  });
}

describeWithPostgres('six processes on one PostgreSQL + S3 backend (issue 14)', () => {
  const root = createWorkspace('mlctl-team-concurrency-');
  let s3: TestS3Server;
  let database: { url: string; drop: () => Promise<void> };
  let shared: Record<string, string>;
  const folder = (name: string): { cwd: string; env: Record<string, string> } => {
    const cwd = join(root.dir, name);
    mkdirSync(cwd, { recursive: true });
    return { cwd, env: { ...shared, MLCTL_DATA_DIR: join(cwd, 'data'), DATABASE_URL: `sqlite:${join(cwd, 'data', 'mlctl.db')}` } };
  };
  const cli = (name: string, args: string[], input?: string): Promise<CliResult> => {
    const { cwd, env } = folder(name);
    return runCli(args, { cwd, env, ...(input === undefined ? {} : { input }) });
  };
  const json = async <T>(pending: Promise<CliResult>): Promise<T> => {
    const r = await pending;
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['team'] });
    database = await createTestDatabase('mlctl_concurrency');
    shared = { ...s3.env, MLCTL_DATA_MIRROR: root.env.MLCTL_DATA_MIRROR!, MLCTL_TRACKING_URI: database.url, MLCTL_ARTIFACT_URI: 's3://team/mlctl' };
    expect((await cli('admin', ['tracking', 'migrate'])).code).toBe(0);
  });
  afterAll(async () => {
    await s3?.stop();
    await database?.drop();
    root.cleanup();
  });

  it('loses nothing: 120 runs, versions 1…120, every alias move recorded, runs verify clean', async () => {
    const started = performance.now();
    const reports = await Promise.all(Array.from({ length: WORKERS }, (_, w) => runWorker(folder(`machine-${w + 1}`).cwd, folder(`machine-${w + 1}`).env, 1000 * (w + 1))));
    const wallMs = performance.now() - started;
    const total = WORKERS * RUNS_PER_WORKER;

    const runIds = reports.flatMap((r) => r.runs);
    expect(new Set(runIds).size).toBe(total);
    const listed = await json<{ total: number; runs: { id: string }[] }>(cli('admin', ['runs', 'list', '--experiment', 'housing', '--limit', '0', '--json']));
    expect(listed.total).toBe(total);
    expect(new Set(listed.runs.map((r) => r.id))).toEqual(new Set(runIds));

    const numbers = reports.flatMap((r) => r.versions).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const model = await json<{ versions: { version: number; runId: string }[]; aliases: Record<string, number>; nextVersion: number; audit: { action: string; old: number | null; new: number | string }[] }>(
      cli('admin', ['models', 'show', 'housing', '--json']),
    );
    expect(model.versions.map((v) => v.version)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(model.nextVersion).toBe(total + 1);
    expect(new Set(model.versions.map((v) => v.runId))).toEqual(new Set(runIds));
    expect(model.audit.filter((e) => e.action === 'register')).toHaveLength(total);

    // Every move is in the history, and each starts where the one before it ended: no move was lost or overwritten.
    const moves = model.audit.filter((e) => e.action === 'alias-set');
    expect(moves).toHaveLength(reports.reduce((sum, r) => sum + r.moves, 0));
    expect(moves).toHaveLength(total);
    expect(moves[0]!.old).toBeNull();
    for (let i = 1; i < moves.length; i += 1) expect(moves[i]!.old).toBe(moves[i - 1]!.new);
    expect(model.aliases.production).toBe(moves.at(-1)!.new);

    const verify = await json<{ damage: unknown[]; runs: number; bundles: number }>(cli('admin', ['runs', 'verify', '--json']));
    expect(verify).toMatchObject({ damage: [], runs: total, bundles: total });
    // A seventh folder serves the winner, downloaded from S3 and verified.
    const house = { area: 7420, bedrooms: 4, bathrooms: 2, stories: 3, mainroad: 'yes', guestroom: 'no', basement: 'no', hotwaterheating: 'no', airconditioning: 'yes', parking: 2, prefarea: 'yes', furnishingstatus: 'furnished' };
    expect((await cli('viewer', ['predict', '--model', 'housing@production', '--json'], JSON.stringify(house))).code).toBe(0);

    const refused = reports.reduce((sum, r) => sum + r.refusedMoves, 0);
    process.stderr.write(`team concurrency: ${total} runs by ${WORKERS} processes in ${Math.round(wallMs)} ms wall (workers ${reports.map((r) => r.ms).join(', ')} ms); ${refused} stale alias moves refused and retried\n`);
  }, 600_000);
});
