/**
 * `serve --workers N`: N processes behind one port. The primary forks the workers (each a
 * full daemon: model, metrics, prediction-log writer), forwards reloads (SIGHUP) and the
 * drain (SIGTERM) to every one, answers /metrics requests by summing every worker's
 * figures, and restarts a worker that dies. Connections are spread over the workers by
 * Node's cluster module (round robin in the primary). This module holds the primary's
 * logic and the message protocol; the process parts (fork, signals) come from the caller.
 */
import type { LiveDriftSnapshot } from './drift-monitor.js';
import { renderDriftMetrics, type DriftMetricsOptions } from './drift-metrics.js';
import type { FamilySnapshot } from './metrics-registry.js';
import { renderMergedSnapshots } from './metrics-registry.js';
import type { ServeLogger } from './request-log.js';
import type { DrainReport } from './http-server.js';

/** Messages the primary sends a worker. */
export type ToWorker =
  | { readonly type: 'mlctl:reload' }
  | { readonly type: 'mlctl:drain'; readonly timeoutMs: number }
  | { readonly type: 'mlctl:snapshot'; readonly id: number }
  | { readonly type: 'mlctl:metrics-text'; readonly id: number; readonly text: string };

/** Messages a worker sends the primary. */
export type ToPrimary =
  | { readonly type: 'mlctl:listening'; readonly url: string; readonly fields: Readonly<Record<string, unknown>> }
  | {
      readonly type: 'mlctl:snapshot';
      readonly id: number;
      readonly families: readonly FamilySnapshot[];
      /** The worker's drift histograms (when it monitors drift): the primary sums them before computing PSI. */
      readonly drift?: readonly LiveDriftSnapshot[];
    }
  | { readonly type: 'mlctl:metrics'; readonly id: number }
  | { readonly type: 'mlctl:stopped'; readonly report: DrainReport };

/** A worker process as the primary uses it (the narrow part of cluster.Worker). */
export interface WorkerProcess {
  send(message: ToWorker): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal: string | null) => void): unknown;
  kill(signal?: string): unknown;
}

/** The primary as a worker sees it (process.send and process.on('message')). */
export interface PrimaryChannel {
  send(message: ToPrimary): unknown;
  onMessage(listener: (message: ToWorker) => void): void;
}

export interface ServeClusterOptions {
  readonly workers: number;
  /** Forks worker `index` (0-based; worker 0 also enforces the prediction retention). */
  readonly fork: (index: number) => WorkerProcess;
  readonly logger: ServeLogger;
  /** How long a /metrics request waits for the workers' figures. */
  readonly metricsTimeoutMs?: number;
  /** Startup fails when the workers are not all listening within this (default 120 s). */
  readonly startTimeoutMs?: number;
  /** The workers monitor drift: /metrics carries the drift gauges, computed here from their summed histograms. */
  readonly drift?: DriftMetricsOptions;
}

export interface ServeCluster {
  readonly url: string;
  /** SIGHUP: every worker reloads its model. */
  reload(): void;
  /** SIGTERM: every worker drains (up to `timeoutMs`) and exits; resolves with the sum of their reports. */
  shutdown(timeoutMs: number): Promise<DrainReport>;
}

function isMessage(value: unknown): value is ToPrimary {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string' && (value as { type: string }).type.startsWith('mlctl:');
}

/** More restarts than this within RESTART_WINDOW_MS stops the daemon: something is wrong with every start. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/**
 * Forks the workers and resolves once every one listens (rejects when one exits first).
 * The port is shared: workers that listen on port 0 get the same free port.
 */
