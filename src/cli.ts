import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, mergeDotEnv, readDotEnv, type Config } from './config.js';
import { EXIT_CODES, isMlctlError, type MlctlError } from './core/errors.js';
import { createOutput, type CliContext } from './ui/context.js';
import { escapeControlCharacters, Output, type OutputStreams } from './ui/output.js';
import { registerCommands } from './commands/index.js';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Exit code for a run stopped by Ctrl-C, as shells report it. */
const INTERRUPTED_EXIT_CODE = 130;

export async function buildProgram(context: CliContext, options: { allCommands?: boolean } = {}): Promise<Command> {
  const program = new Command('mlctl')
    .description('A command-line MLOps toolkit for tabular models: data, training, tracking, bundles, predictions.')
    .version(context.version, '-V, --version', 'print the mlctl version')
    .option('--json', 'print exactly one JSON document on stdout (JSON lines for streams)')
    .option('-q, --quiet', 'print only results and errors')
    .option('-v, --verbose', 'print debugging detail on stderr')
    .addOption(new Option('--no-color', 'disable colours (NO_COLOR is honoured too)'))
    .helpCommand('help [command...]', 'print the help of a command (mlctl help runs show = mlctl runs show --help)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => context.streams.stdout.write(s),
      // commander's own errors echo what was typed (an unknown option, a bad value).
      writeErr: (s) => context.streams.stderr.write(escapeControlCharacters(s)),
    })
    .addHelpText(
      'after',
      `
Examples:
  $ mlctl data pull income
  $ mlctl train income
  $ mlctl models register fair-bison-54 --name income && mlctl models alias set income production 1
  $ echo '{"age": 39, "workclass": "State-gov", "fnlwgt": 77516, "education": "Bachelors", "education_num": 13, "marital_status": "Never-married", "occupation": "Adm-clerical", "relationship": "Not-in-family", "race": "White", "sex": "Male", "capital_gain": 2174, "capital_loss": 0, "hours_per_week": 40, "native_country": "United-States"}' | mlctl predict --model income@production --json

Exit codes: 0 ok, 1 unexpected failure, 2 invalid usage or input, 3 not found,
4 quality gate or integrity check failed, 5 external service failed, 130 interrupted.`,
    );
  await registerCommands(program, context, { all: options.allCommands === true });
  return program;
}

/**
 * `mlctl help <command> [<subcommand>…]` means `mlctl <command> [<subcommand>…] --help`, and is
 * rewritten so before anything is parsed: both print the same, for nested commands too
 * (commander's own help command stops at the first level), and only the named group loads.
 */
export function helpCommandAsFlag(args: readonly string[]): readonly string[] {
  const at = args.findIndex((arg) => !arg.startsWith('-'));
  if (at < 0 || args[at] !== 'help') return args;
  return [...args.slice(0, at), ...args.slice(at + 1), '--help'];
}

/** Renders an error and returns the exit code. The only place errors become exit codes. */
export function exitCodeFor(error: unknown, context: CliContext, program: Command): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    if (error.code === 'commander.executeSubCommandAsync') return error.exitCode;
    return EXIT_CODES.usage;
  }
  const output = createOutput(program, context.config, context.streams);
  if (context.signal.aborted && (isAbortError(error) || isMlctlError(error) === false)) {
    output.error('interrupted');
    return INTERRUPTED_EXIT_CODE;
  }
  if (isMlctlError(error)) return reportMlctlError(error, output, context.streams);
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  output.error('unexpected failure (this is a bug in mlctl; please report it with the trace below)');
  output.stderrWrite(`${stack}\n`);
  return EXIT_CODES.internal;
}

/** Prints a known error (message, problems, hint; the JSON document with --json) and returns its exit code. */
function reportMlctlError(error: MlctlError, output: Output, streams: OutputStreams): number {
  output.error(error.message);
  for (const problem of error.problems) output.stderrWrite(`  - ${problem}\n`);
  if (error.hint !== undefined) output.stderrWrite(`hint: ${error.hint}\n`);
  if (output.json) {
    streams.stdout.write(
      `${JSON.stringify({ error: { code: error.code, message: error.message, problems: error.problems, hint: error.hint, ...(error.details === undefined ? {} : { details: error.details }) } })}\n`,
    );
  }
  return EXIT_CODES[error.category];
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR');
}

export async function main(commandLine: readonly string[] = process.argv): Promise<number> {
  const argv = [...commandLine.slice(0, 2), ...helpCommandAsFlag(commandLine.slice(2))];
  const cwd = process.cwd();
  const env = mergeDotEnv(process.env, readDotEnv(cwd));
  // The AWS SDK reads its own variables from process.env; let .env reach it too.
  for (const [key, value] of Object.entries(env)) if (process.env[key] === undefined && value !== undefined) process.env[key] = value;
  const streams: OutputStreams = { stdout: process.stdout, stderr: process.stderr };
  // The exit code of an error already reported: a closed pipe must not turn it into another.
  let failure = 0;
  // `mlctl … | head` closes the pipe early: stop quietly, as Unix tools do (with the error's
  // code if the output was an error document).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(failure);
    throw error;
  });
  // Nobody is left to read a message on a closed stderr; the exit code still tells.
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  let config: Config;
  try {
    config = loadConfig(env, cwd);
  } catch (error) {
    if (!isMlctlError(error)) throw error;
    // No command line parsed yet: --json is honoured if it is there at all.
    const output = new Output({ json: argv.includes('--json'), quiet: false, verbose: false, color: false }, streams, true);
    failure = reportMlctlError(error, output, streams);
    return failure;
  }
  const abort = new AbortController();
  let interruptedBy: NodeJS.Signals | undefined;
  // The first Ctrl-C or SIGTERM asks long operations to clean up and stop (training marks its
  // run KILLED, downloads remove their temp files); a second one exits at once (130 / 143).
  const onSignal = (signal: NodeJS.Signals): void => {
    if (abort.signal.aborted) process.exit(signal === 'SIGINT' ? INTERRUPTED_EXIT_CODE : 143);
    interruptedBy ??= signal;
    abort.abort(new Error(`received ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const finishers: (() => Promise<void>)[] = [];
  const context: CliContext = {
    config,
    version: readVersion(),
    argv: argv.slice(2),
    streams,
    signal: abort.signal,
    output: (command) => createOutput(command, config, streams),
    onFinish: (task) => {
      finishers.push(task);
    },
  };
  const program = await buildProgram(context);
  try {
    await program.parseAsync([...argv]);
    // A command that finished its work after SIGTERM (serve drains, then returns) exits 0.
    return interruptedBy === 'SIGINT' ? INTERRUPTED_EXIT_CODE : 0;
  } catch (error) {
    failure = exitCodeFor(error, context, program);
    return failure;
  } finally {
    // Whatever the command opened (a database pool) is closed before the exit code is returned.
    for (const finish of finishers.reverse()) await finish().catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
