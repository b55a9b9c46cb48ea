/**
 * Issue 17 against the built binary, with real sockets: SIGTERM answers every request
 * already received and counts truthfully what it cuts; slowloris at a few thousand
 * sockets (sized to this machine's fd limit) does not stop good requests.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_RECORD } from '../helpers/cli.js';
import { SEED_BODY, writeIncomeBundle, type IncomeBundle } from '../unit/serving/fixture.js';
import { startDaemon, type Daemon } from './serve-helpers.js';

let bundle: IncomeBundle;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  bundle = await writeIncomeBundle({ seed: 5 });
});
afterAll(() => bundle.cleanup());

function serve(args: readonly string[]): Promise<Daemon> {
  return startDaemon(['--model', bundle.dir, '--no-database', '--no-access-log', ...args], { cwd: bundle.root, env: { MLCTL_API_TOKEN: undefined } });
}

interface Outcome {
  readonly status?: number;
  readonly body?: string;
  readonly connectionHeader?: string;
  /** The failure, when there was no complete answer. */
  readonly error?: string;
  /** When the client saw its connection established, and when its request was fully written. */
  readonly connectedAt?: number;
  readonly sentAt?: number;
}

/** One POST on its own connection; records when it connected and when the request was fully written. */
function post(url: string, path: string, body: Buffer | string, options: { holdBackBytes?: number; release?: Promise<void> } = {}): Promise<Outcome> {
  return send(url, path, body, options).answer;
}

/**
 * One POST on its own connection: `sent` resolves when the request (or, holding some back,
 * all but the held-back bytes) is handed to the kernel; `answer` when the answer is complete.
 */
