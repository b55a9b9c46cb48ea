import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli.js';
import { loadConfig } from '../../src/config.js';
import { createOutput, type CliContext } from '../../src/ui/context.js';

/** A writable stream that keeps what is written, in `text`. */
export function captureStream(): Writable & { text: string } {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      stream.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  stream.text = '';
  return stream;
}

export interface ProgramUnderTest {
  readonly program: Command;
  readonly context: CliContext;
  readonly stdout: Writable & { text: string };
  readonly stderr: Writable & { text: string };
  /** Every command below the program, with its path of names (["runs", "show"]). */
  readonly commands: readonly { readonly path: readonly string[]; readonly command: Command }[];
}

/** The whole command tree, every group registered for real, writing into captured streams. */
export async function loadProgram(): Promise<ProgramUnderTest> {
  const stdout = captureStream();
  const stderr = captureStream();
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
  const walk = (command: Command, path: readonly string[]): { path: readonly string[]; command: Command }[] =>
    command.commands.flatMap((c) => {
      const here = [...path, c.name()];
      return [{ path: here, command: c }, ...walk(c, here)];
    });
  return { program, context, stdout, stderr, commands: walk(program, []) };
}

/** The command a path of names reaches (["runs", "show"]), or undefined. */
export function findCommand(program: Command, path: readonly string[]): Command | undefined {
  let command: Command | undefined = program;
  for (const name of path) command = command?.commands.find((c) => c.name() === name || c.aliases().includes(name));
  return command;
}
