import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MLCTL_BIN, REPO_ROOT } from '../helpers/cli.js';

// bin/mlctl runs a bundle of src/ with a V8 code cache (scripts/bundle.mjs): the whole CLI, or
// for `mlctl`, `--help` and `--version` the top-level bundle. These tests hold the bundles to
// the tsc build of the same source, and the launcher to a clear failure when they are missing.

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const env = { ...process.env, CI: 'true', NO_COLOR: '1' };

function launch(bin: string, args: readonly string[], cwd: string): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same command line through dist/cli.js, tsc's output, without the launcher or a bundle. */
function unbundled(args: readonly string[], cwd: string): Run {
  const cli = pathToFileURL(join(REPO_ROOT, 'dist', 'cli.js')).href;
  const script = `const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(['node', 'mlctl', ...${JSON.stringify(args)}]);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const work = mkdtempSync(join(tmpdir(), 'mlctl-launcher-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('bin/mlctl and its bundles', () => {
  it.each([
    [['--help']],
    [['--version']],
    [[]],
    [['--json', '--help']],
    [['--no-such-flag']],
    [['runs', '--help']],
    [['runs', 'show', '--help']],
    [['train', '--help']],
    [['runs', 'show', 'not/an-id']],
    [['tarin']],
  ])('`mlctl %j` prints and exits as the unbundled CLI does', (args) => {
    const bundled = launch(MLCTL_BIN, args, work);
    const reference = unbundled(args, work);
    expect(bundled).toEqual(reference);
  });

  it('the code caches the build wrote are accepted by this Node', () => {
    const script = `const { loadBundle, BUNDLE, TOP_LEVEL_BUNDLE } = require(${JSON.stringify(join(REPO_ROOT, 'bin', 'load-bundle.cjs'))});
      console.log(JSON.stringify([BUNDLE, TOP_LEVEL_BUNDLE].map((b) => loadBundle(b).script.cachedDataRejected)));`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: work, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([false, false]);
  });

  /** A copy of the launcher and bundles, to damage; node_modules is the checkout's. */
  function copyInstall(name: string): string {
    const root = join(work, name);
    mkdirSync(join(root, 'dist'), { recursive: true });
    cpSync(join(REPO_ROOT, 'bin'), join(root, 'bin'), { recursive: true });
    cpSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
    for (const file of ['mlctl.cjs', 'mlctl-top-level.cjs']) cpSync(join(REPO_ROOT, 'dist', file), join(root, 'dist', file));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
    return root;
  }

  it('a damaged or missing code cache costs only time: the output is the same', () => {
    const root = copyInstall('damaged-cache');
    writeFileSync(join(root, 'dist', 'mlctl.cjs.cache'), 'not a V8 code cache');
    writeFileSync(join(root, 'dist', 'mlctl-top-level.cjs.cache'), Buffer.alloc(4096, 0xff));
    for (const args of [['--help'], ['--version'], ['runs', 'list', '--json']]) {
      const damaged = launch(join(root, 'bin', 'mlctl'), args, work);
      expect(damaged.stderr).toBe('');
      expect(damaged).toEqual(launch(MLCTL_BIN, args, work));
    }
    rmSync(join(root, 'dist', 'mlctl.cjs.cache'));
    expect(launch(join(root, 'bin', 'mlctl'), ['runs', 'list', '--json'], work)).toEqual(launch(MLCTL_BIN, ['runs', 'list', '--json'], work));
  });

  it('a missing bundle is an error that says to build', () => {
    const root = copyInstall('missing-bundle');
    rmSync(join(root, 'dist', 'mlctl.cjs'));
    const r = launch(join(root, 'bin', 'mlctl'), ['runs', 'list'], work);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${join(root, 'dist', 'mlctl.cjs')} is missing`);
    expect(r.stderr).toContain('npm run build');
  });
});
