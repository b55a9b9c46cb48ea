import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../../src/core/fs/hash.js';
import { LocalArtifactStore } from '../../../src/core/storage/local-artifact-store.js';

const cleanups: string[] = [];
afterEach(() => {
  for (const dir of cleanups.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, 'mlctl-local-store-'));
  cleanups.push(dir);
  return dir;
}

async function* bytes(text: string): AsyncIterable<Uint8Array> {
  yield new TextEncoder().encode(text);
}
const put = (text: string, expected = text) => ({ size: Buffer.byteLength(expected), sha256: sha256(expected) });

describe('LocalArtifactStore with a staging folder', () => {
  it('writes through the staging folder and leaves nothing beside the file, even when a write is refused', async () => {
    const dir = tempDir();
    const store = new LocalArtifactStore({ root: join(dir, 'root'), stagingDir: join(dir, 'root', '.sync', 'tmp'), exclude: (key) => key.startsWith('.') });
    await store.put('run/run.json', bytes('{"a":1}'), put('{"a":1}'));
    await expect(store.put('run/params.json', bytes('{"b":2}'), put('{"b":2}', '{"b":3}'))).rejects.toMatchObject({ code: 'ARTIFACT_CHECKSUM_MISMATCH' });
    expect(await readdir(join(dir, 'root', 'run'))).toEqual(['run.json']);
    expect(await readdir(join(dir, 'root', '.sync', 'tmp'))).toEqual(['.gitignore']);
  });

  it('names the files its listing passed over; replaces a folder whole (carried-over files, new files, strays dropped); a discard changes nothing', async () => {
    const dir = tempDir();
    const root = join(dir, 'root');
    const store = new LocalArtifactStore({ root, stagingDir: join(dir, 'staging') });
    await mkdir(join(root, 'b', 'model'), { recursive: true });
    await writeFile(join(root, 'b', 'manifest.json'), 'm1');
    await writeFile(join(root, 'b', 'model', 'w.bin'), 'old');
    await writeFile(join(root, 'b', 'model', '.w.bin.1.0a1b2c3d.tmp'), 'half');
    expect((await store.list()).map((entry) => entry.key)).toEqual(['b/manifest.json', 'b/model/w.bin']);
    expect(store.unlistedFiles()).toEqual(['b/model/.w.bin.1.0a1b2c3d.tmp']);

    const discarded = await store.replaceFolder('b/');
    await discarded.put('b/model/w.bin', bytes('new'), put('new'));
    await discarded.discard();
    expect(await readFile(join(root, 'b', 'model', 'w.bin'), 'utf8')).toBe('old');

    const replacement = await store.replaceFolder('b/');
    await replacement.put('b/model/w.bin', bytes('new'), put('new'));
    await replacement.keep('b/manifest.json');
    // Nothing shows before the commit.
    expect(await readFile(join(root, 'b', 'model', 'w.bin'), 'utf8')).toBe('old');
    await replacement.commit();
    expect((await readdir(join(root, 'b'), { recursive: true })).sort()).toEqual(['manifest.json', 'model', 'model/w.bin']);
    expect(await readFile(join(root, 'b', 'model', 'w.bin'), 'utf8')).toBe('new');
    expect(await readdir(join(dir, 'staging'))).toEqual(['.gitignore']);
  });

  it('clears staging entries whose process is gone, and only those', async () => {
    const dir = tempDir();
    const staging = join(dir, 'staging');
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    await mkdir(join(staging, `${dead}-0a1b2c3d.dir`), { recursive: true });
    await writeFile(join(staging, `${dead}-0a1b2c3d.tmp`), 'x');
    await writeFile(join(staging, `${process.pid}-0a1b2c3d.tmp`), 'mine');
    const store = new LocalArtifactStore({ root: join(dir, 'root'), stagingDir: staging });
    expect(await store.removeStaleStaging()).toBe(2);
    expect(await readdir(staging)).toEqual([`${process.pid}-0a1b2c3d.tmp`]);
  });

  // /dev/shm is a file system of its own on Linux: a staging folder there cannot be renamed from.
  const otherDevice = existsSync('/dev/shm') && statSync('/dev/shm').dev !== statSync(tmpdir()).dev;
  it.runIf(otherDevice)('falls back to a copy when the staging folder is on another file system', async () => {
    const root = join(tempDir(), 'root');
    const store = new LocalArtifactStore({ root, stagingDir: tempDir('/dev/shm') });
    await store.put('a/b.txt', bytes('across'), put('across'));
    expect(await readFile(join(root, 'a', 'b.txt'), 'utf8')).toBe('across');
    expect(await readdir(join(root, 'a'))).toEqual(['b.txt']);
  });
});
