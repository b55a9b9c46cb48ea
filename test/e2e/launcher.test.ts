import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MLCTL_BIN, REPO_ROOT } from '../helpers/cli.js';

// bin/mlctl runs a bundle of src/ with a V8 code cache (scripts/bundle.mjs; docs/design.md,
// "Start-up"). These tests hold the bundle to the tsc build of the same source, and the launcher
// to a clear failure when the bundle is missing.

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

describe('bin/mlctl and its bundle', () => {
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
    // import() of node: built-ins inside an action: the bundle must have turned it into require().
    [['runs', 'export', '--format', 'json', '--output', 'export.json']],
    [['tarin']],
  ])('`mlctl %j` prints and exits as the unbundled CLI does', (args) => {
    const bundled = launch(MLCTL_BIN, args, work);
    const reference = unbundled(args, work);
    expect(bundled).toEqual(reference);
  });

  /** Loads an install's bundle through its own launcher code and runs `code` on the result. */
  function withBundle(root: string, code: string): Run {
    const script = `const bundle = require(${JSON.stringify(join(root, 'bin', 'load-bundle.cjs'))}).loadBundle(); ${code}`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: work, env, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('the code cache the build wrote is accepted by this Node', () => {
    const r = withBundle(REPO_ROOT, 'console.log(JSON.stringify(bundle.script.cachedDataRejected));');
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toBe(false);
  });

  /** A copy of the launcher and bundle (with its cache, unless `cache` is false); node_modules is the checkout's. */
  function copyInstall(name: string, { cache = false } = {}): string {
    const root = join(work, name);
    mkdirSync(join(root, 'dist'), { recursive: true });
    cpSync(join(REPO_ROOT, 'bin'), join(root, 'bin'), { recursive: true });
    cpSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
    for (const file of cache ? ['mlctl.cjs', 'mlctl.cjs.cache'] : ['mlctl.cjs']) cpSync(join(REPO_ROOT, 'dist', file), join(root, 'dist', file));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
    return root;
  }

  it("stack traces name the bundle by its package path, not the build machine's folders", () => {
    // The cache was made in this checkout; the copy runs from elsewhere, as an installed package does.
    const root = copyInstall('moved', { cache: true });
    const r = withBundle(root, 'console.log(JSON.stringify(bundle.script.cachedDataRejected)); bundle.exports.buildProgram(null).catch((e) => console.log(e.stack));');
    expect(r.stderr).toBe('');
    const [rejected, ...trace] = r.stdout.split('\n');
    expect(JSON.parse(rejected!), 'the moved cache is used').toBe(false);
    expect(trace.join('\n')).toMatch(/at .*\(mlctl\/dist\/mlctl\.cjs:\d+:\d+\)/);
    expect(trace.join('\n')).not.toContain(REPO_ROOT);
  });

  it('a damaged or missing code cache costs only time: the output is the same', () => {
    const root = copyInstall('damaged-cache');
    writeFileSync(join(root, 'dist', 'mlctl.cjs.cache'), 'not a V8 code cache');
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
