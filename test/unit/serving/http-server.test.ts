/**
 * The HTTP layer with real sockets on loopback (issue 17): the drain answers every request
 * already received and counts what it cuts; the connection cap evicts slow and idle
 * connections so good requests keep being answered; silent and slow clients are cut.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer, type RunningServer } from '../../../src/core/serving/http-server.js';
import type { ServeHandler } from '../../../src/core/serving/prediction-handler.js';
import { createServingMetrics } from '../../../src/core/serving/serving-metrics.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** /fast answers at once (413 over the limit), /quick after 100 ms, /slow after 1.5 s, /hang never; the body's length is echoed. */
function testHandler(): ServeHandler & { draining: boolean } {
  const answer = (body: Buffer) => ({ status: 200, contentType: 'application/json', body: JSON.stringify({ bytes: body.length }) });
  return {
    draining: false,
    setDraining(value) {
      this.draining = value;
    },
    handle(request) {
      if (request.url === '/slow') return sleep(1_500).then(() => answer(request.body));
      if (request.url === '/quick') return sleep(100).then(() => answer(request.body));
      if (request.url === '/hang') return new Promise(() => {});
      if (request.bodyTooLarge === true) return { status: 413, contentType: 'application/json', body: '{"error":{"code":"BODY_TOO_LARGE"}}' };
      return answer(request.body);
    },
  };
}

let running: RunningServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await running?.close(0);
  running = undefined;
});

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.on('error', reject);
    sockets.push(socket);
  });
}

function requestText(path: string, body = '{"a":1}', keepAlive = false): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${keepAlive ? '' : ''}\r\n${body}`;
}

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
  /** The connection ended (FIN) or reset after the answer. */
  ended: 'end' | 'reset' | 'open';
}

/** Reads one HTTP/1.1 answer (Content-Length framed) from a raw socket. */
function readAnswer(socket: Socket, timeoutMs = 10_000, waitForEndMs = 300): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let data = '';
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms; got ${JSON.stringify(data.slice(0, 200))}`)), timeoutMs);
    const parse = (): RawAnswer | undefined => {
      const split = data.indexOf('\r\n\r\n');
      if (split < 0) return undefined;
      const headers = data.slice(0, split);
      const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
      const body = data.slice(split + 4);
      if (Buffer.byteLength(body) < length) return undefined;
      return { status: Number(headers.split(' ')[1]), headers, body, ended: 'open' };
    };
    const finish = (result: RawAnswer | Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const answer = parse();
      if (answer !== undefined) {
        // See whether the server closes the connection after it.
        socket.once('end', () => finish({ ...answer, ended: 'end' }));
        setTimeout(() => finish(answer), waitForEndMs);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const answer = parse();
      if (answer !== undefined) finish({ ...answer, ended: 'reset' });
      else finish(new Error(`${error.code ?? error.message} before an answer on ${String((socket as unknown as { tag?: string }).tag)}; got ${JSON.stringify(data.slice(0, 200))}`));
    });
    socket.on('end', () => {
      const answer = parse();
      finish(answer === undefined ? new Error(`connection ended without an answer; got ${JSON.stringify(data.slice(0, 200))}`) : { ...answer, ended: 'end' });
    });
  });
}

function closedWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.resume();
  });
}

