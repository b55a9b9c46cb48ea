import { InvalidArgumentError, type Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { describeRange, type NumericFlagParser } from '../../src/ui/context.js';
import { listModelFamilies } from '../../src/core/models/model-families.js';
import { flagOf } from '../../src/core/models/model-params.js';
import { loadProgram } from '../helpers/program.js';
import { createWorkspace, runCli } from '../helpers/cli.js';

// Every numeric flag checks its range before any work starts (exit 2, naming the flag and what
// it accepts), through parseIntFlag/parseFloatFlag. `mlctl train`'s model hyper-parameters are
// the model families' own, declared with their ranges (checked below and by resolveParams).
const TRAIN_MODEL_FLAGS = new Set(
  listModelFamilies().flatMap((family) => Object.entries(family.params).map(([name, spec]) => flagOf(name, spec)).filter((flag): flag is string => flag !== undefined)),
);
/** Placeholders that name a number. */
const NUMERIC_ARGUMENT = /<(n|p|x|id|port|seconds|fraction|rate|count|size)>/;

const { commands } = await loadProgram();
const flags: { label: string; option: Option }[] = [];
for (const { path, command } of commands) {
  for (const option of command.options as Option[]) {
    if (path[0] === 'train' && TRAIN_MODEL_FLAGS.has(option.long ?? '')) continue;
    const parser = option.parseArg as Partial<NumericFlagParser> | undefined;
    if (NUMERIC_ARGUMENT.test(option.flags) || parser?.integer !== undefined) flags.push({ label: `mlctl ${path.join(' ')} ${option.long}`, option });
  }
}

function rejects(option: Option, value: string): string {
  try {
    option.parseArg?.(value, undefined);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as Error).message;
  }
  throw new Error(`${option.long} accepted "${value}"`);
}

describe('numeric flags', () => {
  it('finds the numeric flags of every command', () => {
    expect(flags.length).toBeGreaterThan(15);
  });

  it.each(flags.map((f) => [f.label, f.option] as const))('%s declares a range and refuses values outside it', (_label, option) => {
    const parser = option.parseArg as NumericFlagParser | undefined;
    expect(parser?.integer, `${option.long} is parsed by parseIntFlag or parseFloatFlag`).toBeTypeOf('boolean');
    const range = parser!.range;
    expect(range?.min, `${option.long} has a lower bound`).toBeTypeOf('number');
    const allowed = describeRange(range, parser!.integer);
    const outside = [String(range!.minExclusive === true ? range!.min : range!.min! - 1), 'abc', ''];
    if (range!.max !== undefined) outside.push(String(range!.maxExclusive === true ? range!.max : range!.max + 1));
    if (parser!.integer) outside.push(String(range!.min! + 0.5));
    for (const value of outside) {
      const message = rejects(option, value);
      expect(message).toContain(option.long!);
      expect(message).toContain(allowed);
    }
    // Its bounds themselves are accepted, as is the default.
    if (range!.minExclusive !== true) expect(parser!(String(range!.min))).toBe(range!.min);
    if (range!.max !== undefined && range!.maxExclusive !== true) expect(parser!(String(range!.max))).toBe(range!.max);
    if (typeof option.defaultValue === 'number') expect(parser!(String(option.defaultValue))).toBe(option.defaultValue);
  });

  it('every numeric hyper-parameter of every model family declares both bounds', () => {
    const unbounded = listModelFamilies().flatMap((family) =>
      Object.entries(family.params)
        .filter(([, spec]) => (spec.type === 'int' || spec.type === 'number' || spec.type === 'int-list') && (spec.min === undefined || spec.max === undefined))
        .map(([name]) => `${family.name}.${name}`),
    );
    expect(unbounded).toEqual([]);
  });

  it('stops the built CLI with exit 2 before any work, naming the flag and the range', async () => {
    const ws = createWorkspace();
    try {
      for (const args of [
        ['runs', 'list', '--limit', '-1'],
        ['preprocess', 'income', '--validation', '1'],
        ['serve', '--port', '70000'],
        ['evaluate', 'income@production', '--threshold', '1.5'],
      ]) {
        const r = await runCli(args, { cwd: ws.dir, env: ws.env });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(args.at(-2)!);
        expect(r.stdout).toBe('');
      }
    } finally {
      ws.cleanup();
    }
  });
});
