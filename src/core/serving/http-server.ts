import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import type { Counter, GaugeChild } from './metrics-registry.js';
import { MAX_BODY_BYTES, type ServeHandler, type ServeResponse } from './prediction-handler.js';

/** Defaults for the protections; `mlctl serve` flags override them. */
export const SERVER_DEFAULTS = Object.freeze({
  /** Idle keep-alive connections close after this. */
  keepAliveTimeoutMs: 5_000,
  /** A request's headers must arrive within this of its first byte (slowloris is cut here). */
  headersTimeoutMs: 10_000,
  /** A whole request, body included, must arrive within this. */
  requestTimeoutMs: 30_000,
  /** Open connections at most; see `defaultMaxConnections`. */
  maxConnections: 1_024,
  /** How long a drain waits for an idle or new connection to send a request. */
  drainGraceMs: 1_000,
});

/**
 * Connections a drain takes in from the listen backlog at most before closing the listener
 * (Node listens with a backlog of 511; clients that keep connecting cannot hold it open).
 */
const BACKLOG_ACCEPTS = 1_024;

/** A refused body declared larger than this is not read to its end: the connection closes. */
const LINGER_LIMIT_BYTES = 64 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

/** File descriptors kept back from --max-connections: model files, the database, logs, a reload. */
const RESERVED_FDS = 256;

/**
 * The default connection cap under a file-descriptor limit: the limit less what the
 * daemon needs besides sockets, at most 8,192 (plenty for a CPU-bound model server).
 */
export function defaultMaxConnections(fdLimit: number | undefined): number {
  if (fdLimit === undefined || !Number.isFinite(fdLimit)) return SERVER_DEFAULTS.maxConnections;
  return Math.max(32, Math.min(8_192, Math.floor(fdLimit) - RESERVED_FDS));
}

export interface HttpServerMetrics {
  readonly connections: GaugeChild;
  /** reason: evicted, refused, idle-timeout */
  readonly connectionsClosed: Counter;
}

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port; RunningServer.port says which. */
  readonly port: number;
  readonly handler: ServeHandler;
  readonly bodyLimitBytes?: number;
  readonly keepAliveTimeoutMs?: number;
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /**
   * Open connections at most. At the cap a new connection evicts the oldest one that is
   * idle or has not finished sending its headers (slowloris holds exactly those); with
   * none to evict it is closed at once. Either way no file descriptor is held for it.
   */
  readonly maxConnections?: number;
  readonly drainGraceMs?: number;
  readonly metrics?: HttpServerMetrics;
  readonly clock?: () => number;
}

/** What a drain did: requests answered while draining, and what it had to cut. */
export interface DrainReport {
  /** Requests answered after the drain began. */
  readonly answered: number;
  /** Requests unanswered at the deadline whose headers had arrived (their body may still have been coming). */
  readonly cutRequests: number;
  /** Connections cut while sending the headers of a request. */
  readonly cutPartial: number;
  /** Idle connections closed with nothing received. */
  readonly closedIdle: number;
  readonly ms: number;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Requests received and not yet answered. */
  readonly inFlight: number;
  /** Open client connections. */
  readonly connections: number;
  /**
   * Drains: stops accepting (after taking in the connections the kernel already
   * completed), answers every request already received and any that arrives on an open
   * connection within the grace, each with `Connection: close`, closes connections that
   * stay silent, and resolves when every connection is closed, or at `timeoutMs` by cutting
   * what is left, counted in the report.
   */
  close(timeoutMs: number): Promise<DrainReport>;
}

