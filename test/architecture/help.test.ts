import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_GROUPS } from '../../src/commands/index.js';
import { buildProgram } from '../../src/cli.js';
import { loadConfig } from '../../src/config.js';
import { createOutput, type CliContext } from '../../src/ui/context.js';

function capture(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  stream.text = '';
  return stream;
}

function allCommands(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return command.commands.flatMap((c) => {
    const here = [...path, c.name()];
    return [{ path: here, command: c }, ...allCommands(c, here)];
  });
}

const stdout = capture();
const stderr = capture();
const config = loadConfig({}, process.cwd());
const context: CliContext = {
  config,
  version: '0.0.0-test',
  argv: [],
  streams: { stdout, stderr },
  signal: new AbortController().signal,
  onFinish: () => undefined,
  output: (command) => createOutput(command, config, { stdout, stderr }),
};
const program = await buildProgram(context, { allCommands: true });
const commands = allCommands(program);

describe('every command documents itself', () => {
  it('registers the command groups the issues name, exactly as the group table lists them', () => {
    const top = program.commands.map((c) => c.name());
    for (const name of ['data', 'preprocess', 'train', 'evaluate', 'predict', 'runs', 'models', 'db', 'sync', 'storage', 'pipeline', 'serve', 'report']) {
      expect(top).toContain(name);
    }
    expect(top).toEqual(COMMAND_GROUPS.map((g) => g.name));
  });

  it('lists every group in the top-level help without loading any group', async () => {
    const light = await buildProgram({ ...context, argv: ['--help'] });
    stdout.text = '';
    light.outputHelp();
    for (const group of COMMAND_GROUPS) expect(stdout.text).toContain(group.name);
    expect(light.commands.every((c) => c.commands.length === 0 && c.options.length === 0)).toBe(true);
  });

  it.each(commands.map((c) => [c.path.join(' '), c.command] as const))('mlctl %s --help shows a description and an example', (_name, command) => {
    stdout.text = '';
    command.outputHelp();
    expect(command.description().length).toBeGreaterThan(0);
    // Leaf commands show runnable examples; a group's help may show its subcommands' instead.
    const isGroup = command.commands.length > 0;
    if (!isGroup) expect(stdout.text).toMatch(/Examples?:\n(?:\s+\$ .*\n)*?\s+\$ .*\bmlctl /);
  });
});
