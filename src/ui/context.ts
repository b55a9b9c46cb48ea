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

/** Parses an integer flag, or throws a usage error naming the flag. */
export function parseIntFlag(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number, got "${value}"`);
    return n;
  };
}

export function parseFloatFlag(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

