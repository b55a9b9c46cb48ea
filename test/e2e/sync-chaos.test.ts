import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBundle } from '../../src/core/bundle/model-bundle.js';
import { sha256File } from '../../src/core/fs/hash.js';
import { createRng } from '../../src/core/random.js';
import { S3ArtifactStore } from '../../src/core/storage/s3-artifact-store.js';
import { createS3Client } from '../../src/core/storage/s3-client.js';
import { createWorkspace, MLCTL_BIN, runCli } from '../helpers/cli.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';

// Chaos against a real S3 server: each round kills `sync push` or `sync pull` (a real child
// process, SIGKILL) at a random moment once it has started moving bytes, runs it again to
// completion, and checks that both sides hold the same files and that every model predicts.
// MLCTL_CHAOS_SEED replays a run; the seed is printed.
const SEED = Number(process.env.MLCTL_CHAOS_SEED ?? Math.floor(Math.random() * 1e9));
const rng = createRng(SEED);
const BUCKET = 'chaos';
const REMOTE = `s3://${BUCKET}/team`;
const ROUNDS = 3;
const HOUSE = JSON.stringify({
  area: 7420, bedrooms: 4, bathrooms: 2, stories: 3, mainroad: 'yes', guestroom: 'no', basement: 'no',
  hotwaterheating: 'no', airconditioning: 'yes', parking: 2, prefarea: 'yes', furnishingstatus: 'furnished',
});

let server: TestS3Server;
let client: S3Client;
const trainer = createWorkspace('mlctl-chaos-a-');
const puller = createWorkspace('mlctl-chaos-b-');
const env = (ws: { env: Record<string, string> }) => ({ ...ws.env, ...server.env });
const cli = (ws: typeof trainer, args: string[], input?: string) =>
  runCli(args, { cwd: ws.dir, env: env(ws), ...(input === undefined ? {} : { input }) });

beforeAll(async () => {
  server = await startS3Server({ buckets: [BUCKET] });
  client = createS3Client(server.aws);
  const trained = await cli(trainer, ['train', 'housing', '--json']);
  expect(trained.code, trained.stderr).toBe(0);
  const id = (JSON.parse(trained.stdout) as { run: { id: string } }).run.id;
  expect((await cli(trainer, ['models', 'register', id, '--name', 'housing'])).code).toBe(0);
  expect((await cli(trainer, ['models', 'alias', 'set', 'housing', 'production', '1'])).code).toBe(0);
}, 120_000);
afterAll(async () => {
  client?.destroy();
  await server?.stop();
  trainer.cleanup();
  puller.cleanup();
});

/** Files under `dir` with their SHA-256, keyed as sync keys them: hidden parts and `skip` left out. */
async function localFiles(dir: string, skip: (key: string) => boolean = () => false): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const key = join(entry.parentPath, entry.name).slice(dir.length + 1).split(sep).join('/');
    if (key.split('/').some((part) => part.startsWith('.')) || skip(key)) continue;
    out[key] = await sha256File(join(entry.parentPath, entry.name));
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Objects under `<remote>/<scope>/` with the SHA-256 their metadata records. */
async function remoteFiles(scope: string): Promise<Record<string, string>> {
  const store = new S3ArtifactStore({ client, bucket: BUCKET, prefix: `team/${scope}` });
  const out: Record<string, string> = {};
  for (const entry of await store.list()) out[entry.key] = (await store.head(entry.key))?.sha256 ?? 'no sha256';
  return out;
}

/** Each side, scope by scope, as sync sees it. */
async function sides(ws: typeof trainer): Promise<{ local: unknown; remote: unknown }> {
  const runsDir = ws.env.MLCTL_RUNS_DIR!;
  return {
    local: {
      runs: await localFiles(runsDir, (key) => key.startsWith('models/')),
      models: await localFiles(join(runsDir, 'models')),
      data: await localFiles(join(ws.env.MLCTL_DATA_DIR!, 'raw')),
    },
    remote: { runs: await remoteFiles('runs'), models: await remoteFiles('models'), data: await remoteFiles('data') },
  };
}

function fileCount(dir: string): number {
  try {
    return readdirSync(dir, { recursive: true }).length;
  } catch {
    return 0;
  }
}