describe('the drain (SIGTERM)', () => {
  it('answers every request already received, and those arriving on open connections within the grace, with Connection: close', async () => {
    const handler = testHandler();
    // A grace long enough for the late request below on a loaded machine.
    running = await startHttpServer({ host: '127.0.0.1', port: 0, handler, drainGraceMs: 2_000 });
    const port = running.port;
    // Waiting for a slow answer.
    const waiting = await Promise.all(Array.from({ length: 20 }, () => open(port)));
    waiting.forEach((s, i) => ((s as unknown as { tag: string }).tag = `waiting${i}`));
    for (const s of waiting) s.write(requestText('/slow'));
    // Headers sent, body still coming.
    const partial = await Promise.all(Array.from({ length: 5 }, () => open(port)));
    partial.forEach((s, i) => ((s as unknown as { tag: string }).tag = `partial${i}`));
    const body = JSON.stringify({ padding: 'x'.repeat(1000) });
    for (const s of partial) s.write(requestText('/fast', body).slice(0, -500));
    // Idle keep-alive connections, one answer behind them.
    const idle = await Promise.all(Array.from({ length: 3 }, () => open(port)));
    idle.forEach((s, i) => ((s as unknown as { tag: string }).tag = `idle${i}`));
    for (const s of idle) {
      s.write(requestText('/fast'));
      expect((await readAnswer(s)).status).toBe(200);
    }
    // Connected, nothing sent yet.
    const silent = await Promise.all(Array.from({ length: 2 }, () => open(port)));
    await sleep(50);
    // Fully sent at the moment the drain starts, on new connections.
    const justSent = await Promise.all(Array.from({ length: 5 }, () => open(port)));
    justSent.forEach((s, i) => ((s as unknown as { tag: string }).tag = `just${i}`));
    const answers = [...waiting, ...justSent].map((s) => readAnswer(s));
    for (const s of justSent) s.write(requestText('/fast'));
    expect(handler.draining).toBe(false);
    const drained = running.close(5_000);
    expect(handler.draining).toBe(true);
    // The partial bodies complete after the drain began; one idle connection sends another request.
    await sleep(50);
    const partialAnswers = partial.map((s) => readAnswer(s));
    for (const s of partial) s.write(body.slice(-500));
    const lateAnswer = readAnswer(idle[0]!);
    idle[0]!.write(requestText('/fast'));
    for (const answer of [...(await Promise.all(answers)), ...(await Promise.all(partialAnswers)), await lateAnswer]) {
      expect(answer.status).toBe(200);
      expect(answer.headers).toMatch(/connection: close/i);
      expect(answer.ended).toBe('end');
    }
    const report = await drained;
    expect(report).toMatchObject({ answered: 31, cutRequests: 0, cutPartial: 0 });
    expect(report.closedIdle).toBe(4);
    for (const s of [...idle, ...silent]) expect(await closedWithin(s, 1_000)).toBe(true);
    // The listener is closed: a new connection is refused, never reset after sending.
    await expect(open(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('cuts what is left at the deadline and counts it truthfully', async () => {
    running = await startHttpServer({ host: '127.0.0.1', port: 0, handler: testHandler(), drainGraceMs: 50 });
    const hanging = await Promise.all(Array.from({ length: 3 }, () => open(running!.port)));
    for (const s of hanging) s.write(requestText('/hang'));
    const partial = await open(running.port);
    partial.write(requestText('/fast').slice(0, 30));
    const answered = await open(running.port);
    answered.write(requestText('/quick'));
    const answer = readAnswer(answered);
    await sleep(50);
    const report = await running.close(400);
    expect(report).toMatchObject({ answered: 1, cutRequests: 3, cutPartial: 1 });
    expect((await answer).status).toBe(200);
    for (const s of [...hanging, partial]) expect(await closedWithin(s, 1_000)).toBe(true);
  });
});

describe('bodies over the limit', () => {
  it('reads a refused body to its end before answering 413, so the client, still sending, reads the answer and may go on', async () => {
    running = await startHttpServer({ host: '127.0.0.1', port: 0, handler: testHandler(), bodyLimitBytes: 64 * 1024 });
    const socket = await open(running.port);
    const body = 'x'.repeat(3 * 1024 * 1024);
    const first = readAnswer(socket, 10_000, 0);
    socket.write(`POST /fast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    const refused = await first;
    expect(refused.status).toBe(413);
    expect(refused.ended).toBe('open');
    // The same connection answers the next request.
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    const next = readAnswer(socket, 10_000, 0);
    socket.write(requestText('/fast'));
    expect((await next).status).toBe(200);
  });
});

describe('connection cap and timeouts (slowloris, fd exhaustion)', () => {
  it('evicts slow and idle connections at the cap, so good requests keep being answered', async () => {
    const metrics = createServingMetrics();
    running = await startHttpServer({ host: '127.0.0.1', port: 0, handler: testHandler(), maxConnections: 30, metrics });
    const port = running.port;
    // Twice the cap of slowloris sockets, one header byte every 100 ms.
    const header = requestText('/fast');
    const slow = await Promise.all(Array.from({ length: 60 }, () => open(port).catch(() => undefined)));
    let at = 0;
    const drip = setInterval(() => {
      for (const s of slow) if (s !== undefined && !s.destroyed) s.write(header.charAt(at % 10));
      at++;
    }, 100);
    try {
      let good = 0;
      for (let i = 0; i < 40; i++) {
        const s = await open(port);
        s.write(requestText('/fast'));
        const answer = await readAnswer(s, 10_000, 0);
        if (answer.status === 200) good++;
        s.destroy();
      }
      expect(good).toBe(40);
      expect(running.connections).toBeLessThanOrEqual(30);
    } finally {
      clearInterval(drip);
    }
    const text = metrics.registry.render();
    expect(Number(/mlctl_http_connections_closed_total\{reason="evicted"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(30);
  });

  it('evicts the connection idle longest, never one waiting for its answer', async () => {
    running = await startHttpServer({ host: '127.0.0.1', port: 0, handler: testHandler(), maxConnections: 4 });
    const port = running.port;
    const [a, b, c, d] = [await open(port), await open(port), await open(port), await open(port)];
    // a is answered after b, c and d connected: it is the most recently idle of the idle ones.
    a!.write(requestText('/fast'));
    expect((await readAnswer(a!, 10_000, 0)).status).toBe(200);
    a!.removeAllListeners('data');
    // d waits for a slow answer: busy, not evictable.
    d!.write(requestText('/slow'));
    const slow = readAnswer(d!, 10_000, 0);
    await sleep(100);
    // Each new connection evicts the oldest idle one: b, then c, then a.
    for (const evicted of [b!, c!, a!]) {
      await open(port);
      expect(await closedWithin(evicted, 5_000)).toBe(true);
    }
    expect((await slow).status).toBe(200);
  });

  it('cuts a connection that sends nothing, and one that sends its headers too slowly, within seconds', async () => {
    const metrics = createServingMetrics();
    running = await startHttpServer({ host: '127.0.0.1', port: 0, handler: testHandler(), headersTimeoutMs: 600, requestTimeoutMs: 1_000, metrics });
    const silent = await open(running.port);
    const dripping = await open(running.port);
    const header = requestText('/fast');
    let at = 0;
    const drip = setInterval(() => {
      if (!dripping.destroyed) dripping.write(header.charAt(at++));
    }, 100);
    try {
      const started = Date.now();
      expect(await closedWithin(silent, 3_000)).toBe(true);
      expect(await closedWithin(dripping, 4_000)).toBe(true);
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      clearInterval(drip);
    }
    expect(metrics.registry.render()).toContain('mlctl_http_connections_closed_total{reason="idle-timeout"} 1');
    // A good request is still answered.
    const good = await open(running.port);
    good.write(requestText('/fast'));
    expect((await readAnswer(good)).status).toBe(200);
  });
});
