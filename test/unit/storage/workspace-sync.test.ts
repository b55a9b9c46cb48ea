import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../../src/core/storage/artifact-store.js';
import { openArtifactStore } from '../../../src/core/storage/open-artifact-store.js';
import { loadBundle, writeBundle, type BundleContents } from '../../../src/core/bundle/model-bundle.js';
import { MlctlError } from '../../../src/core/errors.js';
import { createFileModelRegistry } from '../../../src/core/registry/file-model-registry.js';
import { SyncState } from '../../../src/core/storage/sync-state.js';
import { defineSyncScopes, syncWorkspace, type WorkspaceSyncOptions } from '../../../src/core/storage/workspace-sync.js';
import { createFileRunStore } from '../../../src/core/tracking/file-run-store.js';
import { createFakeRun } from '../../helpers/run-fixtures.js';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.js';

const BUCKET = 'workspace-tests';
let server: TestS3Server;
let openRemote: (uri: string) => Promise<ArtifactStore>;
let work: string;

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  work = await mkdtemp(join(tmpdir(), 'mlctl-workspace-'));
  // As the CLI opens remotes: through the artifact-store seam.
  openRemote = (uri) => openArtifactStore(uri, { cwd: work, aws: server.aws });
});
afterAll(async () => {
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
    const result = await syncWorkspace({ openRemote, direction: 'push', remote: `s3://${BUCKET}/ws`, scopes: defineSyncScopes('all', dirs) });
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
      openRemote,
      direction: 'pull',
      remote: `s3://${BUCKET}/ws`,
      scopes: defineSyncScopes('all', dirs),
      deleteExtraneous: true,
    });
    expect(result.scopes.map((s) => [s.scope, s.transferred, s.deleted])).toEqual([['runs', 1, 1], ['models', 1, 0], ['data', 0, 0]]);
    expect(result.scopes[2]?.note).toBe(`nothing under s3://${BUCKET}/ws/data/; local files kept`);
    expect((await listTree(join(work, 'b'))).filter((path) => !path.includes('/.sync/'))).toEqual(['data/raw/housing/housing.csv', 'runs/income/abc/run.json', 'runs/models/income/model.json']);
  });
});

/** A workspace under `work`: its folders, and sync options with its own state (as the CLI passes them). */
function workspaceAt(name: string) {
  const dirs = { runsDir: join(work, name, 'runs'), dataDir: join(work, name, 'data') };
  const sync = (direction: 'push' | 'pull', remote: string, scope: 'runs' | 'models' | 'all', extra: Partial<WorkspaceSyncOptions> = {}) =>
    syncWorkspace({ openRemote, direction, remote, scopes: defineSyncScopes(scope, dirs), stateDir: join(dirs.runsDir, '.sync', 'remotes'), ...extra });
  return { dirs, sync };
}

