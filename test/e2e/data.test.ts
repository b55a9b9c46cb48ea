import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/core/storage/s3-client.js';
import { startS3Server } from '../helpers/s3-server.js';

// Spawns the built CLI (`npm test` builds dist/ first).
const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'mlctl');
const MIRROR = process.env.MLCTL_DATA_MIRROR as string;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function mlctl(args: string[], env: Record<string, string | undefined>, cwd: string): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, CI: '1', ...env }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
  });
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mlctl-e2e-data-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('mlctl data', () => {
  it('pulls income from the mirror, lists it verified and describes it', async () => {
    const dataDir = join(work, 'ok-data');
    const env = { MLCTL_DATA_DIR: dataDir, MLCTL_DATA_MIRROR: MIRROR };

    const pull = await mlctl(['data', 'pull', 'income', '--json'], env, work);
    expect(pull.code, pull.stderr).toBe(0);
    const pulled = JSON.parse(pull.stdout) as { dataset: string; files: { name: string; action: string; sha256: string }[] };
    expect(pulled.dataset).toBe('income');
    expect(pulled.files.map((f) => [f.name, f.action])).toEqual([
      ['adult.data', 'copied'],
      ['adult.test', 'copied'],
      ['adult.names', 'copied'],
    ]);
    expect(pulled.files[0]?.sha256).toBe('5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d');
    expect((await readdir(join(dataDir, 'raw', 'income'))).sort()).toEqual(['adult.data', 'adult.names', 'adult.test']);

    const again = await mlctl(['data', 'pull', 'income'], env, work);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already-present');

    const list = await mlctl(['data', 'list', '--json'], { MLCTL_DATA_DIR: dataDir }, work);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { datasets: { dataset: string; ready: boolean; rows: number | null; files: { name: string; present: boolean; verified: boolean; rows: number | null }[] }[] };
    const income = listed.datasets.find((d) => d.dataset === 'income');
    expect(income?.ready).toBe(true);
    expect(income?.files.map((f) => [f.name, f.verified, f.rows])).toEqual([
      ['adult.data', true, 32_561],
      ['adult.test', true, 16_281],
      ['adult.names', true, null],
    ]);
    expect(listed.datasets.find((d) => d.dataset === 'housing')).toMatchObject({ ready: false, rows: null });

    const described = await mlctl(['data', 'describe', 'income', '--json'], { MLCTL_DATA_DIR: dataDir }, work);
    expect(described.code, described.stderr).toBe(0);
    const description = JSON.parse(described.stdout) as { file: string; rows: number; columns: { name: string; type: string; missing: number; min?: number; max?: number; top?: { value: string; count: number }[] }[] };
    expect(description.file).toBe('adult.data');
    expect(description.rows).toBe(32_561);
    const column = (name: string) => description.columns.find((c) => c.name === name);
    expect(column('age')).toMatchObject({ type: 'number', missing: 0, min: 17, max: 90 });
    expect(column('workclass')).toMatchObject({ type: 'string', missing: 1_836 });
    expect(column('income')?.top).toEqual([
      { value: '<=50K', count: 24_720 },
      { value: '>50K', count: 7_841 },
    ]);
  });

  it('pulls a missing dataset when a command needs it, and reads the test file without its label dots', async () => {
    const dataDir = join(work, 'auto-data');
    const result = await mlctl(['data', 'describe', 'income', '--file', 'test', '--json'], { MLCTL_DATA_DIR: dataDir, MLCTL_DATA_MIRROR: MIRROR }, work);
    expect(result.code, result.stderr).toBe(0);
    const description = JSON.parse(result.stdout) as { rows: number; columns: { name: string; top?: { value: string }[] }[] };
    expect(description.rows).toBe(16_281);
    expect(description.columns.at(-1)?.top?.map((t) => t.value).sort()).toEqual(['<=50K', '>50K']);
  });

  it('refuses a corrupted mirror file with exit 4, naming it, and leaves nothing in data/raw', async () => {
    const mirror = join(work, 'bad-mirror');
    await mkdir(join(mirror, 'income'), { recursive: true });
    const original = await readFile(join(MIRROR, 'income', 'adult.data'));
    await writeFile(join(mirror, 'income', 'adult.data'), Buffer.concat([original.subarray(0, 1000), Buffer.from('X'), original.subarray(1001)]));
    await copyFile(join(MIRROR, 'income', 'adult.test'), join(mirror, 'income', 'adult.test'));
    await copyFile(join(MIRROR, 'income', 'adult.names'), join(mirror, 'income', 'adult.names'));
    const dataDir = join(work, 'bad-data');

    const result = await mlctl(['data', 'pull', 'income', '--from', mirror], { MLCTL_DATA_DIR: dataDir }, work);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(join(mirror, 'income', 'adult.data'));
    expect(result.stderr).toContain('5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d');
    expect(result.stdout).toBe('');
    expect(await readdir(join(dataDir, 'raw', 'income')).catch(() => [])).toEqual([]);
  });

  it('refuses a local file changed after the pull, with exit 4 and a JSON error', async () => {
    const dataDir = join(work, 'edited-data');
    const env = { MLCTL_DATA_DIR: dataDir, MLCTL_DATA_MIRROR: MIRROR };
    expect((await mlctl(['data', 'pull', 'housing'], env, work)).code).toBe(0);
    const path = join(dataDir, 'raw', 'housing', 'housing.csv');
    await writeFile(path, `${await readFile(path, 'utf8')}1,2,3,4,5,yes,no,no,no,no,0,no,furnished\n`);

    const result = await mlctl(['data', 'describe', 'housing', '--json'], env, work);
    expect(result.code).toBe(4);
    const error = (JSON.parse(result.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('DATASET_CHECKSUM_MISMATCH');
    expect(error.message).toContain(path);

    const list = await mlctl(['data', 'list'], { MLCTL_DATA_DIR: dataDir }, work);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('housing.csv changed');
  });

  it('exits 3 for an unknown dataset and names the known ones', async () => {
    const result = await mlctl(['data', 'pull', 'incom'], { MLCTL_DATA_DIR: join(work, 'none') }, work);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('known datasets: income, housing');
  });

  it('describes a user CSV by path with inferred types, NA markers counted as missing, and the kind a task would infer', async () => {
    await writeFile(join(work, 'mine.csv'), 'size,kind\n1.5,a\nNA,b\n3,a\n');
    const result = await mlctl(['data', 'describe', 'mine.csv', '--json'], { MLCTL_DATA_DIR: join(work, 'none') }, work);
    expect(result.code, result.stderr).toBe(0);
    const description = JSON.parse(result.stdout) as { rows: number; columns: unknown[] };
    expect(description.rows).toBe(3);
    expect(description.columns).toEqual([
      { name: 'size', type: 'number', kind: 'numeric', missing: 1, distinct: 2, min: 1.5, mean: 2.25, max: 3, std: expect.any(Number), quartiles: [1.875, 2.25, 2.625] },
      { name: 'kind', type: 'string', kind: 'categorical', missing: 0, distinct: 2, top: [{ value: 'a', count: 2 }, { value: 'b', count: 1 }] },
    ]);
    // A task's own markers replace the defaults: "NA" is then a value.
    const own = await mlctl(['data', 'describe', 'mine.csv', '--missing', 'b', '--json'], { MLCTL_DATA_DIR: join(work, 'none') }, work);
    const columns = (JSON.parse(own.stdout) as { columns: { name: string; type: string; missing: number }[] }).columns;
    expect(columns.map((c) => [c.name, c.type, c.missing])).toEqual([
      ['size', 'string', 0],
      ['kind', 'string', 1],
    ]);
  });

  it('pulls from a mirror on S3 with --from s3://bucket/prefix', async () => {
    const s3 = await startS3Server({ buckets: ['mirror'] });
    try {
      const client = createS3Client(s3.aws);
      const body = await readFile(join(MIRROR, 'housing', 'housing.csv'));
      await client.send(new PutObjectCommand({ Bucket: 'mirror', Key: 'datasets/housing/housing.csv', Body: body }));
      client.destroy();
      const dataDir = join(work, 's3-data');
      const result = await mlctl(['data', 'pull', 'housing', '--from', 's3://mirror/datasets', '--json'], { ...s3.env, MLCTL_DATA_DIR: dataDir }, work);
      expect(result.code, result.stderr).toBe(0);
      const pulled = JSON.parse(result.stdout) as { files: { action: string; source: string; bytes: number }[] };
      expect(pulled.files).toEqual([expect.objectContaining({ action: 'downloaded', source: 's3://mirror/datasets/housing/housing.csv', bytes: body.length })]);
      expect(await readFile(join(dataDir, 'raw', 'housing', 'housing.csv'))).toEqual(body);
    } finally {
      await s3.stop();
    }
  });

  it('lists datasets without loading TensorFlow.js, the AWS SDK, kysely or csv-parse', async () => {
    // A resolve hook reports every heavy module the process loads.
    const hook = join(work, 'heavy-hook.mjs');
    await writeFile(
      hook,
      `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (/@tensorflow|@aws-sdk|kysely|csv-parse|better-sqlite3/.test(result.url)) process.stderr.write('HEAVY ' + result.url + '\\n');
  return result;
}\n`,
    );
    const register = join(work, 'heavy-register.mjs');
    await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hook}`)});\n`);
    const result = await new Promise<CliResult>((done) => {
      execFile(process.execPath, ['--import', register, BIN, 'data', 'list'], { cwd: work, env: { PATH: process.env.PATH, MLCTL_DATA_DIR: join(work, 'ok-data') } }, (error, stdout, stderr) =>
        done({ code: error === null ? 0 : 1, stdout, stderr }),
      );
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('income');
    expect(result.stderr).not.toContain('HEAVY');
  });
});
