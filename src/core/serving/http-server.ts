import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_BODY_BYTES, type ServeHandler, type ServeResponse } from './prediction-handler.js';

export interface HttpServerOptions {
  readonly host: string;
  /** 0 picks a free port; RunningServer.port says which. */
  readonly port: number;
  readonly handler: ServeHandler;
  readonly bodyLimitBytes?: number;
  /** Idle keep-alive connections close after this (default 5 s). */
  readonly keepAliveTimeoutMs?: number;
  /** A request must arrive completely within this (default 30 s; slow clients cannot hold sockets). */
  readonly requestTimeoutMs?: number;
  readonly clock?: () => number;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Requests received and not yet answered. */
  readonly inFlight: number;
  /**
   * Stops accepting connections, closes idle keep-alive ones, lets requests in flight
   * finish (answering with `Connection: close`), and resolves when all are answered, or
   * after `timeoutMs` by cutting what is left. Resolves to the number of requests cut.
   */
  close(timeoutMs: number): Promise<number>;
}

/**
 * Serves `handler` over node:http: keep-alive, Nagle off, bodies read up to the limit
 * (over it: 413 without reading the rest, then the connection closes), and a clean drain.
 */
export function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const limit = options.bodyLimitBytes ?? MAX_BODY_BYTES;
  const clock = options.clock ?? (() => performance.now());
  const { handler } = options;
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | undefined;

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

  const finish = (): void => {
    inFlight--;
    if (inFlight === 0 && draining) drained?.();
  };

  const answer = (req: IncomingMessage, res: ServerResponse, body: Buffer, tooLarge: boolean, startedAt: number): void => {
    handler
      .handle({
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        body,
        bodyTooLarge: tooLarge,
        clientIp: req.socket.remoteAddress ?? 'unknown',
        startedAt,
      })
      .then(
        (response) => send(res, response, tooLarge),
        // The handler turns every error into a response; this is the last resort.
        () => send(res, { status: 500, contentType: 'application/json', body: '{"error":{"code":"INTERNAL","message":"internal error"}}' }, true),
      )
      .finally(finish);
  };

  const server = createServer({ noDelay: true, keepAlive: true, requestTimeout: options.requestTimeoutMs ?? 30_000 }, (req, res) => {
    const startedAt = clock();
    inFlight++;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      // Refuse before reading a byte; the connection closes after the answer.
      answer(req, res, Buffer.alloc(0), true, startedAt);
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let answered = false;
    req.on('data', (chunk: Buffer) => {
      if (answered) return;
      size += chunk.length;
      if (size > limit) {
        answered = true;
        chunks.length = 0;
        answer(req, res, Buffer.alloc(0), true, startedAt);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (answered) return;
      answered = true;
      answer(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), false, startedAt);
    });
    req.on('error', () => {
      // A client that disconnects mid-body gets no answer; its slot is freed.
      if (answered) return;
      answered = true;
      finish();
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5_000;
  server.headersTimeout = Math.min(server.requestTimeout > 0 ? server.requestTimeout : 60_000, 20_000);

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
        close(timeoutMs) {
          draining = true;
          handler.setDraining(true);
          const closed = new Promise<void>((done) => server.close(() => done()));
          server.closeIdleConnections();
          const allAnswered = inFlight === 0 ? Promise.resolve() : new Promise<void>((done) => (drained = done));
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<'timeout'>((done) => {
            timer = setTimeout(() => done('timeout'), timeoutMs);
          });
          return Promise.race([allAnswered.then(() => 'drained' as const), timedOut]).then(async (outcome) => {
            clearTimeout(timer);
            const cut = outcome === 'timeout' ? inFlight : 0;
            // Answered keep-alive sockets were told to close; cut whatever is still open.
            server.closeIdleConnections();
            if (outcome === 'timeout') server.closeAllConnections();
            else setTimeout(() => server.closeAllConnections(), 1_000).unref();
            await closed;
            return cut;
          });
        },
      });
    });
  });
}