/** Runs `fn` after the event loop's next poll phase (the first immediate may come before it). */
function afterPoll(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

/**
 * A request's Content-Length as a number, 0 when absent or shorter than `digits` digits
 * (under every limit, so not worth a number: converting a fresh string is a runtime call).
 * The HTTP parser has already refused a malformed one.
 */
function declaredLength(header: string | undefined, digits: number): number {
  return header === undefined || header.length < digits ? 0 : Number(header);
}

/** Per-connection bookkeeping, kept on the socket itself. */
interface Connection {
  /** Requests received and not yet answered (more than one only when pipelined). */
  active: number;
  /** socket.bytesRead when it last became idle: more since then means a request is arriving. */
  bytesAtIdle: number;
  /** Requests answered on it. */
  served: number;
  closed: boolean;
  /** When it last became idle (connected, or answered its last request), as a running count. */
  idleSince: number;
  /** `idleSince` when it took its place in the order of `open`; differing, it has been busy since. */
  placedAt: number;
  /** The peer's address, read once. */
  readonly clientIp: string;
}

const CONNECTION = Symbol('mlctl.connection');
type TrackedSocket = Socket & { [CONNECTION]?: Connection };

/**
 * Serves `handler` over node:http: keep-alive, Nagle off, bodies kept up to the limit
 * (over it: read to the end and dropped, then 413), a connection cap with eviction, header
 * and request timeouts, and a drain that answers what was received.
 */
export function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const limit = options.bodyLimitBytes ?? MAX_BODY_BYTES;
  const clock = options.clock ?? (() => performance.now());
  const cap = Math.max(1, options.maxConnections ?? SERVER_DEFAULTS.maxConnections);
  const headersTimeout = options.headersTimeoutMs ?? SERVER_DEFAULTS.headersTimeoutMs;
  const requestTimeout = Math.max(options.requestTimeoutMs ?? SERVER_DEFAULTS.requestTimeoutMs, headersTimeout);
  const { handler, metrics } = options;
  /** Digits of a declared length that could reach a limit: shorter ones are under both. */
  const shortDigits = String(Math.min(limit, LINGER_LIMIT_BYTES)).length;
  let inFlight = 0;
  /** Connections accepted so far (the drain watches it to empty the listen backlog). */
  let accepted = 0;
  let draining = false;
  let answeredWhileDraining = 0;
  let onSettled: (() => void) | undefined;
  /**
   * Open connections, roughly in the order they last became idle. A request only stamps its
   * connection; eviction puts the stamped ones back in order as it looks for the oldest idle
   * one, so the order costs nothing per request.
   */
  const open = new Map<TrackedSocket, Connection>();
  let idleStamp = 0;

  const closeConnection = (socket: TrackedSocket, reason: string | undefined): void => {
    const connection = socket[CONNECTION];
    if (connection !== undefined) connection.closed = true;
    if (reason !== undefined) metrics?.connectionsClosed.labels(reason).inc();
    socket.destroy();
  };

  const send = (res: ServerResponse, response: ServeResponse, closeAfter: boolean): void => {
    const headers: Record<string, string | number> = {
      'content-type': response.contentType,
      'content-length': Buffer.byteLength(response.body),
      ...response.headers,
    };
    if (closeAfter || draining) headers.connection = 'close';
    res.writeHead(response.status, headers);
    res.end(response.body);
  };

  const finish = (req: IncomingMessage): void => {
    inFlight--;
    if (draining) answeredWhileDraining++;
    const socket = req.socket as TrackedSocket;
    const connection = socket[CONNECTION];
    if (connection !== undefined) connection.served++;
    if (connection !== undefined && !connection.closed && --connection.active === 0 && !socket.destroyed) {
      connection.bytesAtIdle = socket.bytesRead;
      connection.idleSince = ++idleStamp;
    }
    if (draining) onSettled?.();
  };

  /** Answers a request; only a body declared over LINGER_LIMIT_BYTES closes the connection after it. */
  const answer = (req: IncomingMessage, res: ServerResponse, body: Buffer, tooLarge: boolean, startedAt: number): void => {
    const closeAfter = tooLarge && Number(req.headers['content-length'] ?? 0) > LINGER_LIMIT_BYTES;
    const request = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      contentType: req.headers['content-type'],
      authorization: req.headers.authorization,
      body,
      bodyTooLarge: tooLarge,
      clientIp: (req.socket as TrackedSocket)[CONNECTION]?.clientIp ?? req.socket.remoteAddress ?? 'unknown',
      startedAt,
    };
    let result: ServeResponse | Promise<ServeResponse>;
    try {
      result = handler.handle(request);
    } catch {
      result = Promise.reject(new Error('handler threw'));
    }
    if (!(result instanceof Promise)) {
      send(res, result, closeAfter);
      finish(req);
      return;
    }
    result
      .then(
        (response) => send(res, response, closeAfter),
        // The handler turns every error into a response; this is the last resort.
        () => send(res, { status: 500, contentType: 'application/json', body: '{"error":{"code":"INTERNAL","message":"internal error"}}' }, true),
      )
      .finally(() => finish(req));
  };

  /**
   * The connection idle longest (no request in progress), or undefined when every one is
   * busy. Connections busy or used since they were placed go to the back on the way, in the
   * order met, so among those it is nearly the longest: eviction needs no more.
   */
  const oldestIdle = (): TrackedSocket | undefined => {
    // Two passes at most: after one, every connection is in place.
    for (let left = 2 * open.size; left > 0; left--) {
      const first = open.entries().next();
      if (first.done === true) return undefined;
      const [socket, connection] = first.value;
      if (!connection.closed && connection.active === 0 && connection.placedAt === connection.idleSince) return socket;
      connection.placedAt = connection.idleSince;
      open.delete(socket);
      open.set(socket, connection);
    }
    return undefined;
  };

  const server = createServer({ noDelay: true, keepAlive: true, requestTimeout, headersTimeout, connectionsCheckingInterval: 1_000 }, (req, res) => {
    const startedAt = clock();
    inFlight++;
    const socket = req.socket as TrackedSocket;
    const connection = socket[CONNECTION];
    if (connection !== undefined) connection.active++;
    const declared = declaredLength(req.headers['content-length'], shortDigits);
    if (declared > LINGER_LIMIT_BYTES) {
      // Far too large to read through: refuse at once; the connection closes after the answer.
      answer(req, res, EMPTY, true, startedAt);
      req.resume();
      return;
    }
    // Over the limit, the rest of the body is read and dropped, and the 413 comes at its end:
    // Node closes a connection answered before its request was read, and the client, still
    // sending, would then be reset before reading the answer.
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > limit;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      answer(req, res, tooLarge ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), tooLarge, startedAt);
    });
    req.on('error', () => {
      // A client that disconnects mid-body gets no answer; its slot is freed.
      if (done) return;
      done = true;
      finish(req);
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? SERVER_DEFAULTS.keepAliveTimeoutMs;
  // Node's header timeout starts at a request's first byte; a connection that sends nothing
  // at all is closed after the same time by a socket timeout set when it connects (Node
  // replaces it with the keep-alive timeout after the first answer). Socket timeouts come
  // here rather than closing the socket, so a connection whose request is being answered
  // is never cut by one.
  server.on('timeout', (socket: TrackedSocket) => {
    const connection = socket[CONNECTION];
    if (connection === undefined || connection.active > 0) return;
    // After two poll phases: a busy loop may not have read what the kernel already holds.
    afterPoll(() =>
      afterPoll(() => {
        if (connection.closed || connection.active > 0 || socket.bytesRead > connection.bytesAtIdle) return;
        // A keep-alive connection's idle time running out is routine; one that never sent a request is counted.
        closeConnection(socket, connection.served === 0 ? 'idle-timeout' : undefined);
      }),
    );
  });

  server.on('connection', (socket: TrackedSocket) => {
    accepted++;
    if (open.size >= cap) {
      const oldest = oldestIdle();
      if (oldest === undefined) {
        metrics?.connectionsClosed.labels('refused').inc();
        socket.destroy();
        return;
      }
      closeConnection(oldest, 'evicted');
    }
    idleStamp++;
    const connection: Connection = { active: 0, bytesAtIdle: 0, served: 0, closed: false, idleSince: idleStamp, placedAt: idleStamp, clientIp: socket.remoteAddress ?? 'unknown' };
    socket[CONNECTION] = connection;
    socket.setTimeout(headersTimeout);
    open.set(socket, connection);
    metrics?.connections.inc();
    socket.once('close', () => {
      connection.closed = true;
      open.delete(socket);
      metrics?.connections.dec();
      if (draining) onSettled?.();
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve({
        host: address.address,
        port: address.port,
        url: `http://${host}:${address.port}`,
        get inFlight() {
          return inFlight;
        },
        get connections() {
          return open.size;
        },
        close: (timeoutMs) => drain(timeoutMs),
      });
    });
  });

  function drain(timeoutMs: number): Promise<DrainReport> {
    const started = clock();
    draining = true;
    handler.setDraining(true);
    let closedIdle = 0;
    const listenerClosed = new Promise<void>((done) => {
      // Connections the kernel completed before the signal wait in the listen backlog, and
      // closing the listener would reset them, requests and all. libuv accepts one per loop
      // iteration, so keep turning until an iteration accepts none (or BACKLOG_ACCEPTS were
      // taken in, when clients keep connecting), then close. The listener is closed as a
      // net.Server: http.Server#close would also drop every connection that has not sent
      // its request yet.
      let seen = accepted;
      const first = accepted;
      const closeListener = (): void => {
        NetServer.prototype.close.call(server, () => done());
      };
      // Each round runs in a check phase; the immediate it schedules runs after the next poll.
      const round = (): void => {
        if (accepted === seen || accepted - first >= BACKLOG_ACCEPTS) closeListener();
        else {
          seen = accepted;
          setImmediate(round);
        }
      };
      setImmediate(() => {
        seen = accepted;
        setImmediate(round);
      });
    });
    const grace = Math.min(options.drainGraceMs ?? SERVER_DEFAULTS.drainGraceMs, timeoutMs);
    /**
     * Closes quiet connections on which nothing arrived since they became idle, judged over
     * two poll phases: a loop kept busy by scoring may not have read what the kernel holds,
     * and a connection accepted in one poll phase is first read in the next.
     */
    const sweepSilent = (): void =>
      afterPoll(() => {
        const silent = [...open].filter(([socket, connection]) => connection.active === 0 && socket.bytesRead === connection.bytesAtIdle);
        afterPoll(() => {
          for (const [socket, connection] of silent) {
            if (!connection.closed && connection.active === 0 && socket.bytesRead === connection.bytesAtIdle) {
              closedIdle++;
              closeConnection(socket, undefined);
            }
          }
        });
      });
    return new Promise<DrainReport>((resolve) => {
      let done = false;
      const timers: NodeJS.Timeout[] = [];
      const report = (cutRequests: number, cutPartial: number): void => {
        if (done) return;
        done = true;
        onSettled = undefined;
        for (const t of timers) clearTimeout(t);
        void listenerClosed.then(() =>
          resolve({ answered: answeredWhileDraining, cutRequests, cutPartial, closedIdle, ms: Math.round(clock() - started) }),
        );
      };
      onSettled = () => {
        if (open.size === 0 && inFlight === 0) report(0, 0);
      };
      // The grace lets a request already on its way over an idle connection arrive; then silence closes.
      timers.push(setTimeout(sweepSilent, grace));
      timers.push(
        setTimeout(
          () =>
            // Counted after two poll phases, so bytes the kernel already holds are read and counted.
            afterPoll(() => afterPoll(() => {
              if (done) return;
              const cutRequests = inFlight;
              let cutPartial = 0;
              for (const socket of [...open.keys()]) {
                const connection = socket[CONNECTION];
                if (connection !== undefined && connection.active === 0 && socket.bytesRead > connection.bytesAtIdle) cutPartial++;
                closeConnection(socket, undefined);
              }
              report(cutRequests, cutPartial);
            })),
          timeoutMs,
        ),
      );
      onSettled();
    });
  }
}
