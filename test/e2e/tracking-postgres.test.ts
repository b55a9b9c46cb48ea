import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWorkspace, runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase, describeWithPostgres, POSTGRES_URL } from '../helpers/postgres.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';

/**
 * Every command on the team backend: runs and the registry in PostgreSQL, bundles on S3
 * (s3rver on loopback), from two working folders that share nothing else.
 */
const HOUSE = { area: 7420, bedrooms: 4, bathrooms: 2, stories: 3, mainroad: 'yes', guestroom: 'no', basement: 'no', hotwaterheating: 'no', airconditioning: 'yes', parking: 2, prefarea: 'yes', furnishingstatus: 'furnished' };

describeWithPostgres('the team backend: PostgreSQL tracking, S3 artifacts (built binary)', () => {
  const a = createWorkspace('mlctl-team-a-');
  const b = createWorkspace('mlctl-team-b-');
  let s3: TestS3Server;
  let database: { url: string; drop: () => Promise<void> };
  let env: Record<string, string>;
  const cli = (ws: typeof a, args: string[], input?: string): Promise<CliResult> =>
    runCli(args, { cwd: ws.dir, env: { ...ws.env, ...env }, ...(input === undefined ? {} : { input }) });
  const json = async <T>(pending: Promise<CliResult>): Promise<T> => {
    const r = await pending;
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  let runId = '';

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['team'] });
    database = await createTestDatabase('mlctl_team');
    env = { ...s3.env, MLCTL_TRACKING_URI: database.url, MLCTL_ARTIFACT_URI: 's3://team/mlctl' };
    // MLCTL_RUNS_DIR would conflict with nothing, but a team store has no runs folder of its own.
    delete (a.env as Record<string, string | undefined>).MLCTL_RUNS_DIR;
    delete (b.env as Record<string, string | undefined>).MLCTL_RUNS_DIR;
  });
  afterAll(async () => {
    await s3?.stop();
    await database?.drop();
    a.cleanup();
    b.cleanup();
  });

  it('says to migrate first (exit 2), then migrates once, idempotently', async () => {
    const before = await cli(a, ['runs', 'list']);
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(/run `mlctl tracking migrate`/);
    const first = await json<{ steps: { name: string }[]; backend: string }>(cli(a, ['tracking', 'migrate', '--json']));
    expect([first.backend, first.steps.map((s) => s.name)]).toEqual(['postgres', ['0001_create_tracking_tables']]);
    expect((await json<{ steps: unknown[] }>(cli(b, ['tracking', 'migrate', '--json']))).steps).toEqual([]);
    const status = await json<{ current: boolean; artifacts: string; location: string }>(cli(b, ['tracking', 'status', '--json']));
    expect(status).toMatchObject({ current: true, artifacts: 's3://team/mlctl' });
    expect(status.location).not.toContain(POSTGRES_URL === undefined ? '' : 'password');
    // The store is shared already: syncing the runs folder beside it is refused.
    const sync = await cli(a, ['sync', 'push', '--remote', 's3://team/sync', '--json']);
    expect([sync.code, JSON.parse(sync.stdout).error.code]).toEqual([2, 'SYNC_TRACKING_SHARED']);
  }, 60_000);

  it('trains into the database with the bundle on S3, and every runs command reads it from another folder', async () => {
    const trained = await json<{ run: { id: string }; bundleUri: string }>(cli(a, ['train', 'housing', '--json']));
    runId = trained.run.id;
    expect(trained.bundleUri).toBe(`s3://team/mlctl/housing/${runId}/artifacts/model`);
    expect(existsSync(join(a.dir, 'runs'))).toBe(false);

    const listed = await json<{ total: number; runs: { id: string; metrics: Record<string, number> }[] }>(cli(b, ['runs', 'list', '--filter', 'metrics.r2 > 0.6', '--json']));
    expect(listed.runs.map((r) => r.id)).toEqual([runId]);
    const shown = await json<{ artifactUri: string; history: Record<string, unknown[]>; artifacts: { path: string }[] }>(cli(b, ['runs', 'show', runId.slice(0, 14), '--json']));
    expect(shown.artifactUri).toBe(`s3://team/mlctl/housing/${runId}/artifacts`);
    expect(Object.keys(shown.history)).toEqual(['mae', 'r2', 'rmse']);
    expect(shown.artifacts.map((x) => x.path)).toEqual(expect.arrayContaining(['model/manifest.json', 'evaluation.json', 'test-predictions.csv']));
    expect((await cli(b, ['runs', 'tag', runId, 'stage=candidate'])).code).toBe(0);
    expect((await cli(b, ['runs', 'note', runId, 'team baseline'])).code).toBe(0);
    const second = await json<{ run: { id: string } }>(cli(b, ['train', 'housing', '--seed', '7', '--no-gates', '--json']));
    expect((await cli(a, ['runs', 'compare', runId, second.run.id])).code).toBe(0);
    expect((await cli(a, ['runs', 'diff', runId, second.run.id, '--json'])).code).toBe(0);
    const tagged = await json<{ runs: { id: string; note: string }[] }>(cli(a, ['runs', 'list', '--filter', "tags.stage = 'candidate'", '--json']));
    expect(tagged.runs).toEqual([expect.objectContaining({ id: runId, note: 'team baseline' })]);
    expect((await cli(a, ['runs', 'delete', second.run.id])).code).toBe(0);
    expect((await json<{ total: number }>(cli(a, ['runs', 'list', '--json']))).total).toBe(1);
    const gc = await json<{ purged: { id: string }[] }>(cli(b, ['runs', 'gc', '--json']));
    expect(gc.purged.map((r) => r.id)).toEqual([second.run.id]);
  }, 180_000);

  it('registers, moves aliases with --expect (a stale move exits 4), and predicts, evaluates and reports from another folder', async () => {
    expect(await json(cli(a, ['models', 'register', runId, '--name', 'housing', '--json']))).toMatchObject({ version: 1, runId });
    expect(await json(cli(b, ['models', 'register', runId, '--name', 'housing', '--json']))).toMatchObject({ version: 2 });
    expect(await json(cli(a, ['models', 'alias', 'set', 'housing', 'production', '1', '--expect', 'none', '--json']))).toMatchObject({ previous: null });
    const stale = await cli(b, ['models', 'alias', 'set', 'housing', 'production', '2', '--expect', '2', '--json']);
    expect(stale.code).toBe(4);
    expect(JSON.parse(stale.stdout).error).toMatchObject({ code: 'MODEL_ALIAS_MOVED', details: { current: 1, expected: 2 } });
    expect((await cli(b, ['models', 'alias', 'set', 'housing', 'production', '2', '--expect', '1'])).code).toBe(0);

    // b has never seen the bundle: it is downloaded from S3 and checked before use.
    const predicted = await json<{ prediction: number }>(cli(b, ['predict', '--model', 'housing@production', '--json'], JSON.stringify(HOUSE)));
    expect(predicted.prediction).toBeGreaterThan(1_000_000);
    const resolved = await json<{ bundleDir: string; source: { version: number } }>(cli(b, ['models', 'resolve', 'models:/housing@production', '--json']));
    expect(resolved.source.version).toBe(2);
    expect(resolved.bundleDir.startsWith(join(b.dir, 'data', 'cache', 'artifacts'))).toBe(true);
    expect((await cli(b, ['evaluate', 'housing@production', '--fail-under', 'r2=0.6'])).code).toBe(0);
    mkdirSync(join(b.dir, 'out'));
    expect((await cli(b, ['report', 'housing/1', '--out', 'out/report.html', '--no-importance'])).code).toBe(0);
    expect(existsSync(join(b.dir, 'out', 'report.html'))).toBe(true);
    const shown = await json<{ audit: { action: string; old: unknown; new: unknown }[] }>(cli(a, ['models', 'show', 'housing', '--json']));
    expect(shown.audit.map((e) => `${e.action} ${String(e.old)} → ${String(e.new)}`)).toEqual([
      `register null → runs:/${runId}`,
      `register null → runs:/${runId}`,
      'alias-set null → 1',
      'alias-set 1 → 2',
    ]);
    const verify = await json<{ damage: unknown[]; runs: number; bundles: number }>(cli(a, ['runs', 'verify', '--json']));
    expect(verify).toMatchObject({ damage: [], runs: 1, bundles: 1 });
  }, 180_000);

  it('runs the S3 pipeline with its run recorded in the database', async () => {
    const r = await json<{ runId: string; score: { metrics: { r2: number } } }>(cli(a, ['pipeline', 'housing', '--remote', 's3://team/pipeline', '--json']));
    expect(r.score.metrics.r2).toBeGreaterThan(0.6);
    const run = await json<{ tags: Record<string, string> }>(cli(b, ['runs', 'show', r.runId, '--json']));
    expect(run.tags['mlctl.pipeline']).toBe('remote');
  }, 180_000);
});
