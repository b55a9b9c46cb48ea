import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/core/storage/s3-client.js';
import { createFileRunStore } from '../../src/core/tracking/file-run-store.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';

// Spawns the built CLI (`npm test` builds dist/ first) against a real s3rver on loopback.
const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'mlctl');
const BUCKET = 'mlctl-e2e';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let server: TestS3Server;
let work: string;

function mlctl(args: string[], env: Record<string, string | undefined> = {}, cwd = work): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: '1', ...server.env, ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
    );
  });
}

/** A workspace: runs (with an index folder and a registry), raw data, and its env. */
async function workspace(name: string): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  return { dir, env: { MLCTL_RUNS_DIR: join(dir, 'runs'), MLCTL_DATA_DIR: join(dir, 'data'), MLCTL_S3_BUCKET: BUCKET } };
}

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

/** A known failure: the exit code, one error line and a hint, no stack trace, nothing on stdout. */
function expectCleanFailure(result: CliResult, code: number, message: RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toContain('NodeVersionSupportWarning');
}

beforeAll(async () => {
  server = await startS3Server();
  work = await mkdtemp(join(tmpdir(), 'mlctl-e2e-s3-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('mlctl storage and sync against S3', () => {
  it('makes a bucket, pushes, skips unchanged, dry-runs, deletes only with --delete, pulls verified', async () => {
    const mb = await mlctl(['storage', 'mb', BUCKET, '--json']);
    expect(mb.code, mb.stderr).toBe(0);
    expect(JSON.parse(mb.stdout)).toEqual({ bucket: BUCKET, created: true, region: 'us-east-1' });
    expect(mb.stderr).toBe('');
    const buckets = await mlctl(['storage', 'ls', '--json']);
    expect(JSON.parse(buckets.stdout).buckets.map((b: { name: string }) => b.name)).toEqual([BUCKET]);

    const a = await workspace('a');
    await writeTree(a.dir, {
      'runs/income/0123abcd/run.json': '{"id":"0123abcd"}',
      'runs/income/0123abcd/artifacts/model/manifest.json': '{"task":"income"}',
      'runs/.index/runs.json': '[]',
      'runs/models/income/model.json': '{"name":"income"}',
      'data/raw/housing/housing.csv': 'price,area\n1,2\n',
      'data/mlctl.db': 'not synced',
    });

    const push = await mlctl(['sync', 'push', '--json'], a.env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stderr).toBe('');
    const pushed = JSON.parse(push.stdout);
    expect(pushed).toMatchObject({ direction: 'push', remote: `s3://${BUCKET}/mlctl`, uploaded: 4, skipped: 0, deleted: 0 });
    expect(pushed.scopes.map((s: { scope: string; uploaded: number }) => [s.scope, s.uploaded])).toEqual([['runs', 2], ['models', 1], ['data', 1]]);

    const ls = await mlctl(['storage', 'ls', `s3://${BUCKET}/mlctl/`, '--recursive', '--json']);
    const objects = JSON.parse(ls.stdout).objects as { key: string; sha256: string }[];
    expect(objects.map((o) => o.key)).toEqual([
      'mlctl/data/housing/housing.csv',
      'mlctl/models/income/model.json',
      'mlctl/runs/income/0123abcd/artifacts/model/manifest.json',
      'mlctl/runs/income/0123abcd/run.json',
    ]);
    expect(objects[3]?.sha256).toBe(createHash('sha256').update('{"id":"0123abcd"}').digest('hex'));

    const again = JSON.parse((await mlctl(['sync', 'push', '--json'], a.env)).stdout);
    expect([again.uploaded, again.skipped, again.bytes]).toEqual([0, 4, 0]);

    await rm(join(a.dir, 'runs/income/0123abcd/artifacts/model/manifest.json'));
    await writeFile(join(a.dir, 'runs/income/0123abcd/run.json'), '{"id":"0123abcd","status":"FINISHED"}');
    const dry = await mlctl(['sync', 'push', 'runs', '--dry-run', '--delete', '--json'], a.env);
    expect(JSON.parse(dry.stdout).scopes[0].changes).toEqual([
      { action: 'upload', key: 'income/0123abcd/run.json', bytes: 37 },
      { action: 'delete', key: 'income/0123abcd/artifacts/model/manifest.json', bytes: 17 },
    ]);
    const kept = JSON.parse((await mlctl(['sync', 'push', 'runs', '--json'], a.env)).stdout);
    expect([kept.uploaded, kept.deleted]).toEqual([1, 0]);
    const deleted = JSON.parse((await mlctl(['sync', 'push', 'runs', '--delete', '--json'], a.env)).stdout);
    expect([deleted.uploaded, deleted.deleted]).toEqual([0, 1]);

    const b = await workspace('b');
    const pull = await mlctl(['sync', 'pull', 'all', '--json'], b.env);
    expect(pull.code, pull.stderr).toBe(0);
    expect(JSON.parse(pull.stdout)).toMatchObject({ direction: 'pull', downloaded: 3, skipped: 0, unverified: 0 });
    // Beside the runs, only what sync keeps about the remote (hidden, git-ignored).
    expect((await listTree(join(b.dir, 'runs'))).filter((path) => !path.startsWith('.sync/'))).toEqual(['income/0123abcd/run.json', 'models/income/model.json']);
    expect(await listTree(join(b.dir, 'data/raw'))).toEqual(['housing/housing.csv']);
    expect(await readFile(join(b.dir, 'runs/income/0123abcd/run.json'), 'utf8')).toBe('{"id":"0123abcd","status":"FINISHED"}');

    const human = await mlctl(['sync', 'pull'], b.env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/0 downloaded, 3 skipped, 0 deleted/);
  });

  it('shows runs pulled from S3 in `mlctl runs list`', async () => {
    const f = await workspace('f');
    const store = createFileRunStore({ root: f.env.MLCTL_RUNS_DIR as string });
    const run = await store.createRun({ experiment: 'housing', commandLine: 'mlctl train housing', task: 'housing' });
    await run.logMetrics({ r2: 0.66 }, 0);
    await run.end('FINISHED');
    // Build the local index first: it must stay local and not hide pulled runs elsewhere.
    expect((await mlctl(['runs', 'list', '--json'], f.env)).code).toBe(0);
    const remote = `s3://${BUCKET}/runs-list`;
    expect((await mlctl(['sync', 'push', 'runs', '--remote', remote], f.env)).code).toBe(0);

    const g = await workspace('g');
    const pull = await mlctl(['sync', 'pull', 'runs', '--remote', remote, '--json'], g.env);
    expect(pull.code, pull.stderr).toBe(0);
    expect(await listTree(join(g.dir, 'runs', '.index'))).toEqual([]);
    const list = await mlctl(['runs', 'list', '--json'], g.env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(run.id);
  });

  it('push --delete from a fresh clone deletes none of the teammates’ objects; --dry-run says what would go', async () => {
    const remote = `s3://${BUCKET}/team`;
    const ana = await workspace('ana');
    await writeTree(ana.dir, Object.fromEntries(Array.from({ length: 22 }, (_, i) => [`runs/income/r${String(i).padStart(2, '0')}/run.json`, `{"i":${i}}`])));
    expect((await mlctl(['sync', 'push', 'runs', '--remote', remote], ana.env)).code).toBe(0);

    const fresh = await workspace('fresh');
    await writeTree(fresh.dir, { 'runs/income/mine/run.json': '{"mine":true}' });
    const dry = await mlctl(['sync', 'push', 'runs', '--remote', remote, '--delete', '--dry-run'], fresh.env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('would upload runs/income/mine/run.json');
    expect(dry.stdout).not.toContain('would delete');
    expect(dry.stdout).toContain('would keep runs/income/r00/run.json: not pushed from this workspace');
    expect(dry.stdout).toMatch(/dry run: 1 to upload, 0 skipped, 0 to delete/);
    const push = await mlctl(['sync', 'push', 'runs', '--remote', remote, '--delete', '--json'], fresh.env);
    expect(push.code, push.stderr).toBe(0);
    expect(JSON.parse(push.stdout)).toMatchObject({ uploaded: 1, deleted: 0 });
    expect(push.stderr).toMatch(/warning: 22 remote objects not deleted \(not pushed from this workspace\): runs\/income\/r00\/run\.json, .*--force deletes them too/);

    // ana's own deletions do go, and only hers.
    await rm(join(ana.dir, 'runs/income/r00'), { recursive: true });
    const hers = await mlctl(['sync', 'push', 'runs', '--remote', remote, '--delete', '--json'], ana.env);
    expect(JSON.parse(hers.stdout).scopes[0].changes).toEqual([{ action: 'delete', key: 'income/r00/run.json', bytes: 7 }]);
  });

  it('refuses (exit 4) a push that would overwrite another machine’s housing version 1', async () => {
    const remote = `s3://${BUCKET}/registry-e2e`;
    const model = (runId: string) => JSON.stringify({ name: 'housing', description: null, createdTime: '2026-01-01T00:00:00Z', updatedTime: '2026-01-01T00:00:00Z', versions: [{ version: 1, runId, experiment: 'housing', source: `runs:/${runId}`, manifestSha256: 'x', description: null, createdTime: '2026-01-01T00:00:00Z', user: 'u' }], aliases: {}, nextVersion: 2 });
    const one = await workspace('machine-one');
    const two = await workspace('machine-two');
    await writeTree(one.dir, { 'runs/models/housing/model.json': model('01aaaaaaaaaaaaaaaaaa') });
    await writeTree(two.dir, { 'runs/models/housing/model.json': model('01bbbbbbbbbbbbbbbbbb') });
    expect((await mlctl(['sync', 'push', 'models', '--remote', remote], one.env)).code).toBe(0);
    const refused = await mlctl(['sync', 'push', 'models', '--remote', remote], two.env);
    expectCleanFailure(refused, 4, /refusing to overwrite the registry of model "housing" on s3:\/\/mlctl-e2e\/registry-e2e\/models\/: it changed there since this workspace last pulled it/);
    expect(refused.stderr).toContain('  - housing version 1 is run 01bbbbbbbbbbbbbbbbbb here but run 01aaaaaaaaaaaaaaaaaa on');
    expect(refused.stderr).toMatch(/hint: both sides changed it: `mlctl sync pull models --force` takes the remote's registry \(then register yours again: mlctl models register 01bbbbbbbbbbbbbbbbbb --name housing\)/);
    const json = await mlctl(['sync', 'push', 'models', '--remote', remote, '--json'], two.env);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'SYNC_REGISTRY_CONFLICT', details: { models: ['housing'] } });
  });

  it('refuses a tampered object on pull with exit 4, leaving no file', async () => {
    // An object whose bytes no longer match the SHA-256 recorded when it was pushed.
    const client = createS3Client(server.aws);
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'tamper/data/housing/housing.csv',
          Body: 'price,area\n9,9\n',
          Metadata: { sha256: createHash('sha256').update('price,area\n1,2\n').digest('hex') },
        }),
      );
    } finally {
      client.destroy();
    }
    const remote = `s3://${BUCKET}/tamper`;
    const d = await workspace('d');
    const pull = await mlctl(['sync', 'pull', 'data', '--remote', remote], d.env);
    expectCleanFailure(pull, 4, /housing\/housing\.csv.*SHA-256/);
    expect(await listTree(join(d.dir, 'data/raw'))).toEqual([]);
  });

  it('fails with exit 5, one line and no stack on a missing bucket, refused credentials, a dead endpoint', async () => {
    const e = await workspace('e');
    await writeTree(e.dir, { 'runs/x/0123abcd/run.json': '{}' });

    const missing = await mlctl(['sync', 'push', '--remote', 's3://no-such-bucket/mlctl'], e.env);
    expectCleanFailure(missing, 5, /bucket "no-such-bucket" does not exist/);
    expect(missing.stderr).toContain('hint: create it with: mlctl storage mb no-such-bucket');

    const refused = await mlctl(['sync', 'pull', 'runs'], { ...e.env, AWS_ACCESS_KEY_ID: 'WRONG' });
    expectCleanFailure(refused, 5, /refused the credentials \((SignatureDoesNotMatch|InvalidAccessKeyId)\)/);

    const down = await mlctl(['sync', 'pull', 'runs', '--json'], { ...e.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:1' });
    expect(down.code, down.stderr).toBe(5);
    expect(JSON.parse(down.stdout).error.code).toBe('S3_ENDPOINT_UNREACHABLE');
    expect(down.stderr).toMatch(/cannot reach S3 at http:\/\/127\.0\.0\.1:1/);
    expect(await listTree(join(e.dir, 'runs'))).toEqual(['x/0123abcd/run.json']);

    const noRemote = await mlctl(['sync', 'push'], { ...e.env, MLCTL_S3_BUCKET: '' });
    expectCleanFailure(noRemote, 2, /no remote to sync with/);
  });
});

describe('S3 commands against an endpoint that accepts connections and never answers', () => {
  let hanging: Server;
  let hangingEndpoint: string;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    hanging = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    hangingEndpoint = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hanging?.close(resolve));
  });

  it('fail with exit 5 naming the endpoint once MLCTL_S3_TIMEOUT has passed on each attempt', async () => {
    const h = await workspace('hanging');
    await writeTree(h.dir, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`runs/x/0123abcd/f${i}.json`, `{"i":${i}}`])));
    const env = { ...h.env, AWS_ENDPOINT_URL: hangingEndpoint, MLCTL_S3_TIMEOUT: '0.3' };
    for (const args of [['storage', 'ls', `s3://${BUCKET}/`], ['sync', 'push', '--concurrency', '16']]) {
      const r = await mlctl(args, env);
      expectCleanFailure(r, 5, new RegExp(`S3 at ${hangingEndpoint.replace(/\./g, '\\.')} did not answer within 0\\.3 s while trying to list`));
      expect(r.stderr).toContain('hint: check that AWS_ENDPOINT_URL is an S3 server that is up and answering; on a slow link, raise MLCTL_S3_TIMEOUT (now 0.3 s)');
      expect(r.stderr).not.toContain('MaxListenersExceededWarning');
      expect(r.stderr.trim().split('\n')).toHaveLength(2);
    }
  });

  it('print no MaxListenersExceededWarning when many requests share one signal (s3rver)', async () => {
    const m = await workspace('many');
    await writeTree(m.dir, Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`runs/x/0123abcd/f${i}.json`, `{"i":${i}}`])));
    const remote = `s3://${BUCKET}/many`;
    const push = await mlctl(['sync', 'push', 'runs', '--remote', remote, '--concurrency', '32'], m.env);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stderr).toBe('');
    const ls = await mlctl(['storage', 'ls', `${remote}/`, '--recursive', '--json']);
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout).objects).toHaveLength(40);
    expect(ls.stderr).toBe('');
  });
});

describe('the AWS SDK Node-version warning', () => {
  function nodeScript(script: string): Promise<CliResult> {
    return new Promise((done) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT }, (error, stdout, stderr) =>
        done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr }),
      );
    });
  }
  const nodeMajor = Number(process.versions.node.split('.')[0]);

  it('is dropped by createS3Client, and only that warning', async () => {
    const ours = await nodeScript(`
      const { createS3Client } = await import('./dist/core/storage/s3-client.js');
      createS3Client({ endpointUrl: undefined, region: undefined, accessKeyId: undefined, secretAccessKey: undefined });
      process.emitWarning('another warning');`);
    expect(ours.code, ours.stderr).toBe(0);
    expect(ours.stderr).not.toContain('NodeVersionSupportWarning');
    expect(ours.stderr).toContain('another warning');
    if (nodeMajor < 22) {
      // Control: the SDK on its own does print it here, so the check above can fail.
      const raw = await nodeScript(`const { S3Client } = await import('@aws-sdk/client-s3'); new S3Client({ region: 'us-east-1' });`);
      expect(raw.stderr).toContain('NodeVersionSupportWarning');
    }
  });
});
