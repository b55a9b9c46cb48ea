import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, runCli } from '../helpers/cli.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';

interface PipelineJson {
  runId: string;
  objects: { dataset: string; bundle: string; split: string; score: string };
  score: { rows: number; metrics: Record<string, number> };
  training: { evaluation: { metrics: Record<string, number> }; model: { coefficients: { feature: string; value: number }[] } } | null;
  steps: { step: string; status: string }[];
}

const ws = createWorkspace();
let s3: TestS3Server;
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: ws.dir, env: { ...ws.env, ...s3.env, ...env } });

beforeAll(async () => {
  s3 = await startS3Server({ buckets: ['mlctl-pipeline'] });
});
afterAll(async () => {
  await s3.stop();
  ws.cleanup();
});

describe('mlctl pipeline housing --remote s3://… (real S3 server on loopback)', () => {
  let first: PipelineJson;

  it('seeds the data bucket, trains, uploads bundle and split, and scores from the S3 copies', async () => {
    const r = await cli(['pipeline', 'housing', '--remote', 's3://mlctl-pipeline/demo', '--json']);
    expect(r.stderr).not.toMatch(/unexpected failure|NodeDeprecationWarning|AWS SDK/);
    expect(r.code).toBe(0);
    first = JSON.parse(r.stdout) as PipelineJson;
    expect(first.steps.map((s) => `${s.step}:${s.status}`)).toEqual(['seed-data:done', 'ingest:done', 'upload:done', 'score:done']);
    // The score read back from S3 equals the one computed at training time, on the same 109 rows.
    expect(first.score.rows).toBe(109);
    expect(first.score.metrics.r2).toBeCloseTo(first.training?.evaluation.metrics.r2 as number, 9);
    // Quality bar of issue 4 on the seed's own split: OLS on every feature reaches 0.653.
    expect(first.score.metrics.r2).toBeGreaterThanOrEqual(0.65);

    // --recursive: s3rver answers a delimited listing of nested keys with only the first
    // common prefix (S3, LocalStack and MinIO list them all).
    const listing = await cli(['storage', 'ls', 's3://mlctl-pipeline/demo/', '--recursive', '--json']);
    expect(listing.code).toBe(0);
    for (const key of ['data/housing.csv', `models/housing/${first.runId}/manifest.json`, `splits/housing/${first.runId}/test.csv`, `scores/housing/${first.runId}.json`]) {
      expect(listing.stdout).toContain(key);
    }
  }, 120_000);

  it('re-runs the score step alone, and a second run reuses the dataset already there', async () => {
    const again = await cli(['pipeline', 'housing', '--remote', 's3://mlctl-pipeline/demo', '--score-only', first.runId, '--json']);
    expect(again.code).toBe(0);
    const scored = JSON.parse(again.stdout) as PipelineJson;
    expect(scored.steps.map((s) => s.step)).toEqual(['score']);
    expect(scored.score.metrics).toEqual(first.score.metrics);

    const second = await cli(['pipeline', 'housing', '--remote', 's3://mlctl-pipeline/demo', '--json']);
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as PipelineJson).steps[0]).toMatchObject({ step: 'seed-data', status: 'skipped' });
  }, 120_000);

  it('trains straight from an s3:// dataset, recording its hash', async () => {
    const r = await cli(['train', 'housing', '--data', 's3://mlctl-pipeline/demo/data/housing.csv', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { run: { location: string }; evaluation: { metrics: Record<string, number> } };
    expect(result.evaluation.metrics.r2).toBeCloseTo(first.score.metrics.r2 as number, 9);
    const run = JSON.parse(readFileSync(join(result.run.location, 'run.json'), 'utf8')) as { datasetSha256: string };
    expect(run.datasetSha256).toBe('53c664e09e63570198f4197daa9d6e96b5fea6488d4a1b9259d192df2ce51ccf');

    const missing = await cli(['train', 'housing', '--data', 's3://mlctl-pipeline/demo/data/nothing.csv']);
    expect(missing.code).toBe(3);
  }, 60_000);

  it('predicts straight from the bundle on S3', async () => {
    const record = { area: 7420, bedrooms: 4, bathrooms: 2, stories: 3, mainroad: 'yes', guestroom: 'no', basement: 'no', hotwaterheating: 'no', airconditioning: 'yes', parking: 2, prefarea: 'yes', furnishingstatus: 'furnished' };
    const r = await runCli(['predict', '--model', first.objects.bundle, '--json'], { cwd: ws.dir, env: { ...ws.env, ...s3.env }, input: JSON.stringify(record) });
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as { prediction: number };
    expect(p.prediction).toBeGreaterThan(1_000_000);
  }, 60_000);

  it('names a missing bucket with exit 5 and says how to create it; asks for a missing run with exit 3', async () => {
    const missing = await cli(['pipeline', 'housing', '--remote', 's3://no-such-bucket-here/x']);
    expect(missing.code).toBe(5);
    expect(missing.stderr).toMatch(/no-such-bucket-here/);
    expect(missing.stderr).toMatch(/mlctl storage mb/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);

    const noRun = await cli(['pipeline', 'housing', '--remote', 's3://mlctl-pipeline/demo', '--score-only', '01nosuchrun']);
    expect(noRun.code).toBe(3);
  }, 60_000);

  it('fails fast with exit 5 when the endpoint is down', async () => {
    const r = await cli(['pipeline', 'housing', '--remote', 's3://mlctl-pipeline/demo'], { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    expect(r.code).toBe(5);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
