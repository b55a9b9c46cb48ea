import type { Command, Option } from 'commander';

/**
 * Checks of the command lines mlctl shows people (help examples, README, hints): that each
 * `mlctl …` names a command that exists, with flags it has and arguments it takes, and that
 * what a paste would hand to a program is well-formed (JSON in quotes, no "…" placeholders).
 */

interface Word {
  readonly text: string;
  /** The word was (partly) quoted: not an operator, not a comment. */
  readonly quoted: boolean;
}

const OPERATORS = new Set(['|', '||', '&&', ';', '&']);
const REDIRECTIONS = /^\d?(>>|>|<)$/;
/** A redirection written with its target in the same word: `2>/dev/null`, `2>&1`, `>out.json`. */
const ATTACHED_REDIRECTION = /^\d?>>?&?\S+$/;

/** Splits a shell line into words, as sh would (quotes removed, `#` comments dropped). */
export function shellWords(line: string): Word[] {
  const words: Word[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  const push = (): void => {
    if (started) words.push({ text: current, quoted });
    current = '';
    quoted = false;
    started = false;
  };
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unbalanced ${c} in: ${line}`);
      current += line.slice(i + 1, end).replace(c === '"' ? /\\(["\\$`])/g : /(?!)/g, '$1');
      quoted = true;
      started = true;
      i = end;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line[i + 1];
      started = true;
      i += 1;
    } else if (/\s/.test(c)) push();
    else if (c === '#' && !started) break;
    else if ('|&;'.includes(c)) {
      push();
      const two = line.slice(i, i + 2);
      words.push({ text: two === '&&' || two === '||' ? two : c, quoted: false });
      if (two === '&&' || two === '||') i += 1;
    } else {
      current += c;
      started = true;
    }
  }
  push();
  return words;
}

/** The simple commands of a line (split at pipes, && and ;), without redirections and their targets. */
export function simpleCommands(line: string): Word[][] {
  const commands: Word[][] = [[]];
  const words = shellWords(line);
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i]!;
    if (!word.quoted && OPERATORS.has(word.text)) commands.push([]);
    else if (!word.quoted && REDIRECTIONS.test(word.text)) i += 1;
    else if (!word.quoted && ATTACHED_REDIRECTION.test(word.text)) continue;
    else commands.at(-1)!.push(word);
  }
  return commands.filter((c) => c.length > 0);
}

export interface CheckOptions {
  /** `<run>`-style placeholders may stand for arguments (hints describe a shape; examples must run). */
  readonly placeholders: boolean;
}

function optionsOf(command: Command): Option[] {
  const out: Option[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) out.push(...(c.options as Option[]));
  return out;
}

/** Problems with one `mlctl` invocation (its words after `mlctl`), against the real command tree. */
function checkMlctl(program: Command, words: readonly Word[], options: CheckOptions): string[] {
  const problems: string[] = [];
  let command = program;
  let i = 0;
  // Global options may come first; then the command path.
  const globals = program.options as Option[];
  while (i < words.length && words[i]!.text.startsWith('-') && globals.some((o) => o.long === words[i]!.text || o.short === words[i]!.text)) i += 1;
  // `mlctl help <command…>` prints the help of that command.
  if (words[i]?.text === 'help') i += 1;
  for (; i < words.length; i += 1) {
    const next = command.commands.find((c) => c.name() === words[i]!.text || c.aliases().includes(words[i]!.text));
    if (next === undefined) break;
    command = next;
  }
  const path = ['mlctl', ...commandPath(command)].join(' ');
  if (command.commands.length > 0 && i < words.length && !words[i]!.text.startsWith('-')) problems.push(`${path} has no command "${words[i]!.text}"`);
  const positional: string[] = [];
  for (; i < words.length; i += 1) {
    const word = words[i]!.text;
    if (word === '--help' || word === '-h') return problems;
    if (word.startsWith('-') && word !== '-' && !/^-\d/.test(word)) {
      const [name, inline] = word.startsWith('--') && word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
      const option = optionsOf(command).find((o) => o.long === name || o.short === name || (o.negate && o.long === name));
      if (option === undefined) {
        problems.push(`${path} has no option ${name}`);
        continue;
      }
      if ((option.required || option.optional) && inline === undefined) {
        if (option.variadic) while (i + 1 < words.length && !words[i + 1]!.text.startsWith('-')) i += 1;
        else if (option.required || (i + 1 < words.length && !words[i + 1]!.text.startsWith('-'))) i += 1;
      }
      continue;
    }
    positional.push(word);
  }
  const declared = command.registeredArguments;
  const required = declared.filter((a) => a.required).length;
  const variadic = declared.some((a) => a.variadic);
  if (positional.length < required) problems.push(`${path} needs ${required} argument(s), got ${positional.length}`);
  if (!variadic && positional.length > declared.length && command.commands.length === 0) problems.push(`${path} takes at most ${declared.length} argument(s), got ${positional.length}`);
  if (!options.placeholders) for (const p of positional) if (/^<[^>]+>$/.test(p)) problems.push(`${path}: placeholder ${p} instead of a value`);
  return problems;
}

function commandPath(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent != null; c = c.parent) names.unshift(c.name());
  return names;
}

/**
 * Problems with a line a person may paste: each `mlctl` command in it must exist with its
 * flags; quoted JSON must parse; no "…" or "..." stands in for content.
 */
export function checkCommandLine(program: Command, line: string, options: CheckOptions): string[] {
  const problems: string[] = [];
  let commands: Word[][];
  try {
    commands = simpleCommands(line);
  } catch (error) {
    return [(error as Error).message];
  }
  for (const words of commands) {
    for (const word of words) {
      if (/…|\.\.\./.test(word.text)) problems.push(`"${word.text}" holds a placeholder ("…" or "...")`);
      if (word.quoted && /^\s*[[{]/.test(word.text)) {
        try {
          JSON.parse(word.text);
        } catch (error) {
          problems.push(`quoted JSON does not parse (${(error as Error).message}): ${word.text}`);
        }
      }
      if (!options.placeholders && !word.quoted && /^<[^>]+>$/.test(word.text)) problems.push(`placeholder ${word.text} instead of a value`);
    }
    let start = 0;
    while (start < words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[start]!.text)) start += 1;
    const head = words[start]?.text;
    if (head === 'mlctl' || head === 'npx' && words[start + 1]?.text === 'mlctl') {
      problems.push(...checkMlctl(program, words.slice(start + (head === 'npx' ? 2 : 1)), options));
    }
  }
  return [...new Set(problems)];
}