/**
 * Starts `mlctl sync <direction> all`, waits until what it writes to (the s3rver folder, or
 * the local runs folder) starts to change, then a random 0-150 ms more, and kills it with
 * SIGKILL. Returns whether the kill landed before the sync finished on its own.
 */
async function killMidway(ws: typeof trainer, direction: 'push' | 'pull', round: number): Promise<boolean> {
  const watched = direction === 'push' ? server.directory : ws.env.MLCTL_RUNS_DIR!;
  const before = fileCount(watched);
  const child = spawn(process.execPath, [MLCTL_BIN, 'sync', direction, 'all', '--remote', REMOTE, '--concurrency', '2'], {
    cwd: ws.dir,
    env: { ...process.env, ...env(ws), CI: 'true' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done && fileCount(watched) === before) await new Promise((resolve) => setTimeout(resolve, 5));
  const extra = Math.floor(rng() * 150);
  await new Promise((resolve) => setTimeout(resolve, extra));
  const landed = !done;
  child.kill('SIGKILL');
  await exited;
  console.info(`chaos seed ${SEED}, round ${round}: killed sync ${direction} ${extra} ms after it began writing${landed ? '' : ' (it had already finished)'}`);
  return landed;
}

/** Right after a kill: no temporary file among the runs, and every bundle there is whole. */
async function expectNothingHalfWritten(ws: typeof trainer): Promise<void> {
  const runsDir = ws.env.MLCTL_RUNS_DIR!;
  for (const entry of readdirSync(runsDir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (path.slice(runsDir.length).split(sep).some((part) => part === '.sync' || part === '.index')) continue;
    expect(entry.name, `seed ${SEED}: ${path}`).not.toMatch(/\.tmp$/);
    if (entry.isFile() && entry.name === 'manifest.json' && statSync(path).size > 0) await loadBundle(entry.parentPath);
  }
}

describe('sync under SIGKILL', () => {
  it(`keeps both sides identical and every model usable over ${ROUNDS} rounds (seed printed)`, async () => {
    let landed = 0;
    for (let round = 1; round <= ROUNDS; round += 1) {
      // New work each round, so that there is something to push and to pull.
      const trained = await cli(trainer, ['train', 'housing', '--json']);
      expect(trained.code, trained.stderr).toBe(0);
      const victim = rng() < 0.5 ? 'push' : 'pull';

      if (victim === 'push' && (await killMidway(trainer, 'push', round))) landed += 1;
      const push = await cli(trainer, ['sync', 'push', 'all', '--remote', REMOTE]);
      expect(push.code, `seed ${SEED}: ${push.stderr}`).toBe(0);
      const a = await sides(trainer);
      expect(a.remote, `seed ${SEED}, round ${round}: remote after push`).toEqual(a.local);

      if (victim === 'pull') {
        if (await killMidway(puller, 'pull', round)) landed += 1;
        await expectNothingHalfWritten(puller);
      }
      const pull = await cli(puller, ['sync', 'pull', 'all', '--remote', REMOTE]);
      expect(pull.code, `seed ${SEED}: ${pull.stderr}`).toBe(0);
      const b = await sides(puller);
      expect(b.local, `seed ${SEED}, round ${round}: puller after pull`).toEqual(b.remote);

      const runs = readdirSync(join(puller.env.MLCTL_RUNS_DIR!, 'housing')).filter((name) => /^[0-9a-f]{20}$/.test(name));
      expect(runs).toHaveLength(round + 1);
      // The last round also asks through the registry, and checks the whole store.
      const models = round === ROUNDS ? [...runs, 'housing@production'] : runs;
      const predictions = await Promise.all(models.map((model) => cli(puller, ['predict', '--model', model, '--json'], HOUSE)));
      for (const [i, predicted] of predictions.entries()) {
        expect(predicted.code, `seed ${SEED}: predict --model ${models[i]}: ${predicted.stderr}`).toBe(0);
        expect(JSON.parse(predicted.stdout).prediction).toBeGreaterThan(0);
      }
    }
    const verify = await cli(puller, ['runs', 'verify']);
    expect(verify.code, `seed ${SEED}: ${verify.stdout}${verify.stderr}`).toBe(0);
    console.info(`chaos seed ${SEED}: ${landed} of ${ROUNDS} kills landed mid-sync`);
  }, 120_000);
});
