/**
 * `serve --workers 2` with the built binary: one port, both workers answering, /metrics
 * summed over the workers, SIGHUP reaching every worker, the prediction retention enforced
 * once (worker 0), every prediction written before the daemon exits on SIGTERM, and
 * `mlctl db prune-predictions`.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { SEED_BODY, writeIncomeBundle, type IncomeBundle } from '../unit/serving/fixture.js';
import { startDaemon, type Daemon } from './serve-helpers.js';

let bundle: IncomeBundle;
let dbPath: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  bundle = await writeIncomeBundle({ seed: 11, runId: 'workers-run' });
  dbPath = join(bundle.root, 'mlctl.db');
  env = { DATABASE_URL: `sqlite:${dbPath}`, MLCTL_API_TOKEN: undefined, MLCTL_RUNS_DIR: join(bundle.root, 'runs') };
  const migrated = await runCli(['db', 'migrate', '--json'], { cwd: bundle.root, env });
  expect(migrated.code, migrated.stderr).toBe(0);
}, 120_000);
afterAll(() => bundle.cleanup());

function withDb<T>(fn: (db: Database.Database) => T): T {
  const db = new Database(dbPath);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function insertOld(count: number, createdAt: string): void {
  withDb((db) => {
    const insert = db.prepare("insert into predictions (model_name, model_version, input_hash, label, probability, latency_ms, created_at) values ('income', 'old', ?, '<=50K', 0.1, 1, ?)");
    for (let i = 0; i < count; i++) insert.run('0'.repeat(64), createdAt);
  });
}

const countRows = (where = '1 = 1'): number => withDb((db) => (db.prepare(`select count(*) as n from predictions where ${where}`).get() as { n: number }).n);

async function predict(url: string): Promise<number> {
  const r = await fetch(`${url}/predict_income`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SEED_BODY) });
  await r.text();
  return r.status;
}

describe('serve --workers 2', () => {
  let daemon: Daemon;

  it('serves from two processes on one port, sums /metrics over them, reloads both, prunes once and loses no prediction at SIGTERM', async () => {
    insertOld(50, '2020-01-01T00:00:00.000Z');
    daemon = await startDaemon(['--model', bundle.dir, '--workers', '2', '--prediction-retention', '30d', '--drain-timeout', '30'], { cwd: bundle.root, env });
    const listening = daemon.events().find((e) => e.event === 'listening')!;
    expect(listening).toMatchObject({ workers: 2, model: 'income', version: expect.any(String) });
    expect(daemon.events().filter((e) => e.event === 'worker-listening').map((e) => e.worker).sort()).toEqual([0, 1]);

    // Concurrent clients on their own connections: the primary spreads connections over both.
    const statuses = await Promise.all(Array.from({ length: 200 }, () => predict(daemon.url)));
    expect(statuses.every((s) => s === 200)).toBe(true);
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/^mlctl_serve_workers 2$/m);
    expect(metrics).toContain('mlctl_http_requests_total{route="predict_income",method="POST",status="200"} 200');
    expect(metrics).toMatch(/^mlctl_model_info\{name="income",[^}]*\} 1$/m);
    // Both workers answered some of them (each access-log line names its worker).
    await daemon.waitForEvent((e) => e.event === 'request' && e.worker === 1, 10_000);
    const byWorker = daemon.events().filter((e) => e.event === 'request' && e.route === 'predict_income');
    expect(byWorker).toHaveLength(200);
    expect(new Set(byWorker.map((e) => e.worker))).toEqual(new Set([0, 1]));

    // SIGHUP to the primary reaches every worker.
    daemon.child.kill('SIGHUP');
    await daemon.waitForEvent((e) => e.event === 'model-reloaded' && e.worker === 0, 30_000);
    await daemon.waitForEvent((e) => e.event === 'model-reloaded' && e.worker === 1, 30_000);

    // The retention runs in worker 0 only: the 50 old rows go, once.
    await daemon.waitForEvent((e) => e.event === 'predictions-pruned', 30_000);
    expect(daemon.events().filter((e) => e.event === 'predictions-pruned')).toEqual([expect.objectContaining({ by_age: 50 })]);
    expect(countRows("model_version = 'old'")).toBe(0);

    // A burst, then SIGTERM as soon as it is answered: every prediction is in the database.
    const before = countRows();
    const burst = await Promise.all(Array.from({ length: 300 }, () => predict(daemon.url)));
    expect(burst.every((s) => s === 200)).toBe(true);
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    expect(countRows() - before).toBe(300);
    expect(daemon.events().find((e) => e.event === 'stopped' && e.workers === 2)).toMatchObject({ cut_requests: 0 });
  }, 180_000);

  it('mlctl db prune-predictions removes rows older than --older-than, in batches', async () => {
    insertOld(1_200, '2021-06-01T00:00:00.000Z');
    const total = countRows();
    const dry = await runCli(['db', 'prune-predictions', '--older-than', 'forever'], { cwd: bundle.root, env });
    expect(dry.code).toBe(2);
    const pruned = await runCli(['db', 'prune-predictions', '--older-than', '30d', '--json'], { cwd: bundle.root, env });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ deleted: 1_200, byAge: 1_200, byCount: 0 });
    expect(countRows()).toBe(total - 1_200);
    const kept = await runCli(['db', 'prune-predictions', '--keep-last', '10', '--json'], { cwd: bundle.root, env });
    expect(JSON.parse(kept.stdout)).toMatchObject({ byCount: total - 1_200 - 10 });
    expect(countRows()).toBe(10);
  }, 60_000);
});
