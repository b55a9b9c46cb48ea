import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MLCTL_BIN, REPO_ROOT } from '../helpers/cli.js';
import { checkCommandLine, simpleCommands } from '../helpers/command-lines.js';
import { loadProgram } from '../helpers/program.js';

// Every hint mlctl prints that names a command (`mlctl …` in backticks) names one that exists,
// with flags it has. Hints are collected from the source: the string literals of each `hint:`.

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The text of the expression after `hint:` (or `hint =`): its string and template literals
 * concatenated, `${…}` standing as <value>, up to the `,` `}` or `)` that ends it.
 */
function hintText(whole: string, from: number): string {
  // A hint expression is short; the bound also keeps a stray quote from running away.
  const source = whole.slice(from, from + 800);
  let text = '';
  let depth = 0;
  for (let i = 0; i < source.length; i += 1) {
    const c = source[i]!;
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      text += source.slice(i + 1, j).replace(/\\(.)/g, '$1');
      i = j;
    } else if (c === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== '`') {
        if (source[j] === '\\') {
          text += source[j + 1];
          j += 2;
        } else if (source.startsWith('${', j)) {
          let braces = 1;
          j += 2;
          while (braces > 0 && j < source.length) {
            if (source[j] === '{') braces += 1;
            else if (source[j] === '}') braces -= 1;
            j += 1;
          }
          text += '<value>';
        } else {
          text += source[j];
          j += 1;
        }
      }
      i = j;
    } else if (c === '(' || c === '[' || c === '{') depth += 1;
    else if (c === ')' || c === ']' || c === '}' || c === ',') {
      if (depth === 0) return text;
      if (c !== ',') depth -= 1;
    } else if (c === ';') return text;
  }
  return text;
}

const hints: { where: string; text: string }[] = [];
for (const file of sourceFiles(join(REPO_ROOT, 'src'))) {
  const source = readFileSync(file, 'utf8');
  for (const match of source.matchAll(/\bhint(?::|\s*=(?!=))\s*/g)) {
    const line = source.slice(0, match.index).split('\n').length;
    if (/^\s*(\/\/|\*)/.test(source.split('\n')[line - 1]!)) continue; // a comment
    hints.push({ where: `${relative(REPO_ROOT, file)}:${line}`, text: hintText(source, match.index + match[0].length) });
  }
}
const named = hints.flatMap((h) => [...h.text.matchAll(/`(mlctl [^`]+)`/g)].map((m) => ({ where: h.where, command: m[1]! })));
const { program } = await loadProgram();

describe('hints', () => {
  it('are found in the source, and many name a command', () => {
    expect(hints.length).toBeGreaterThan(40);
    expect(named.length).toBeGreaterThan(20);
    expect(named.map((n) => n.command)).toContain('mlctl models show <value>');
  });

  it.each(named.map((n) => [n.command, n.where] as const))('`%s` (%s) names a command and flags that exist', (command) => {
    expect(checkCommandLine(program, command, { placeholders: true })).toEqual([]);
  });

  it('name commands whose --help the built CLI prints', () => {
    const paths = new Set<string>();
    for (const { command } of named) {
      const words = simpleCommands(command)[0]!.map((w) => w.text).slice(1);
      const path: string[] = [];
      let here = program;
      for (const word of words) {
        const next = here.commands.find((c) => c.name() === word);
        if (next === undefined) break;
        path.push(word);
        here = next;
      }
      paths.add(path.join(' '));
    }
    for (const path of paths) {
      const r = spawnSync(process.execPath, [MLCTL_BIN, ...path.split(' ').filter(Boolean), '--help'], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
      expect([path, r.status, r.stderr]).toEqual([path, 0, '']);
      expect(r.stdout).toContain(`Usage: mlctl ${path}`);
    }
  });
});
