import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { buildProgram, exitCodeFor, helpCommandAsFlag } from '../../src/cli.js';
import { loadConfig } from '../../src/config.js';
import { createOutput, type CliContext } from '../../src/ui/context.js';
import { MLCTL_BIN } from '../helpers/cli.js';
import { captureStream, loadProgram } from '../helpers/program.js';

// `mlctl help <command> [<sub>…]` prints exactly what `mlctl <command> [<sub>…] --help` does.

/** What the CLI prints for a command line, in-process, as main() runs it. */
async function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = captureStream();
  const stderr = captureStream();
  const config = loadConfig({}, process.cwd());
  const normalized = helpCommandAsFlag(args);
  const context: CliContext = {
    config,
    version: '0.0.0-test',
    argv: normalized,
    streams: { stdout, stderr },
    signal: new AbortController().signal,
    onFinish: () => undefined,
    output: (command) => createOutput(command, config, { stdout, stderr }),
  };
  const program = await buildProgram(context);
  let code = 0;
  try {
    await program.parseAsync(['node', 'mlctl', ...normalized]);
  } catch (error) {
    code = exitCodeFor(error, context, program);
  }
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const { commands } = await loadProgram();

describe('mlctl help <command>', () => {
  it('rewrites only a leading help command', () => {
    expect(helpCommandAsFlag(['help', 'runs', 'show'])).toEqual(['runs', 'show', '--help']);
    expect(helpCommandAsFlag(['--no-color', 'help', 'train'])).toEqual(['--no-color', 'train', '--help']);
    expect(helpCommandAsFlag(['help'])).toEqual(['--help']);
    expect(helpCommandAsFlag(['runs', 'note', 'fair-bison-54', 'help'])).toEqual(['runs', 'note', 'fair-bison-54', 'help']);
  });

  const paths: (readonly string[])[] = [[], ...commands.map((c) => c.path)];
  it.each(paths.map((path) => [path]))('mlctl help %j prints what --help prints', async (path) => {
    const viaHelp = await run(['help', ...path]);
    const viaFlag = await run([...path, '--help']);
    expect(viaHelp).toEqual(viaFlag);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toContain(`Usage: mlctl${path.length === 0 ? '' : ` ${path.join(' ')}`}`);
  });

  it('does so through the built CLI', () => {
    for (const path of [['train'], ['runs', 'show'], ['db', 'users', 'add']]) {
      const env = { ...process.env, CI: 'true', NO_COLOR: '1' };
      const viaHelp = spawnSync(process.execPath, [MLCTL_BIN, 'help', ...path], { encoding: 'utf8', env });
      const viaFlag = spawnSync(process.execPath, [MLCTL_BIN, ...path, '--help'], { encoding: 'utf8', env });
      expect([viaHelp.status, viaHelp.stdout, viaHelp.stderr]).toEqual([viaFlag.status, viaFlag.stdout, viaFlag.stderr]);
      expect(viaHelp.stdout.split('\n').length).toBeGreaterThan(5);
    }
  });
});
