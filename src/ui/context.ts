import { InvalidArgumentError, type Command } from 'commander';
import type { Config } from '../config.js';
import { Output, type GlobalOptions, type OutputStreams } from './output.js';

/** What every command receives from the CLI edge. */
export interface CliContext {
  readonly config: Config;
  readonly version: string;
  /** The command line as typed, recorded with runs. */
  readonly argv: readonly string[];
  readonly streams: OutputStreams;
  /** Aborted on the first Ctrl-C (SIGINT) or SIGTERM; long operations clean up and stop. */
  readonly signal: AbortSignal;
  /** The Output for a command, built from its global flags. */
  output(command: Command): Output;
  /**
   * Runs `task` once the command has finished, successfully or not (closing a database pool
   * it opened), before the CLI returns its exit code. Tasks run last-registered first.
   */
  onFinish(task: () => Promise<void>): void;
}

export function globalOptionsOf(command: Command, config: Config): GlobalOptions {
  const opts = command.optsWithGlobals<{ json?: boolean; quiet?: boolean; verbose?: boolean; color?: boolean }>();
  return {
    json: opts.json === true,
    quiet: opts.quiet === true,
    verbose: opts.verbose === true,
    color: opts.color !== false && !config.noColor,
  };
}

export function createOutput(command: Command, config: Config, streams: OutputStreams): Output {
  return new Output(globalOptionsOf(command, config), streams, config.ci);
}

/** Adds an "Examples:" block to a command's --help. */
export function withExamples(command: Command, ...examples: string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

/**
 * The values a numeric flag accepts. Bounds are inclusive unless marked exclusive; a whole-number
 * flag is also held to JavaScript's safe integers.
 */
export interface NumberRange {
  readonly min?: number;
  readonly max?: number;
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
}

/** Seeds feed numpy-compatible generators (see core/compat/numpy-random.ts): 32-bit unsigned. */
export const SEED_RANGE: NumberRange = { min: 0, max: 2 ** 32 - 1 };
/** A share of rows held out: none at all is allowed, all of them is not. */
export const FRACTION_RANGE: NumberRange = { min: 0, max: 1, maxExclusive: true };
export const PROBABILITY_RANGE: NumberRange = { min: 0, max: 1 };
/** 0 asks the system for a free port. */
export const PORT_RANGE: NumberRange = { min: 0, max: 65_535 };
export const COUNT_RANGE: NumberRange = { min: 0 };
export const POSITIVE_COUNT_RANGE: NumberRange = { min: 1 };
/** Seconds given to a timer: Node's timers hold at most 2^31 − 1 ms. */
export const SECONDS_RANGE: NumberRange = { min: 0, max: Math.floor((2 ** 31 - 1) / 1000) };

/**
 * Ranges of the flags that mean the same in every command, used when a command declares none
 * (so `--seed` is checked wherever it appears). A command may still pass its own.
 */
const KNOWN_FLAG_RANGES: Readonly<Record<string, NumberRange>> = {
  '--seed': SEED_RANGE,
  '--validation': FRACTION_RANGE,
  '--threshold': PROBABILITY_RANGE,
  '--port': PORT_RANGE,
};

/** A flag's argument parser, carrying the range it checks (tests read it). */
export type NumericFlagParser = ((value: string) => number) & { readonly range?: NumberRange; readonly integer: boolean };

/** "a whole number from 1 to 64", "a number ≥ 0 and < 1": what a usage error says is allowed. */
export function describeRange(range: NumberRange | undefined, integer: boolean): string {
  const what = integer ? 'a whole number' : 'a number';
  const min = range?.min;
  const max = range?.max;
  if (min !== undefined && max !== undefined && range?.minExclusive !== true && range?.maxExclusive !== true) return `${what} from ${formatBound(min)} to ${formatBound(max)}`;
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${range?.minExclusive === true ? '>' : '≥'} ${formatBound(min)}`);
  if (max !== undefined) parts.push(`${range?.maxExclusive === true ? '<' : '≤'} ${formatBound(max)}`);
  return parts.length === 0 ? what : `${what} ${parts.join(' and ')}`;
}

function formatBound(n: number): string {
  return Number.isInteger(n) && Math.abs(n) >= 10_000 ? n.toLocaleString('en-US') : String(n);
}

function inRange(n: number, range: NumberRange | undefined): boolean {
  if (range === undefined) return true;
  if (range.min !== undefined && (range.minExclusive === true ? n <= range.min : n < range.min)) return false;
  if (range.max !== undefined && (range.maxExclusive === true ? n >= range.max : n > range.max)) return false;
  return true;
}

function numericFlag(name: string, integer: boolean, range: NumberRange | undefined): NumericFlagParser {
  const parse = (value: string): number => {
    const n = Number(value);
    const valid = value.trim() !== '' && (integer ? Number.isSafeInteger(n) : Number.isFinite(n)) && inRange(n, range);
    if (!valid) throw new InvalidArgumentError(`${name} must be ${describeRange(range, integer)}, got "${value}"`);
    return n;
  };
  return Object.assign(parse, { integer, ...(range === undefined ? {} : { range }) });
}

/**
 * Parses a whole-number flag and checks its range before any work starts: a usage error
 * (exit 2) names the flag and what it accepts. Without `range`, a well-known flag (--seed,
 * --port…) gets its usual one.
 */
export function parseIntFlag(name: string, range: NumberRange | undefined = KNOWN_FLAG_RANGES[name]): NumericFlagParser {
  return numericFlag(name, true, range);
}

/** parseIntFlag for any finite number. */
export function parseFloatFlag(name: string, range: NumberRange | undefined = KNOWN_FLAG_RANGES[name]): NumericFlagParser {
  return numericFlag(name, false, range);
}
