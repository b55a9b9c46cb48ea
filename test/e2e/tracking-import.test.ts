import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createFileTrackingStore } from '../../src/core/tracking/file-tracking-store.js';
import { createWorkspace, runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase, describeWithPostgres } from '../helpers/postgres.js';
import { createFakeRun } from '../helpers/run-fixtures.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';

/**
 * Issue 14: `mlctl tracking import ./runs` copies a file store into PostgreSQL + S3 such that
 * `runs list --json` prints the same document on both, and a second import adds nothing.
 */
describeWithPostgres('tracking import: a file store into PostgreSQL + S3 (built binary)', () => {
  const ws = createWorkspace('mlctl-import-');
  let s3: TestS3Server;
  let database: { url: string; drop: () => Promise<void> };
  let team: Record<string, string>;
  const files = (args: string[], input?: string): Promise<CliResult> => runCli(args, { cwd: ws.dir, env: ws.env, ...(input === undefined ? {} : { input }) });
  const shared = (args: string[], input?: string): Promise<CliResult> => runCli(args, { cwd: ws.dir, env: { ...ws.env, ...team }, ...(input === undefined ? {} : { input }) });
  const ok = async (pending: Promise<CliResult>): Promise<string> => {
    const r = await pending;
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    return r.stdout;
  };
  let trained = '';

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['team'] });
    database = await createTestDatabase('mlctl_import');
    // MLCTL_RUNS_DIR stays set: the file store it names is where the import reads from.
    team = { ...s3.env, MLCTL_TRACKING_URI: database.url, MLCTL_ARTIFACT_URI: 's3://team/mlctl' };
    trained = (JSON.parse(await ok(files(['train', 'housing', '--json']))) as { run: { id: string } }).run.id;
    await ok(files(['train', 'housing', '--seed', '3', '--no-gates', '--tag', 'stage=candidate']));
    const store = createFileTrackingStore({ root: ws.env.MLCTL_RUNS_DIR! });
    const odd = await createFakeRun(store.files, { experiment: 'notes', params: { lr: 0.001, optimizer: 'adam', none: null }, metrics: { loss: [1, 0.5, Number.NaN] }, tags: { team: 'ml' } });
    const failed = await createFakeRun(store.files, { experiment: 'notes', metrics: { loss: [2] }, status: 'FAILED' });
    await store.setNote(odd.id, 'an odd one');
    await store.deleteRun(failed.id);
    await ok(files(['models', 'register', trained, '--name', 'housing', '--description', 'seed split']));
    await ok(files(['models', 'alias', 'set', 'housing', 'production', '1']));
    await ok(shared(['tracking', 'migrate']));
  }, 300_000);
  afterAll(async () => {
    await s3?.stop();
    await database?.drop();
    ws.cleanup();
  });

  it('gives identical runs list --json output, keeps the registry, and adds nothing the second time', async () => {
    const listArgs = ['runs', 'list', '--all', '--limit', '0', '--order-by', 'metrics.r2 desc', '--json'];
    const before = await ok(files(listArgs));
    const modelBefore = await ok(files(['models', 'show', 'housing', '--json']));

    const first = JSON.parse(await ok(shared(['tracking', 'import', ws.env.MLCTL_RUNS_DIR!, '--json']))) as { runs: { imported: number; present: number }; models: { imported: string[] } };
    expect([first.runs, first.models.imported]).toEqual([{ imported: 4, present: 0, total: 4 }, ['housing']]);
    expect(await ok(shared(listArgs))).toBe(before);
    expect(await ok(shared(['models', 'show', 'housing', '--json']))).toBe(modelBefore);
    expect(await ok(shared(['runs', 'list', '--filter', "tags.stage = 'candidate' and metrics.r2 > 0", '--json']))).toBe(await ok(files(['runs', 'list', '--filter', "tags.stage = 'candidate' and metrics.r2 > 0", '--json'])));

    const second = JSON.parse(await ok(shared(['tracking', 'import', './runs', '--json']))) as { runs: { imported: number; present: number }; models: { present: string[] }; metricPoints: number };
    expect([second.runs.imported, second.runs.present, second.metricPoints, second.models.present]).toEqual([0, 4, 0, ['housing']]);
    expect(await ok(shared(listArgs))).toBe(before);

    // The imported bundle is on S3 and serves the registered version, verified.
    const house = { area: 7420, bedrooms: 4, bathrooms: 2, stories: 3, mainroad: 'yes', guestroom: 'no', basement: 'no', hotwaterheating: 'no', airconditioning: 'yes', parking: 2, prefarea: 'yes', furnishingstatus: 'furnished' };
    const viaFiles = await ok(files(['predict', '--model', 'housing@production', '--json'], JSON.stringify(house)));
    expect(await ok(shared(['predict', '--model', 'housing@production', '--json'], JSON.stringify(house)))).toBe(viaFiles);
    const listing = await ok(shared(['storage', 'ls', 's3://team/mlctl/', '--recursive', '--json']));
    expect(listing).toContain(`housing/${trained}/artifacts/model/manifest.json`);
    expect(JSON.parse(await ok(shared(['runs', 'verify', '--json'])))).toMatchObject({ damage: [], runs: 4, bundles: 2 });
    expect(join(ws.dir, 'runs')).toBe(ws.env.MLCTL_RUNS_DIR);
  }, 180_000);
});
