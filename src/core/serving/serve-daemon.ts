import { describeRetention, type PredictionRetention } from '../db/predictions-repository.js';
import { UsageError } from '../errors.js';
import type { ResolvedModel } from '../tracking/model-reference.js';
import { driftMetricsOptions, renderDriftMetrics } from './drift-metrics.js';
import { createDriftMonitor, DEFAULT_SPAN_WINDOWS, type DriftMonitor } from './drift-monitor.js';
import { startHttpServer, type DrainReport } from './http-server.js';
import { createModelHolder, type ReloadOutcome } from './model-holder.js';
import { createServeHandler } from './prediction-handler.js';
import { startPredictionPruner, type PredictionPruner } from './prediction-pruner.js';
import { createPredictionRecorder, type PredictionRecorder } from './prediction-recorder.js';
import { createServeLogger, type LogSink, type ServeLogger } from './request-log.js';
import { createClusterMetrics, type PrimaryChannel } from './serve-cluster.js';
import { loadServedModel, type ServedModel } from './served-model.js';
import { connectServingDatabase, type ServingDatabase } from './serving-database.js';
import { createServingMetrics } from './serving-metrics.js';

/** Everything `mlctl serve` decided from its flags and the configuration. */
export interface ServeDaemonOptions {
  readonly host: string;
  readonly port: number;
  /** Resolves the served model reference (again at each reload). */
  readonly resolve: () => Promise<ResolvedModel>;
  /** Re-resolve every this many ms and reload when the bundle changed (a moved alias); 0: never. */
  readonly pollIntervalMs: number;
  readonly apiToken?: string;
  /** DATABASE_URL and the folder relative SQLite paths start from; undefined: no database. */
  readonly database?: { readonly url: string; readonly cwd: string };
  /** How long stored predictions are kept (enforced in the background); default forever. */
  readonly predictionRetention?: PredictionRetention;
  /** Between retention passes (default 5 minutes). */
  readonly pruneIntervalMs?: number;
  /**
   * Drift monitoring: live histograms of served records against the bundle's profile, a
   * window every `windowMs` (stored in the database when there is one), gauges in /metrics.
   * Absent: off (--monitor-window 0).
   */
  readonly monitor?: ServeMonitorOptions;
  /** How long stored drift histograms are kept, in ms (enforced in the background); default forever. */
  readonly histogramRetentionMs?: number;
  readonly accessLog: boolean;
  /** HMAC key for client pseudonyms in the log; default a random key per process. */
  readonly ipKey?: Uint8Array;
  /** TensorFlow.js backend for bundles the lean path cannot run. */
  readonly backend?: string;
  readonly mlctlVersion: string;
  /** Open connections at most (see http-server.ts). */
  readonly maxConnections?: number;
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Where the JSON log lines go (stderr). */
  readonly logSink: LogSink;
  readonly verbose?: boolean;
  /**
   * Set in a worker of `serve --workers N`: its index (worker 0 enforces the retention) and
   * the channel to the primary, which sums /metrics and forwards reloads and the drain.
   */
  readonly worker?: { readonly index: number; readonly channel: PrimaryChannel };
}

export interface ServeMonitorOptions {
  readonly windowMs: number;
  /** The window as the flag gave it (5m), for logs and the gauges' help. */
  readonly window: string;
  /** Closed windows the drift gauges cover (default 12). */
  readonly spanWindows?: number;
}

export interface ServeDaemon {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly model: ServedModel;
  readonly logger: ServeLogger;
  /** Re-resolves and reloads the model (SIGHUP); a failure keeps the current model. */
  reload(): Promise<ReloadOutcome>;
  /**
   * Drains (see RunningServer.close), writes the predictions still queued, closes
   * everything, and logs what was answered and what was cut.
   */
  shutdown(timeoutMs: number): Promise<DrainReport>;
  /** Resolves when the daemon stopped (a worker is told to drain by the primary). */
  readonly stopped: Promise<DrainReport>;
}

function modelFields(model: ServedModel): Record<string, unknown> {
  return { model: model.name, version: model.version, run_id: model.runId, scorer: model.scorer.kind, bundle_sha256: model.bundleSha256 };
}

/**
 * Loads the model, connects the database when there is a migrated one, and serves. Throws
 * (before listening) when the model cannot be loaded or the port cannot be bound.
 */
