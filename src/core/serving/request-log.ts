import { createHmac, randomBytes } from 'node:crypto';

/**
 * The daemon's log: JSON lines on stderr. Client IPs are pseudonymised with a keyed HMAC
 * (a random key per process unless one is configured), so a log line cannot be joined to a
 * person without the key; input records and prediction values are never logged. Lines are
 * buffered and written once per event-loop turn (or when 64 KiB pile up), so logging stays
 * a small part of a request's cost.
 */

/** Where log text goes; `write` as on a Writable (stderr). */
export interface LogSink {
  write(text: string): unknown;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface RequestLogEntry {
  readonly method: string;
  /** The path without its query string (a query can carry personal data). */
  readonly path: string;
  readonly route: string;
  readonly status: number;
  readonly ms: number;
  readonly client: string;
  readonly bytesIn: number;
  readonly records?: number;
  /** The error code of a 4xx/5xx answer. */
  readonly error?: string;
}

export interface ServeLogger {
  /** One access-log line (skipped when access logging is off). */
  request(entry: RequestLogEntry): void;
  /** A daemon event: started, reloaded, draining, a database failure… */
  event(level: LogLevel, event: string, fields?: Readonly<Record<string, unknown>>): void;
  /** The pseudonym of a client address. */
  pseudonymize(ip: string): string;
  /** Writes what is buffered now. */
  flush(): void;
}

export interface ServeLoggerOptions {
  readonly sink: LogSink;
  /** HMAC key for client pseudonyms; default 32 random bytes (pseudonyms change per process). */
  readonly ipKey?: Uint8Array;
  /** Write one line per request (default true). */
  readonly accessLog?: boolean;
  readonly clock?: () => number;
  /** Print debug events (default false). */
  readonly debug?: boolean;
  /**
   * Several processes write to the same stderr (serve --workers): write whole lines in
   * pieces a pipe writes atomically (PIPE_BUF, 4 KiB), so lines never interleave.
   */
  readonly sharedSink?: boolean;
  /** The worker of `serve --workers N` writing, added to every access-log line. */
  readonly worker?: number;
}

const FLUSH_BYTES = 64 * 1024;
/** UTF-16 units that encode to at most 4,096 bytes of UTF-8 (3 bytes per unit at most). */
const ATOMIC_UNITS = 1_360;
/** Distinct clients remembered; the cache is cleared when it fills, which bounds its memory. */
const PSEUDONYM_CACHE = 4096;

/**
 * Date.now() read at most once per millisecond of monotonic time: it is a runtime call, and
 * at thousands of lines a second most lines share the millisecond anyway.
 */
function coarseWallClock(): () => number {
  let readAt = Number.NEGATIVE_INFINITY;
  let wall = 0;
  return () => {
    const t = performance.now();
    if (t - readAt >= 1) {
      readAt = t;
      wall = Date.now();
    }
    return wall;
  };
}

export function createServeLogger(options: ServeLoggerOptions): ServeLogger {
  const key = options.ipKey ?? randomBytes(32);
  const clock = options.clock ?? coarseWallClock();
  const accessLog = options.accessLog !== false;
  const workerField = options.worker === undefined ? '' : `,"worker":${options.worker}`;
  const pseudonyms = new Map<string, string>();
  let buffer = '';
  let scheduled = false;
  // Thousands of lines a second share a millisecond: format each millisecond once.
  let stampedAt = Number.NaN;
  let stamp = '';
  const timestamp = (): string => {
    const now = clock();
    if (now !== stampedAt) {
      stampedAt = now;
      stamp = new Date(now).toISOString();
    }
    return stamp;
  };

  const flush = (): void => {
    scheduled = false;
    if (buffer === '') return;
    const text = buffer;
    buffer = '';
    if (options.sharedSink !== true || text.length <= ATOMIC_UNITS) {
      options.sink.write(text);
      return;
    }
    let start = 0;
    while (start < text.length) {
      let end = Math.min(text.length, start + ATOMIC_UNITS);
      if (end < text.length) {
        const lastBreak = text.lastIndexOf('\n', end - 1);
        // A single line longer than a piece is written in pieces anyway.
        if (lastBreak >= start) end = lastBreak + 1;
      }
      options.sink.write(text.slice(start, end));
      start = end;
    }
  };

  const push = (line: string): void => {
    buffer += line;
    if (buffer.length >= FLUSH_BYTES) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  // `"method":…,"path":…,"route":…` for the few (path, method) pairs routes have, built once.
  const wheres = new Map<string, Map<string, string>>();
  const whereOf = (entry: RequestLogEntry): string => {
    let byMethod = wheres.get(entry.path);
    let where = byMethod?.get(entry.method);
    if (where === undefined) {
      where = `"method":${JSON.stringify(entry.method)},"path":${JSON.stringify(entry.path)},"route":"${entry.route}"`;
      // Paths with ids (/users/42) are many: cache only while the table stays small.
      if (byMethod === undefined && wheres.size < 256) wheres.set(entry.path, (byMethod = new Map()));
      if (byMethod !== undefined && byMethod.size < 16) byMethod.set(entry.method, where);
    }
    return where;
  };

  const pseudonymize = (ip: string): string => {
    let value = pseudonyms.get(ip);
    if (value === undefined) {
      value = createHmac('sha256', key).update(ip).digest('base64url').slice(0, 16);
      if (pseudonyms.size >= PSEUDONYM_CACHE) pseudonyms.clear();
      pseudonyms.set(ip, value);
    }
    return value;
  };

  return {
    request(entry) {
      if (!accessLog) return;
      // Built by hand: every field but path and error is a number or a fixed word.
      let line = `{"time":"${timestamp()}","level":"info","event":"request",${whereOf(entry)},"status":${entry.status},"ms":${Math.round(entry.ms * 1000) / 1000},"client":"${entry.client}","bytes_in":${entry.bytesIn}`;
      if (entry.records !== undefined) line += `,"records":${entry.records}`;
      if (entry.error !== undefined) line += `,"error":${JSON.stringify(entry.error)}`;
      push(`${line}${workerField}}\n`);
    },
    event(level, event, fields = {}) {
      if (level === 'debug' && options.debug !== true) return;
      push(`${JSON.stringify({ time: timestamp(), level, event, ...fields })}\n`);
      if (level !== 'debug') flush();
    },
    pseudonymize,
    flush,
  };
}