export function startServeCluster(options: ServeClusterOptions): Promise<ServeCluster> {
  const { logger } = options;
  const metricsTimeout = options.metricsTimeoutMs ?? 2_000;
  const slots: (WorkerProcess | undefined)[] = new Array(options.workers).fill(undefined);
  const reports: DrainReport[] = [];
  /** Counters of workers that exited, so sums do not go backwards when one is replaced. */
  const lastSnapshot = new Map<WorkerProcess, readonly FamilySnapshot[]>();
  const retired: FamilySnapshot[][] = [];
  const restarts: number[] = [];
  let stopping = false;
  let nextRequest = 1;
  const pending = new Map<number, { wanted: Set<WorkerProcess>; got: (readonly FamilySnapshot[])[]; drift: (readonly LiveDriftSnapshot[])[]; finish: () => void }>();
  let onAllStopped: (() => void) | undefined;

  const collectMetrics = (): Promise<string> => {
    const id = nextRequest++;
    const wanted = new Set(slots.filter((w): w is WorkerProcess => w !== undefined));
    return new Promise((resolve) => {
      const got: (readonly FamilySnapshot[])[] = [];
      const drift: (readonly LiveDriftSnapshot[])[] = [];
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        if (!pending.delete(id)) return;
        if (timer !== undefined) clearTimeout(timer);
        // Workers that exited keep their counters in the sums (so none goes backwards), not their gauges.
        const counted = retired.map((families) => families.filter((f) => f.type !== 'gauge'));
        // Drift gauges come from the live workers' histograms, summed, then compared (drift-metrics.ts).
        resolve(renderMergedSnapshots([...got, ...counted]) + (options.drift === undefined ? '' : renderDriftMetrics(drift, options.drift)));
      };
      pending.set(id, { wanted, got, drift, finish });
      timer = setTimeout(finish, metricsTimeout);
      for (const worker of wanted) worker.send({ type: 'mlctl:snapshot', id });
      if (wanted.size === 0) finish();
    });
  };

  return new Promise((resolve, reject) => {
    let started = 0;
    let url: string | undefined;
    let settled = false;
    const startTimer = setTimeout(() => {
      if (settled) return;
      settled = true;
      for (const worker of slots) worker?.kill('SIGKILL');
      reject(new Error(`the workers did not all start within ${(options.startTimeoutMs ?? 120_000) / 1000} s`));
    }, options.startTimeoutMs ?? 120_000);
    startTimer.unref();

    const spawn = (index: number): void => {
      const worker = options.fork(index);
      slots[index] = worker;
      worker.on('message', (message) => {
        if (!isMessage(message)) return;
        switch (message.type) {
          case 'mlctl:listening':
            url ??= message.url;
            logger.event('info', 'worker-listening', { worker: index, ...message.fields });
            if (!settled && ++started === options.workers) {
              settled = true;
              clearTimeout(startTimer);
              logger.event('info', 'listening', { url, workers: options.workers, ...message.fields });
              resolve(cluster(url));
            }
            break;
          case 'mlctl:snapshot': {
            lastSnapshot.set(worker, message.families);
            const request = pending.get(message.id);
            if (request?.wanted.delete(worker) === true) {
              request.got.push(message.families);
              if (message.drift !== undefined) request.drift.push(message.drift);
              if (request.wanted.size === 0) request.finish();
            }
            break;
          }
          case 'mlctl:metrics':
            void collectMetrics().then((text) => worker.send({ type: 'mlctl:metrics-text', id: message.id, text }));
            break;
          case 'mlctl:stopped':
            reports.push(message.report);
            break;
        }
      });
      worker.on('exit', (code, signal) => {
        if (slots[index] === worker) slots[index] = undefined;
        const last = lastSnapshot.get(worker);
        lastSnapshot.delete(worker);
        if (last !== undefined) retired.push([...last]);
        for (const request of pending.values()) if (request.wanted.delete(worker) && request.wanted.size === 0) request.finish();
        if (stopping) {
          if (slots.every((w) => w === undefined)) onAllStopped?.();
          return;
        }
        if (!settled) {
          settled = true;
          clearTimeout(startTimer);
          for (const other of slots) other?.kill('SIGTERM');
          reject(new Error(`worker ${index} exited while starting (${signal ?? `code ${code}`}); its log lines above say why`));
          return;
        }
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && now - restarts[0]! > RESTART_WINDOW_MS) restarts.shift();
        logger.event('error', 'worker-exited', { worker: index, code, signal, restarting: restarts.length <= MAX_RESTARTS });
        if (restarts.length > MAX_RESTARTS) {
          logger.event('error', 'workers-failing', { message: `${restarts.length} worker restarts within a minute; stopping` });
          stopping = true;
          for (const other of slots) other?.send({ type: 'mlctl:drain', timeoutMs: 5_000 });
          return;
        }
        setTimeout(() => {
          if (!stopping) spawn(index);
        }, 500).unref();
      });
    };

    const cluster = (listeningUrl: string): ServeCluster => ({
      url: listeningUrl,
      reload() {
        for (const worker of slots) worker?.send({ type: 'mlctl:reload' });
      },
      shutdown(timeoutMs) {
        stopping = true;
        const alive = slots.filter((w): w is WorkerProcess => w !== undefined);
        logger.event('info', 'draining', { workers: alive.length });
        return new Promise<DrainReport>((done) => {
          // A worker that has not exited well after its deadline is killed.
          const killTimer = setTimeout(() => {
            for (const worker of slots) worker?.kill('SIGKILL');
          }, timeoutMs + 15_000);
          onAllStopped = () => {
            clearTimeout(killTimer);
            done(
              reports.reduce<DrainReport>(
                (sum, r) => ({
                  answered: sum.answered + r.answered,
                  cutRequests: sum.cutRequests + r.cutRequests,
                  cutPartial: sum.cutPartial + r.cutPartial,
                  closedIdle: sum.closedIdle + r.closedIdle,
                  ms: Math.max(sum.ms, r.ms),
                }),
                { answered: 0, cutRequests: 0, cutPartial: 0, closedIdle: 0, ms: 0 },
              ),
            );
          };
          if (alive.length === 0) onAllStopped();
          for (const worker of alive) worker.send({ type: 'mlctl:drain', timeoutMs });
        });
      },
    });

    for (let i = 0; i < options.workers; i++) spawn(i);
  });
}

/**
 * A worker's /metrics: asks the primary, which sums every worker's snapshot. Falls back
 * to this worker's own figures if the primary does not answer in time.
 */
export function createClusterMetrics(channel: PrimaryChannel, local: () => string, timeoutMs = 3_000): { render(): Promise<string>; handle(message: ToWorker): boolean } {
  let nextId = 1;
  const waiting = new Map<number, (text: string) => void>();
  return {
    render() {
      const id = nextId++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(local());
        }, timeoutMs);
        waiting.set(id, (text) => {
          clearTimeout(timer);
          resolve(text);
        });
        channel.send({ type: 'mlctl:metrics', id });
      });
    },
    handle(message) {
      if (message.type !== 'mlctl:metrics-text') return false;
      const done = waiting.get(message.id);
      waiting.delete(message.id);
      done?.(message.text);
      return true;
    },
  };
}
