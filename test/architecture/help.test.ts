import { describe, expect, it } from 'vitest';
import { COMMAND_GROUPS } from '../../src/commands/index.js';
import { buildProgram } from '../../src/cli.js';
import { loadProgram } from '../helpers/program.js';

const { program, context, stdout, commands } = await loadProgram();

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