export async function startServeDaemon(options: ServeDaemonOptions): Promise<ServeDaemon> {
  const worker = options.worker;
  const logger = createServeLogger({
    sink: options.logSink,
    accessLog: options.accessLog,
    debug: options.verbose === true,
    sharedSink: worker !== undefined,
    ...(worker === undefined ? {} : { worker: worker.index }),
    ...(options.ipKey === undefined ? {} : { ipKey: options.ipKey }),
  });
  const workerFields = worker === undefined ? {} : { worker: worker.index };
  const metrics = createServingMetrics();
  const load = (resolved: ResolvedModel): Promise<ServedModel> =>
    loadServedModel(resolved, {
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      onFallback: (reason) => logger.event('warn', 'lean-path-unavailable', { reason, fallback: 'the model family (TensorFlow.js for MLPs)', ...workerFields }),
    });
  const initial = await load(await options.resolve());
  metrics.setModel(initial);
  // Worker events other than its own failures are said once, by the primary or worker 0.
  const speaks = worker === undefined || worker.index === 0;

  let database: ServingDatabase = { available: false, reason: 'disabled with --no-database' };
  if (options.database !== undefined) database = await connectServingDatabase(options.database.url, options.database.cwd);
  if (speaks) {
    if (database.available) logger.event('info', 'database-connected', { target: database.target });
    else logger.event('info', 'database-unavailable', { reason: database.reason, effect: 'no /users routes, predictions are not stored' });
  }

  let recorder: PredictionRecorder | undefined;
  let pruner: PredictionPruner | undefined;
  if (database.available) {
    recorder = createPredictionRecorder({
      write: database.recordPredictions,
      onWritten: (rows) => metrics.predictionRows.labels('written').inc(rows),
      onDropped: (rows, error) => {
        metrics.predictionRows.labels('dropped').inc(rows);
        logger.event('error', 'predictions-dropped', { rows, reason: (error as Error)?.message ?? String(error), ...workerFields });
      },
    });
    const retention = options.predictionRetention ?? {};
    const open = database;
    if ((retention.maxAgeMs !== undefined || retention.maxRows !== undefined) && (worker === undefined || worker.index === 0)) {
      logger.event('info', 'prediction-retention', { keep: describeRetention(retention) });
      pruner = startPredictionPruner({
        prune: () => open.prunePredictions(retention),
        ...(options.pruneIntervalMs === undefined ? {} : { intervalMs: options.pruneIntervalMs }),
        onPruned: (result) => {
          const rows = result.byAge + result.byCount;
          if (rows === 0) return;
          metrics.predictionsPruned.inc(rows);
          logger.event('info', 'predictions-pruned', { by_age: result.byAge, by_count: result.byCount });
        },
        onError: (error) => logger.event('error', 'predictions-prune-failed', { reason: (error as Error)?.message ?? String(error) }),
      });
    }
  }

  let histogramPruner: PredictionPruner | undefined;
  if (database.available && options.histogramRetentionMs !== undefined && (worker === undefined || worker.index === 0)) {
    const open = database;
    const maxAgeMs = options.histogramRetentionMs;
    logger.event('info', 'histogram-retention', { keep: describeRetention({ maxAgeMs }) });
    histogramPruner = startPredictionPruner<number>({
      prune: () => open.pruneHistograms(maxAgeMs),
      ...(options.pruneIntervalMs === undefined ? {} : { intervalMs: options.pruneIntervalMs }),
      onPruned: (rows) => {
        if (rows > 0) logger.event('info', 'histograms-pruned', { rows });
      },
      onError: (error) => logger.event('error', 'histograms-prune-failed', { reason: (error as Error)?.message ?? String(error) }),
    });
  }

  let drift: DriftMonitor | undefined;
  if (options.monitor !== undefined) {
    const store = database.available ? database.histograms : undefined;
    if (speaks) {
      logger.event('info', 'drift-monitoring', {
        window: options.monitor.window,
        gauges_over_windows: options.monitor.spanWindows ?? DEFAULT_SPAN_WINDOWS,
        histograms: store === undefined ? 'memory' : 'database',
        ...(store === undefined ? { effect: 'counts are kept in memory for /metrics only; mlctl monitor drift --since finds nothing from this server' } : {}),
      });
    }
    const reason = (error: unknown): string => (error as Error)?.message ?? String(error);
    drift = createDriftMonitor({
      windowMs: options.monitor.windowMs,
      ...(options.monitor.spanWindows === undefined ? {} : { spanWindows: options.monitor.spanWindows }),
      ...(store === undefined ? {} : { store }),
      onUnavailable: (model, error) => {
        if (speaks) logger.event('warn', 'drift-monitoring-unavailable', { model: model.name, version: model.version, reason: reason(error), effect: 'no drift gauges or histograms for this model version' });
      },
      onWritten: () => metrics.driftWindows.labels('written').inc(),
      onWriteFailed: (error) => {
        metrics.driftWindows.labels('failed').inc();
        logger.event('error', 'drift-window-write-failed', { reason: reason(error), effect: 'kept, and written with the next window', ...workerFields });
      },
      onDropped: (windows, error) => {
        metrics.driftWindows.labels('dropped').inc(windows);
        logger.event('error', 'drift-windows-dropped', { windows, reason: reason(error), ...workerFields });
      },
    });
    drift.serving(initial);
  } else if (speaks) {
    logger.event('info', 'drift-monitoring-off', { reason: '--monitor-window 0' });
  }
  const monitor = drift;

  let lastPollFailure: string | undefined;
  const holder = createModelHolder({
    initial,
    resolve: options.resolve,
    load,
    pollIntervalMs: options.pollIntervalMs,
    onSwap: (next, previous, reason) => {
      lastPollFailure = undefined;
      metrics.setModel(next);
      monitor?.serving(next);
      metrics.reloads.labels(reason, 'swapped').inc();
      logger.event('info', 'model-reloaded', { reason, ...modelFields(next), previous_version: previous.version, ...workerFields });
    },
    onUnchanged: () => {
      lastPollFailure = undefined;
    },
    onError: (error, reason) => {
      metrics.reloads.labels(reason, 'failed').inc();
      const message = (error as Error)?.message ?? String(error);
      // Alias checks repeat every second or two: log a failure when it starts or changes, not each time.
      if (reason === 'alias' && message === lastPollFailure) return;
      lastPollFailure = reason === 'alias' ? message : lastPollFailure;
      logger.event('error', 'model-reload-failed', { reason, message, kept_version: holder.current.version, ...workerFields });
    },
  });

  const driftOptions = options.monitor === undefined ? undefined : driftMetricsOptions(options.monitor);
  // This process's /metrics: its registry, and the drift gauges from its own histograms.
  const renderOwn = (): string => metrics.registry.render() + (monitor === undefined || driftOptions === undefined ? '' : renderDriftMetrics([monitor.snapshot()], driftOptions));
  const clusterMetrics = worker === undefined ? undefined : createClusterMetrics(worker.channel, renderOwn);
  const handler = createServeHandler({
    holder,
    metrics,
    logger,
    mlctlVersion: options.mlctlVersion,
    ...(options.apiToken === undefined ? {} : { apiToken: options.apiToken }),
    ...(database.available ? { users: database.users } : { databaseUnavailable: database.reason }),
    ...(recorder === undefined ? {} : { recorder }),
    ...(monitor === undefined ? {} : { drift: monitor }),
    renderMetrics: clusterMetrics === undefined ? renderOwn : () => clusterMetrics.render(),
  });

  const closeResources = async (): Promise<void> => {
    holder.stop();
    await pruner?.stop();
    await histogramPruner?.stop();
    // The partial window is closed and written like any other, before the database closes.
    await monitor?.close();
    await recorder?.close();
    if (database.available) await database.close();
  };

  let server;
  try {
    server = await startHttpServer({
      host: options.host,
      port: options.port,
      handler,
      metrics,
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
      ...(options.headersTimeoutMs === undefined ? {} : { headersTimeoutMs: options.headersTimeoutMs }),
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    });
  } catch (error) {
    await closeResources();
    holder.disposeAll();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UsageError('SERVE_CANNOT_LISTEN', `cannot listen on ${options.host}:${options.port} (${code})`, {
        hint: code === 'EADDRINUSE' ? 'another process uses that port: pick another with --port (0 picks a free one)' : 'check --host and --port',
        cause: error,
      });
    }
    throw error;
  }
  const running = server;
  const listeningFields = { url: running.url, host: running.host, port: running.port, ...modelFields(initial), auth: options.apiToken !== undefined, database: database.available };

  let stopping: Promise<DrainReport> | undefined;
  let markStopped!: (report: DrainReport) => void;
  const stopped = new Promise<DrainReport>((resolve) => (markStopped = resolve));
  const shutdown = (timeoutMs: number): Promise<DrainReport> => {
    stopping ??= (async () => {
      if (worker === undefined) logger.event('info', 'draining', { in_flight: running.inFlight, connections: running.connections });
      const report = await running.close(timeoutMs);
      await closeResources();
      holder.disposeAll();
      logger.event('info', 'stopped', {
        answered_while_draining: report.answered,
        cut_requests: report.cutRequests,
        cut_partial: report.cutPartial,
        closed_idle: report.closedIdle,
        drain_ms: report.ms,
        ...workerFields,
      });
      logger.flush();
      markStopped(report);
      return report;
    })();
    return stopping;
  };

  if (worker === undefined) {
    logger.event('info', 'listening', listeningFields);
  } else {
    worker.channel.onMessage((message) => {
      if (clusterMetrics?.handle(message) === true) return;
      switch (message.type) {
        case 'mlctl:reload':
          void holder.reload('signal');
          break;
        case 'mlctl:drain':
          // The caller sends the report once `stopped` resolves, however the drain began.
          void shutdown(message.timeoutMs);
          break;
        case 'mlctl:snapshot':
          worker.channel.send({ type: 'mlctl:snapshot', id: message.id, families: metrics.registry.snapshot(), ...(monitor === undefined ? {} : { drift: monitor.snapshot() }) });
          break;
        default:
          break;
      }
    });
    worker.channel.send({ type: 'mlctl:listening', url: running.url, fields: listeningFields });
  }

  return {
    url: running.url,
    host: running.host,
    port: running.port,
    model: initial,
    logger,
    reload: () => holder.reload('signal'),
    shutdown,
    stopped,
  };
}
