import type { Writable } from 'node:stream';
import { importPackage } from '../core/env/import-package.js';

/** The global flags every command shares. */
export interface GlobalOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly color: boolean;
}

export interface OutputStreams {
  readonly stdout: Writable & { isTTY?: boolean; columns?: number };
  readonly stderr: Writable & { isTTY?: boolean };
}

/** A progress display: a spinner on a TTY, a few plain lines on stderr elsewhere. */
export interface Progress {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

/**
 * Makes control characters visible: ESC becomes `\x1b`, a carriage return `\r`, and so on
 * (C0 controls but newline and tab, DEL, and C1 controls). Messages echo what users and
 * remote stores hand us (file names, flags, S3 keys); raw, an escape sequence in them would
 * drive the terminal: recolour, retitle, move the cursor, hide text.
 */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTER, (c) => (c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

const CONTROL_CHARACTER = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

const ANSI = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;
export type Style = keyof typeof ANSI;

/**
 * Where every byte a command prints goes. stdout carries the result (exactly one JSON
 * document with --json); logs, warnings and progress go to stderr; nothing animated is
 * drawn unless both streams are terminals and we are not in CI.
 */
export class Output {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly color: boolean;
  /** Spinners and live progress allowed. */
  readonly interactive: boolean;
  private readonly streams: OutputStreams;

  constructor(options: GlobalOptions, streams: OutputStreams, ci: boolean) {
    this.json = options.json;
    this.quiet = options.quiet;
    this.verbose = options.verbose;
    this.streams = streams;
    this.color = options.color && streams.stdout.isTTY === true;
    // A terminal that reports no width (some `script` or CI pseudo-terminals) cannot redraw a
    // spinner in place: ora would emit cursor movements without end.
    const width = (streams.stderr as { columns?: number }).columns ?? 0;
    this.interactive = !ci && !options.json && !options.quiet && streams.stdout.isTTY === true && streams.stderr.isTTY === true && width > 0;
  }

  get columns(): number {
    return this.streams.stdout.columns ?? 100;
  }

  style(style: Style, text: string): string {
    if (!this.color) return text;
    const [open, close] = ANSI[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  /** Prints the command's result: `data` as JSON with --json, else the human text. */
  result(data: unknown, human: () => string): void {
    if (this.json) {
      this.streams.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    } else {
      const text = human();
      if (text !== '') this.streams.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** One JSON line on stdout, for streamed results (predictions). */
  jsonLine(data: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(data)}\n`);
  }

  /** Raw text on stdout (human mode only). */
  print(text: string): void {
    if (!this.json) this.streams.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  // Everything written to stderr below passes through escapeControlCharacters first: it is
  // the one place where messages (errors, warnings, progress) reach the terminal.

  /** A status line on stderr, hidden by --quiet. */
  info(message: string): void {
    if (!this.quiet) this.streams.stderr.write(`${escapeControlCharacters(message)}\n`);
  }

  warn(message: string): void {
    this.streams.stderr.write(`${this.stderrStyle('yellow', 'warning:')} ${escapeControlCharacters(message)}\n`);
  }

  debug(message: string): void {
    if (this.verbose) this.streams.stderr.write(`${this.stderrStyle('dim', escapeControlCharacters(message))}\n`);
  }

  error(message: string): void {
    this.streams.stderr.write(`${this.stderrStyle('red', 'error:')} ${escapeControlCharacters(message)}\n`);
  }

  /** Writes straight to stderr (stack traces, multi-line diagnostics), control characters escaped. */
  stderrWrite(text: string): void {
    this.streams.stderr.write(escapeControlCharacters(text));
  }

  private stderrStyle(style: Style, text: string): string {
    if (!this.color || this.streams.stderr.isTTY !== true) return text;
    const [open, close] = ANSI[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }

  /** A spinner on a TTY; elsewhere only the final line, on stderr. ora is loaded lazily. */
  async progress(text: string): Promise<Progress> {
    if (this.interactive) {
      const { default: ora } = await importPackage<typeof import('ora')>('ora');
      const spinner = ora({ text: escapeControlCharacters(text), stream: this.streams.stderr as NodeJS.WritableStream, color: 'cyan' }).start();
      return {
        update: (t) => { spinner.text = escapeControlCharacters(t); },
        succeed: (t) => { spinner.succeed(escapeControlCharacters(t)); },
        fail: (t) => { spinner.fail(escapeControlCharacters(t)); },
        stop: () => { spinner.stop(); },
      };
    }
    return {
      update: () => {},
      succeed: (t) => this.info(t),
      fail: (t) => this.info(t),
      stop: () => {},
    };
  }
}
