import { UsageError } from '../errors.js';
import type { ResolvedModel } from '../tracking/model-reference.js';
import { startHttpServer } from './http-server.js';
import { createModelHolder, type ReloadOutcome } from './model-holder.js';
import { createServeHandler } from './prediction-handler.js';
import { createPredictionRecorder, type PredictionRecorder } from './prediction-recorder.js';
import { createServeLogger, type LogSink, type ServeLogger } from './request-log.js';
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
  readonly accessLog: boolean;
  /** HMAC key for client pseudonyms in the log; default a random key per process. */
  readonly ipKey?: Uint8Array;
  /** TensorFlow.js backend for bundles the lean path cannot run. */
  readonly backend?: string;
  readonly mlctlVersion: string;
  /** Where the JSON log lines go (stderr). */
  readonly logSink: LogSink;
  readonly verbose?: boolean;
}

export interface ServeDaemon {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly model: ServedModel;
  readonly logger: ServeLogger;
  /** Re-resolves and reloads the model (SIGHUP); a failure keeps the current model. */
  reload(): Promise<ReloadOutcome>;
  /** Drains requests in flight (up to `timeoutMs`), flushes predictions and closes everything. */
  shutdown(timeoutMs: number): Promise<void>;
}

function modelFields(model: ServedModel): Record<string, unknown> {
  return { model: model.name, version: model.version, run_id: model.runId, scorer: model.scorer.kind, bundle_sha256: model.bundleSha256 };
}

/**
 * Loads the model, connects the database when there is a migrated one, and serves. Throws
 * (before listening) when the model cannot be loaded or the port cannot be bound.
 */
export async function startServeDaemon(options: ServeDaemonOptions): Promise<ServeDaemon> {
  const logger = createServeLogger({
    sink: options.logSink,
    accessLog: options.accessLog,
    debug: options.verbose === true,
    ...(options.ipKey === undefined ? {} : { ipKey: options.ipKey }),
  });
  const metrics = createServingMetrics();
  const load = (resolved: ResolvedModel): Promise<ServedModel> =>
    loadServedModel(resolved, {
      ...(options.backend === undefined ? {} : { backend: options.backend }),
      onFallback: (reason) => logger.event('warn', 'lean-path-unavailable', { reason, fallback: 'the model family (TensorFlow.js for MLPs)' }),
    });
  const initial = await load(await options.resolve());
  metrics.setModel(initial);

  let database: ServingDatabase = { available: false, reason: 'disabled with --no-database' };
  if (options.database !== undefined) database = await connectServingDatabase(options.database.url, options.database.cwd);
  if (database.available) logger.event('info', 'database-connected', { target: database.target });
  else logger.event('info', 'database-unavailable', { reason: database.reason, effect: 'no /users routes, predictions are not stored' });

  let recorder: PredictionRecorder | undefined;
  if (database.available) {
    recorder = createPredictionRecorder({
      write: database.recordPredictions,
      onWritten: (rows) => metrics.predictionRows.labels('written').inc(rows),
      onDropped: (rows, error) => {
        metrics.predictionRows.labels('dropped').inc(rows);
        logger.event('error', 'predictions-dropped', { rows, reason: (error as Error)?.message ?? String(error) });
      },
    });
  }

  let lastPollFailure: string | undefined;
  const holder = createModelHolder({
    initial,
    resolve: options.resolve,
    load,
    pollIntervalMs: options.pollIntervalMs,
    onSwap: (next, previous, reason) => {
      lastPollFailure = undefined;
      metrics.setModel(next);
      metrics.reloads.labels(reason, 'swapped').inc();
      logger.event('info', 'model-reloaded', { reason, ...modelFields(next), previous_version: previous.version });
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
      logger.event('error', 'model-reload-failed', { reason, message, kept_version: holder.current.version });
    },
  });

  const handler = createServeHandler({
    holder,
    metrics,
    logger,
    mlctlVersion: options.mlctlVersion,
    ...(options.apiToken === undefined ? {} : { apiToken: options.apiToken }),
    ...(database.available ? { users: database.users } : { databaseUnavailable: database.reason }),
    ...(recorder === undefined ? {} : { recorder }),
  });

  let server;
  try {
    server = await startHttpServer({ host: options.host, port: options.port, handler });
  } catch (error) {
    holder.stop();
    holder.disposeAll();
    await recorder?.close();
    if (database.available) await database.close();
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
  logger.event('info', 'listening', { url: running.url, host: running.host, port: running.port, ...modelFields(initial), auth: options.apiToken !== undefined, database: database.available });

  return {
    url: running.url,
    host: running.host,
    port: running.port,
    model: initial,
    logger,
    reload: () => holder.reload('signal'),
    async shutdown(timeoutMs) {
      holder.stop();
      logger.event('info', 'draining', { in_flight: running.inFlight });
      const cut = await running.close(timeoutMs);
      await recorder?.close();
      if (database.available) await database.close();
      holder.disposeAll();
      logger.event('info', 'stopped', { cut_requests: cut });
      logger.flush();
    },
  };
}
