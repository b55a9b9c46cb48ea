import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { checkCommandLine } from '../helpers/command-lines.js';
import { loadProgram } from '../helpers/program.js';

// Every example in --help and in the README runs when pasted: the commands and flags it names
// exist, it has the arguments it needs, quoted JSON parses, and nothing stands in for content
// (no "…", "...", <run-id>). `mlctl train`'s help is left to the model-family work that
// replaces its flags.

const { program, stdout, commands } = await loadProgram();

function helpExamples(): { where: string; line: string }[] {
  const out: { where: string; line: string }[] = [];
  for (const { path, command } of [{ path: [] as readonly string[], command: program }, ...commands]) {
    if (path[0] === 'train') continue;
    stdout.text = '';
    command.outputHelp();
    const [, examples = ''] = stdout.text.split(/\nExamples?:\n/);
    for (const line of examples.split('\n')) {
      const match = /^\s+\$ (.*)$/.exec(line);
      if (match !== null) out.push({ where: `mlctl ${path.join(' ')} --help`.replace('  ', ' '), line: match[1]! });
    }
  }
  return out;
}

/** Shell lines of the README: `$ `-prompted lines of any block, and every command of ```sh blocks. */
function readmeExamples(): { where: string; line: string }[] {
  const text = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const out: { where: string; line: string }[] = [];
  for (const block of text.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)) {
    const [, language, body] = block as unknown as [string, string, string];
    const lineNumber = text.slice(0, block.index).split('\n').length + 1;
    let pending = '';
    for (const [i, raw] of body.split('\n').entries()) {
      const prompted = /^\$ (.*)$/.exec(raw);
      if (pending === '' && prompted === null && language !== 'sh') continue;
      pending += (pending === '' ? '' : '\n') + (prompted === null ? raw : prompted[1]!);
      // A line ending in \ or inside an open quote continues on the next one.
      const quotes = (pending.replace(/\\./g, '').match(/'/g) ?? []).length;
      if (pending.endsWith('\\') || quotes % 2 === 1) {
        if (pending.endsWith('\\')) pending = pending.slice(0, -1);
        continue;
      }
      if (pending.trim() !== '') out.push({ where: `README.md:${lineNumber + i}`, line: pending.replace(/\n/g, ' ') });
      pending = '';
    }
  }
  return out;
}

const examples = [...helpExamples(), ...readmeExamples()];

describe('pasteable examples', () => {
  it('are found in every command help and in the README', () => {
    expect(examples.filter((e) => e.where.startsWith('mlctl')).length).toBeGreaterThan(80);
    expect(examples.filter((e) => e.where.startsWith('README')).length).toBeGreaterThan(25);
  });

  it('every command but train shows examples in its help', () => {
    const without = commands.filter((c) => c.path[0] !== 'train' && !examples.some((e) => e.where === `mlctl ${c.path.join(' ')} --help`));
    expect(without.map((c) => c.path.join(' '))).toEqual([]);
  });

  it.each(examples.map((e) => [e.where, e.line] as const))('%s: %s', (_where, line) => {
    expect(checkCommandLine(program, line, { placeholders: false })).toEqual([]);
  });
});