function send(url: string, path: string, body: Buffer | string, options: { holdBackBytes?: number; release?: Promise<void> } = {}): { sent: Promise<void>; answer: Promise<Outcome> } {
  let markSent!: () => void;
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  const answer = new Promise<Outcome>((resolve) => {
    let connectedAt: number | undefined;
    let sentAt: number | undefined;
    const req = httpRequest(`${url}${path}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), connectionHeader: String(res.headers.connection), connectedAt, sentAt }));
      res.on('error', (error) => resolve({ error: (error as NodeJS.ErrnoException).code ?? error.message, connectedAt, sentAt }));
    });
    req.on('socket', (socket) => socket.once('connect', () => (connectedAt = performance.now())));
    req.on('error', (error) => {
      markSent();
      resolve({ error: (error as NodeJS.ErrnoException).code ?? error.message, connectedAt, sentAt });
    });
    const bytes = Buffer.from(body);
    const hold = options.holdBackBytes ?? 0;
    if (hold === 0) {
      req.end(bytes, () => {
        sentAt = performance.now();
        markSent();
      });
      return;
    }
    req.write(bytes.subarray(0, bytes.length - hold), () => markSent());
    void options.release?.then(() => req.end(bytes.subarray(bytes.length - hold), () => (sentAt = performance.now())));
  });
  return { sent, answer };
}

function batch(records: number): string {
  return JSON.stringify(Array.from({ length: records }, (_, i) => ({ ...SEED_RECORD, id: i, age: 20 + (i % 50) })));
}

describe('SIGTERM drain, end to end', () => {
  it('answers every request already received, completely, each with Connection: close; counts nothing as cut', async () => {
    const daemon = await serve(['--drain-timeout', '30']);
    let releaseBodies!: () => void;
    const bodiesReleased = new Promise<void>((resolve) => (releaseBodies = resolve));
    // 48 clients with a 1,000-record batch fully sent (queued behind each other in the daemon),
    // 16 with their headers and most of the body sent, the rest following after the signal.
    const big = batch(1_000);
    const full = Array.from({ length: 48 }, () => send(daemon.url, '/predict', big));
    const partial = Array.from({ length: 16 }, () => send(daemon.url, '/predict', big, { holdBackBytes: 2_000, release: bodiesReleased }));
    // Everything handed to the kernel: "fully sent" (or all but the held-back bytes).
    await Promise.all([...full, ...partial].map((c) => c.sent));
    daemon.child.kill('SIGTERM');
    await daemon.waitForEvent((e) => e.event === 'draining', 10_000);
    releaseBodies();
    const outcomes = await Promise.all([...full, ...partial].map((c) => c.answer));
    const failed = outcomes.filter((o) => o.status !== 200);
    expect(failed.map((o) => o.error ?? `${o.status} ${o.body?.slice(0, 100)}`)).toEqual([]);
    for (const o of outcomes) {
      expect((JSON.parse(o.body!) as { predictions: unknown[] }).predictions).toHaveLength(1_000);
      expect(o.connectionHeader).toBe('close');
    }
    expect(await daemon.exited).toBe(0);
    expect(daemon.events().find((e) => e.event === 'stopped')).toMatchObject({ cut_requests: 0, cut_partial: 0 });
  }, 120_000);

  it('answers all 16 concurrent 10,000-record batches when SIGTERM comes 0.15 s after them', async () => {
    const daemon = await serve(['--drain-timeout', '60']);
    const body = batch(10_000);
    const answers = Array.from({ length: 16 }, () => post(daemon.url, '/predict', body));
    // As issue 17 measured it: the signal 0.15 s after the batches were started.
    await sleep(150);
    const signalled = performance.now();
    daemon.child.kill('SIGTERM');
    const outcomes = await Promise.all(answers);
    // On failure, say when each client connected and finished sending, against the signal, and what the daemon logged.
    const timeline = `signal at ${Math.round(signalled)} ms; clients [outcome, connected, sent]: ${JSON.stringify(outcomes.map((o) => [o.error ?? o.status, Math.round(o.connectedAt ?? -1), Math.round(o.sentAt ?? -1)]))}\n${daemon
      .events()
      .filter((e) => e.event !== 'request')
      .map((e) => JSON.stringify(e))
      .join('\n')}`;
    expect(outcomes.map((o) => o.error ?? o.status), timeline).toEqual(new Array(16).fill(200));
    for (const o of outcomes) expect((JSON.parse(o.body!) as { predictions: unknown[] }).predictions).toHaveLength(10_000);
    expect(await daemon.exited).toBe(0);
    expect(daemon.events().find((e) => e.event === 'stopped')).toMatchObject({ cut_requests: 0 });
  }, 180_000);

  it('with 64 clients posting on new connections in a loop, answers every request on a connection made before the signal', async () => {
    const daemon = await serve(['--drain-timeout', '30']);
    const body = JSON.stringify(SEED_BODY);
    let signalledAt = Number.POSITIVE_INFINITY;
    const outcomes: Outcome[] = [];
    const clients = Array.from({ length: 64 }, async () => {
      for (;;) {
        const outcome = await post(daemon.url, '/predict_income', body);
        outcomes.push(outcome);
        // Stop once the daemon no longer takes connections.
        if (outcome.error !== undefined && performance.now() > signalledAt) return;
        if (outcome.status !== 200) return;
      }
    });
    await sleep(1_000);
    signalledAt = performance.now();
    daemon.child.kill('SIGTERM');
    await Promise.all(clients);
    expect(await daemon.exited).toBe(0);
    const before = outcomes.filter((o) => o.connectedAt !== undefined && o.connectedAt < signalledAt);
    expect(before.length).toBeGreaterThan(64);
    expect(before.filter((o) => o.status !== 200).map((o) => o.error ?? o.status)).toEqual([]);
    // After the signal a new connection is answered (with Connection: close) until the
    // listener closes, then refused; none of those is counted as cut.
    const after = outcomes.filter((o) => o.connectedAt === undefined || o.connectedAt >= signalledAt);
    const resets = after.filter((o) => o.sentAt !== undefined && o.status === undefined).length;
    expect(daemon.events().find((e) => e.event === 'stopped')).toMatchObject({ cut_requests: 0 });
    // The listener closes once a loop turn takes in no connection: a reset needs a client to
    // connect in the microseconds between that turn and the close. Say how often it happened.
    console.log(`loop: ${before.length} requests on connections made before SIGTERM, all answered; after: ${after.length} (${after.filter((o) => o.status === 200).length} answered, ${resets} reset after sending)`);
    expect(resets).toBeLessThanOrEqual(2);
  }, 120_000);

  it('cuts what is left at --drain-timeout and says exactly how much', async () => {
    const daemon = await serve(['--drain-timeout', '0.5']);
    const body = batch(100);
    // Four requests whose body never completes (headers received: cut requests), one whose
    // headers never complete (a cut partial request), and three that are answered.
    const stalled = Array.from({ length: 4 }, () => send(daemon.url, '/predict', body, { holdBackBytes: 100, release: new Promise(() => {}) }));
    const { port } = new URL(daemon.url);
    const halfHeader = connect({ host: '127.0.0.1', port: Number(port) });
    halfHeader.on('error', () => {});
    await new Promise<void>((resolve) => halfHeader.once('connect', () => resolve()));
    halfHeader.write('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Ty');
    const answered = Array.from({ length: 3 }, () => send(daemon.url, '/predict', body));
    await Promise.all([...stalled, ...answered].map((c) => c.sent));
    await sleep(200);
    daemon.child.kill('SIGTERM');
    const outcomes = await Promise.all(stalled.map((c) => c.answer));
    expect((await Promise.all(answered.map((c) => c.answer))).map((o) => o.status)).toEqual([200, 200, 200]);
    expect(await daemon.exited).toBe(0);
    expect(outcomes.every((o) => o.status === undefined)).toBe(true);
    expect(daemon.events().find((e) => e.event === 'stopped')).toMatchObject({ cut_requests: 4, cut_partial: 1 });
    halfHeader.destroy();
  }, 120_000);
});

/** The soft limit on open files for this process (Linux), else 1024. */
function fdLimit(): number {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return soft === undefined ? 1024 : Number(soft);
  } catch {
    return 1024;
  }
}

describe('slowloris and file descriptors', () => {
  it('keeps answering good requests while a few thousand sockets dribble their headers, and cuts them in seconds', async () => {
    // This process holds one descriptor per slow socket: size the attack to its limit.
    const slowCount = Math.max(200, Math.min(3_000, fdLimit() - 400));
    const cap = Math.floor(slowCount / 2);
    const daemon = await serve(['--max-connections', String(cap), '--headers-timeout', '2', '--request-timeout', '4']);
    const { port } = new URL(daemon.url);
    const header = `POST /predict_income HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n`;
    const slow: Socket[] = [];
    const openSlow = (): Promise<void> =>
      new Promise((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: Number(port) }, () => resolve());
        socket.on('error', () => resolve());
        socket.on('close', () => resolve());
        slow.push(socket);
      });
    for (let i = 0; i < slowCount; i += 100) await Promise.all(Array.from({ length: Math.min(100, slowCount - i) }, openSlow));
    let at = 0;
    const drip = setInterval(() => {
      for (const socket of slow) if (!socket.destroyed) socket.write(header.charAt(at % header.length));
      at++;
    }, 1_000);
    try {
      const good: Outcome[] = [];
      const started = Date.now();
      while (Date.now() - started < 6_000) {
        good.push(await post(daemon.url, '/predict_income', JSON.stringify(SEED_BODY)));
        await sleep(50);
      }
      expect(good.length).toBeGreaterThan(20);
      expect(good.filter((o) => o.status !== 200).map((o) => o.error ?? o.status)).toEqual([]);
      // By now every slow socket has been evicted or timed out.
      const open = slow.filter((s) => !s.destroyed && !s.readableEnded).length;
      expect(open).toBeLessThan(slowCount / 10);
      const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
      const closed = [...metrics.matchAll(/^mlctl_http_connections_closed_total\{reason="([^"]+)"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[2]), 0);
      expect(closed).toBeGreaterThan(0);
    } finally {
      clearInterval(drip);
      for (const socket of slow) socket.destroy();
    }
    await daemon.stop();
  }, 120_000);
});