async function caught(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MlctlError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

/** A small bundle that loadBundle accepts. */
const BUNDLE: BundleContents = {
  manifest: { task: { name: 't' }, problemType: 'regression', modelFamily: 'linear' } as unknown as BundleContents['manifest'],
  pipeline: { kind: 'mlctl.pipeline' } as unknown as BundleContents['pipeline'],
  modelFiles: new Map([['linear.json', new TextEncoder().encode('{"coefficients":[1,2]}')]]),
};

describe('sync pull moves bundles in whole', () => {
  it('repairs a bundle a killed pull left half-written, dropping its leftovers, and clears stale staging', async () => {
    const a = workspaceAt('bundle-a');
    const remote = `s3://${BUCKET}/bundles`;
    await writeBundle(join(a.dirs.runsDir, 'housing', 'r1', 'artifacts', 'model'), BUNDLE);
    await writeTree(a.dirs.runsDir, { 'housing/r1/run.json': '{}' });
    await a.sync('push', remote, 'runs');

    const b = workspaceAt('bundle-b');
    await b.sync('pull', remote, 'runs');
    const bundle = join(b.dirs.runsDir, 'housing', 'r1', 'artifacts', 'model');
    expect((await loadBundle(bundle)).manifest.modelFamily).toBe('linear');
    // What an older mlctl's pull, killed mid-file, left: a temporary file in the bundle and
    // a missing file; and a staging entry of a pull killed with this version.
    const dead = deadPid();
    await writeFile(join(bundle, 'model', `.linear.json.${dead}.7ae2988c.tmp`), '{"coeff');
    await rm(join(bundle, 'preprocessing.json'));
    const staging = join(b.dirs.runsDir, '.sync', 'tmp', `${dead}-0a1b2c3d.dir`);
    await writeTree(staging, { 'manifest.json': '{}' });
    await expect(loadBundle(bundle)).rejects.toThrow(/does not match its manifest/);

    const dry = await b.sync('pull', remote, 'runs', { dryRun: true });
    expect(dry.scopes[0]?.changes).toEqual([
      { action: 'transfer', key: 'housing/r1/artifacts/model/preprocessing.json', bytes: expect.any(Number) },
      { action: 'delete', key: `housing/r1/artifacts/model/model/.linear.json.${dead}.7ae2988c.tmp`, bytes: 0 },
    ]);
    const result = await b.sync('pull', remote, 'runs');
    expect([result.totals.transferred, result.totals.deleted]).toEqual([1, 1]);
    expect((await loadBundle(bundle)).files.size).toBe(2);
    expect(existsSync(staging)).toBe(false);
    // Nothing of the pull's own is left behind.
    expect(await readdir(join(b.dirs.runsDir, '.sync', 'tmp'))).toEqual(['.gitignore']);
    expect(await listTree(join(b.dirs.runsDir, 'housing'))).toEqual([
      'r1/artifacts/model/manifest.json',
      'r1/artifacts/model/model/linear.json',
      'r1/artifacts/model/preprocessing.json',
      'r1/run.json',
    ]);
  });
});

describe('sync push --delete deletes only what this workspace pushed', () => {
  it('keeps teammates’ objects (and objects changed since), deletes its own, and --force deletes all', async () => {
    const remote = `s3://${BUCKET}/owned`;
    const a = workspaceAt('own-a');
    await writeTree(a.dirs.runsDir, { 'income/r1/run.json': '{"a":1}', 'income/r2/run.json': '{"a":2}', 'income/r3/run.json': '{"a":3}' });
    await a.sync('push', remote, 'runs');

    // A fresh clone with one run of its own: --delete would have planned to delete all of a's.
    const b = workspaceAt('own-b');
    await writeTree(b.dirs.runsDir, { 'income/r9/run.json': '{"b":9}' });
    const dry = await b.sync('push', remote, 'runs', { deleteExtraneous: true, dryRun: true });
    expect(dry.scopes[0]?.changes.filter((c) => c.action === 'delete')).toEqual([]);
    expect(dry.scopes[0]?.kept.map((k) => [k.key, k.reason])).toEqual([
      ['income/r1/run.json', 'not pushed from this workspace'],
      ['income/r2/run.json', 'not pushed from this workspace'],
      ['income/r3/run.json', 'not pushed from this workspace'],
    ]);
    expect((await b.sync('push', remote, 'runs', { deleteExtraneous: true })).totals).toMatchObject({ transferred: 1, deleted: 0 });

    // a deletes two runs; one of them was rewritten remotely by someone else meanwhile.
    await rm(join(a.dirs.runsDir, 'income', 'r1'), { recursive: true });
    await rm(join(a.dirs.runsDir, 'income', 'r2'), { recursive: true });
    const c = workspaceAt('own-c');
    await writeTree(c.dirs.runsDir, { 'income/r2/run.json': '{"c":2}' });
    await c.sync('push', remote, 'runs');
    const pushed = await a.sync('push', remote, 'runs', { deleteExtraneous: true });
    expect(pushed.scopes[0]?.changes.filter((c) => c.action === 'delete').map((c) => c.key)).toEqual(['income/r1/run.json']);
    expect(pushed.scopes[0]?.kept.map((k) => [k.key, k.reason])).toEqual([
      ['income/r2/run.json', 'changed on the remote since this workspace pushed it'],
      ['income/r9/run.json', 'not pushed from this workspace'],
    ]);
    const forced = await b.sync('push', remote, 'runs', { deleteExtraneous: true, force: true });
    expect(forced.scopes[0]?.changes.filter((c) => c.action === 'delete').map((c) => c.key)).toEqual(['income/r2/run.json', 'income/r3/run.json']);
  });

  it('records each upload before it starts, so a push killed midway still owns what it sent', async () => {
    const dir = join(work, 'state');
    const first = await SyncState.open(dir, 's3://b/p/runs/', 'http://x');
    await first.recordPush('income/r1/run.json', 'a'.repeat(64));
    // No save(): the process died here.
    const next = await SyncState.open(dir, 's3://b/p/runs/', 'http://x');
    expect([...next.pushed]).toEqual([['income/r1/run.json', 'a'.repeat(64)]]);
    next.agreed('income/r1/run.json', 'a'.repeat(64));
    await next.save();
    const saved = await SyncState.open(dir, 's3://b/p/runs/', 'http://x');
    expect(saved.pushed.get('income/r1/run.json')).toBe('a'.repeat(64));
    expect((await readdir(dir)).filter((name) => name.endsWith('.journal'))).toEqual([]);
    // Another remote (or endpoint) has a state of its own.
    expect((await SyncState.open(dir, 's3://b/p/runs/', 'http://y')).pushed.size).toBe(0);
  });
});

describe('the registry is never overwritten silently', () => {
  async function register(runsDir: string, name: string): Promise<string> {
    const store = createFileRunStore({ root: runsDir });
    const run = await createFakeRun(store, { experiment: name, bundle: true });
    await createFileModelRegistry({ store }).register({ runId: run.id, name });
    return run.id;
  }

  it('refuses a second housing version 1 from another machine, on push and on pull, naming both runs', async () => {
    const remote = `s3://${BUCKET}/registry`;
    const a = workspaceAt('reg-a');
    const b = workspaceAt('reg-b');
    const runA = await register(a.dirs.runsDir, 'housing');
    await a.sync('push', remote, 'all');
    const runB = await register(b.dirs.runsDir, 'housing');

    const push = await caught(b.sync('push', remote, 'models'));
    expect(push.code).toBe('SYNC_REGISTRY_CONFLICT');
    expect(push.category).toBe('gate');
    expect(push.message).toBe(`refusing to overwrite the registry of model "housing" on ${remote}/models/: it changed there since this workspace last pulled it`);
    expect(push.problems).toEqual([`housing version 1 is run ${runB} here but run ${runA} on ${remote}/models/`]);
    expect(push.hint).toContain(`mlctl models register ${runB} --name housing`);
    // Nothing was overwritten: a pull elsewhere still gets a's version 1.
    const c = workspaceAt('reg-c');
    await c.sync('pull', remote, 'models');
    const model = JSON.parse(await readFile(join(c.dirs.runsDir, 'models', 'housing', 'model.json'), 'utf8')) as { versions: { runId: string }[] };
    expect(model.versions.map((v) => v.runId)).toEqual([runA]);

    // Pulling into b would lose b's version 1 just the same.
    const pull = await caught(b.sync('pull', remote, 'models'));
    expect(pull.code).toBe('SYNC_REGISTRY_CONFLICT');
    expect(pull.problems).toEqual([`housing version 1 is run ${runB} here but run ${runA} on ${remote}/models/`]);
    // --force takes the remote's; b registers its run again, as version 2, and pushes.
    await b.sync('pull', remote, 'all', { force: true });
    const store = createFileRunStore({ root: b.dirs.runsDir });
    expect((await createFileModelRegistry({ store }).register({ runId: runB, name: 'housing' })).version).toBe(2);
    await b.sync('push', remote, 'models');
    await c.sync('pull', remote, 'models');
    const merged = JSON.parse(await readFile(join(c.dirs.runsDir, 'models', 'housing', 'model.json'), 'utf8')) as { versions: { runId: string }[] };
    expect(merged.versions.map((v) => v.runId)).toEqual([runA, runB]);
  });

  it('refuses a stale push that would undo an alias moved remotely, until pulled', async () => {
    const remote = `s3://${BUCKET}/aliases`;
    const a = workspaceAt('alias-a');
    const b = workspaceAt('alias-b');
    const runA = await register(a.dirs.runsDir, 'income');
    await a.sync('push', remote, 'all');
    await b.sync('pull', remote, 'all');
    // b moves the alias and pushes; a, which did not pull, pushes its older copy back.
    await createFileModelRegistry({ store: createFileRunStore({ root: b.dirs.runsDir }) }).setAlias('income', 'production', 1);
    await b.sync('push', remote, 'models');
    const stale = await caught(a.sync('push', remote, 'models'));
    expect(stale.problems).toEqual([`income@production is unset here but version 1 on ${remote}/models/`]);
    expect(stale.hint).toBe("run `mlctl sync pull models` first to take the remote's changes, then push again");
    // A dry run says the same.
    expect((await caught(a.sync('push', remote, 'models', { dryRun: true }))).code).toBe('SYNC_REGISTRY_CONFLICT');
    await a.sync('pull', remote, 'models');
    expect((await a.sync('push', remote, 'models')).totals.transferred).toBe(0);
    const aliases = JSON.parse(await readFile(join(a.dirs.runsDir, 'models', 'income', 'model.json'), 'utf8')) as { aliases: Record<string, number> };
    expect(aliases.aliases).toEqual({ production: 1 });
    expect(JSON.parse(await readFile(join(a.dirs.runsDir, 'models', 'income', 'model.json'), 'utf8')).versions[0].runId).toBe(runA);
  });

  it('lets a fast-forward through without any record of the remote (a workspace synced by an older mlctl)', async () => {
    const remote = `s3://${BUCKET}/fast-forward`;
    const a = workspaceAt('ff-a');
    const b = workspaceAt('ff-b');
    await register(a.dirs.runsDir, 'income');
    await a.sync('push', remote, 'all');
    await b.sync('pull', remote, 'all');
    // Both forget what they knew of the remote.
    await rm(join(a.dirs.runsDir, '.sync'), { recursive: true });
    await rm(join(b.dirs.runsDir, '.sync'), { recursive: true });
    // a registers version 2: the remote's audit log is where a's begins, so nothing is lost.
    await register(a.dirs.runsDir, 'income');
    expect((await a.sync('push', remote, 'models')).totals.transferred).toBe(2);
    // b changed nothing: taking the remote's registry is a fast-forward too.
    expect((await b.sync('pull', remote, 'models')).totals.transferred).toBe(2);
    const model = JSON.parse(await readFile(join(b.dirs.runsDir, 'models', 'income', 'model.json'), 'utf8')) as { versions: unknown[] };
    expect(model.versions).toHaveLength(2);
  });

  it('keeps a model registered here and never pushed when pulling with --delete', async () => {
    const remote = `s3://${BUCKET}/keep-local`;
    const a = workspaceAt('keep-a');
    await register(a.dirs.runsDir, 'income');
    await a.sync('push', remote, 'all');
    const b = workspaceAt('keep-b');
    await b.sync('pull', remote, 'all');
    await register(b.dirs.runsDir, 'churn');
    const pulled = await b.sync('pull', remote, 'models', { deleteExtraneous: true });
    expect(pulled.scopes[0]?.kept.map((k) => [k.key, k.reason])).toEqual([
      ['churn/audit.jsonl', 'made here and never pushed'],
      ['churn/model.json', 'made here and never pushed'],
    ]);
    expect(existsSync(join(b.dirs.runsDir, 'models', 'churn', 'model.json'))).toBe(true);
  });
});
