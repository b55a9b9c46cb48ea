import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { MLCTL_BIN } from '../helpers/cli.js';

/** A `mlctl serve` process started on an ephemeral port. */
export interface Daemon {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** JSON log lines written so far. */
  events(): Record<string, unknown>[];
  /** Waits for a log event matching `predicate`. */
  waitForEvent(predicate: (event: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Starts `mlctl serve --port 0 …` and resolves once it logs the address it listens on. */
export async function startDaemon(args: readonly string[], options: { cwd: string; env: Record<string, string | undefined> }): Promise<Daemon> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, CI: 'true', NO_COLOR: '1', ...options.env })) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [MLCTL_BIN, 'serve', '--port', '0', ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    for (const w of waiters.splice(0)) w();
    resolve(code);
  }));
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));

  const events = (): Record<string, unknown>[] =>
    stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });

  const waitForEvent = (predicate: (event: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; stderr:\n${stderr.slice(-3000)}`)), timeoutMs);
      const check = (): void => {
        const found = events().find(predicate);
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        } else if (exitCode !== undefined) {
          clearTimeout(timer);
          reject(new Error(`mlctl serve exited with ${exitCode}; stderr:\n${stderr.slice(-3000)}`));
        } else {
          waiters.push(check);
        }
      };
      check();
    });

  const listening = await waitForEvent((e) => e.event === 'listening');
  return {
    url: listening.url as string,
    child,
    stderr: () => stderr,
    events,
    waitForEvent,
    exited,
    async stop(signal = 'SIGTERM') {
      if (exitCode === undefined) child.kill(signal);
      return exited;
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/**
 * One request on its own connection through node:http, resolving when the answer is
 * complete even if the server answered before reading the whole body (413).
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string | number>; body?: Buffer | string; onRequest?: (req: import('node:http').ClientRequest) => void },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(url, { method: options.method ?? 'POST', headers: options.headers, agent: false }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', (error) => {
      // Writing the rest of a refused body may fail once the server closed: the answer counts.
      if (!answered) reject(error);
    });
    if (options.onRequest !== undefined) options.onRequest(req);
    else req.end(options.body);
  });
}
