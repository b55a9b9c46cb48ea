import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../src/core/storage/s3-client.js';
import { defineSyncScopes, syncWorkspace } from '../../../src/core/storage/workspace-sync.js';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.js';

const BUCKET = 'workspace-tests';
let server: TestS3Server;
let client: S3Client;
let work: string;

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  client = createS3Client(server.aws);
  work = await mkdtemp(join(tmpdir(), 'mlctl-workspace-'));
});
afterAll(async () => {
  client?.destroy();
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [key, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, key)), { recursive: true });
    await writeFile(join(root, key), content);
  }
}

async function listTree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length + 1)).sort();
}

describe('syncWorkspace', () => {
  it('keeps the registry and hidden folders out of runs, and passes over what is absent', async () => {
    const dirs = { runsDir: join(work, 'a', 'runs'), dataDir: join(work, 'a', 'data') };
    await writeTree(join(work, 'a'), {
      'runs/income/abc/run.json': '{}',
      'runs/income/abc/.lock': '',
      'runs/.index/runs.sqlite': 'x',
      'runs/models/income/model.json': '{}',
      'runs/models/income/.lock': '',
    });
    const result = await syncWorkspace({ client, direction: 'push', remote: `s3://${BUCKET}/ws`, scopes: defineSyncScopes('all', dirs) });
    expect(result.scopes.map((s) => [s.scope, s.changes.map((c) => c.key), s.note ?? ''])).toEqual([
      ['runs', ['income/abc/run.json'], ''],
      ['models', ['income/model.json'], ''],
      ['data', [], `${join(dirs.dataDir, 'raw')} does not exist`],
    ]);
    expect(result.totals.transferred).toBe(2);
  });

  it('pulls with --delete but keeps local files of a scope that is empty remotely', async () => {
    const dirs = { runsDir: join(work, 'b', 'runs'), dataDir: join(work, 'b', 'data') };
    await writeTree(join(work, 'b'), { 'data/raw/housing/housing.csv': 'a\n', 'runs/income/old/run.json': '{}' });
    const result = await syncWorkspace({
      client,
      direction: 'pull',
      remote: `s3://${BUCKET}/ws`,
      scopes: defineSyncScopes('all', dirs),
      deleteExtraneous: true,
    });
    expect(result.scopes.map((s) => [s.scope, s.transferred, s.deleted])).toEqual([['runs', 1, 1], ['models', 1, 0], ['data', 0, 0]]);
    expect(result.scopes[2]?.note).toBe(`nothing under s3://${BUCKET}/ws/data/; local files kept`);
    expect(await listTree(join(work, 'b'))).toEqual(['data/raw/housing/housing.csv', 'runs/income/abc/run.json', 'runs/models/income/model.json']);
  });
});
