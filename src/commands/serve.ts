import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatDuration, parseDuration } from '../core/text/durations.js';
import type { CliContext } from '../ui/context.js';
import { POSITIVE_COUNT_RANGE, SECONDS_RANGE, parseFloatFlag, parseIntFlag, withExamples } from '../ui/context.js';

/** `mlctl serve` as typed options, built from its flags and the configuration. */
export interface ServeOptions {
  /** Any model reference (DESIGN.md); name@alias is re-resolved so an alias move reloads. */
  readonly model: string;
  readonly host: string;
  readonly port: number;
  /** Seconds between alias checks; 0 turns polling off. */
  readonly reloadIntervalSeconds: number;
  /** Seconds SIGTERM waits for requests in flight. */
  readonly drainTimeoutSeconds: number;
  /** Processes behind the port; 'auto' is one per core. */
  readonly workers: number | 'auto';
  /** Open connections per process at most; undefined: from the file-descriptor limit. */
  readonly maxConnections?: number;
  readonly headersTimeoutSeconds: number;
  readonly requestTimeoutSeconds: number;
  /** How long stored predictions are kept: "30d", "1000000" (rows), both, or "forever". */
  readonly predictionRetention: string;
  /** Drift histogram window in ms; 0 turns drift monitoring off. */
  readonly monitorWindowMs: number;
  /** How long stored drift histograms are kept, in ms; undefined: forever. */
  readonly histogramRetentionMs: number | undefined;
  readonly accessLog: boolean;
  readonly database: boolean;
  /** A file holding the HMAC key for client pseudonyms (default: a random key per process). */
  readonly ipKeyFile?: string;
  readonly backend?: string;
}

export const DEFAULT_PREDICTION_RETENTION = '30d,1000000';
export const DEFAULT_MONITOR_WINDOW = '5m';
/** Aggregates hold nothing personal: kept longer than predictions, for drift over a season. */
export const DEFAULT_HISTOGRAM_RETENTION = '90d';
const MIN_WINDOW_MS = 1_000;
const MAX_WINDOW_MS = 86_400_000;

/** --monitor-window: 0 (off), or a duration from 1s to 1d, in ms. */
function parseMonitorWindow(value: string): number {
  if (value.trim() === '0') return 0;
  const ms = parseDuration(value);
  if (ms === undefined || ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS) {
    throw new InvalidArgumentError(`--monitor-window must be a duration from 1s to 1d (30s, 5m, 1h), or 0 to turn drift monitoring off, got "${value}"`);
  }
  return ms;
}

/** --histogram-retention: a duration (90d, 2w), or forever (undefined). */
function parseHistogramRetention(value: string): number | undefined {
  if (['forever', 'off', 'none'].includes(value.trim().toLowerCase())) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`--histogram-retention must be a duration (90d, 12h, 2w) or forever, got "${value}"`);
  return ms;
}

/** A timeout: more than nothing, and no longer than a timer can wait. */
const TIMEOUT_RANGE = { ...SECONDS_RANGE, min: 0, minExclusive: true };

const WORKERS_RANGE = { min: 1, max: 256 };
const parseWorkerCount = parseIntFlag('--workers', WORKERS_RANGE);

/** --workers: a count in WORKERS_RANGE, or auto (one per core). */
const parseWorkers = Object.assign((value: string): number | 'auto' => (value.trim() === 'auto' ? 'auto' : parseWorkerCount(value)), { integer: true, range: WORKERS_RANGE });

export function registerServeCommands(program: Command, context: CliContext): void {
  const command = program
    .command('serve')
    .description('serve a model over HTTP: /predict, MLflow\'s /invocations, /predict_income (income), /metrics, /docs, /users with a database')
    .option('-m, --model <ref>', 'a run id or name, runs:/<id>, name@alias, name/<version>, a bundle path or s3://bucket/prefix', 'income@production')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', parseIntFlag('--port'), 8500)
    .option('--host <address>', 'address to bind (0.0.0.0 exposes the daemon to the network)', '127.0.0.1')
    .option('--workers <n>', 'processes behind the port, each with the model loaded; auto: one per core', parseWorkers, 1)
    .option('--reload-interval <seconds>', 'how often a name@alias model is re-resolved (in the registry, the database for a team store); 0 turns it off', parseFloatFlag('--reload-interval', SECONDS_RANGE), 0.5)
    .option('--drain-timeout <seconds>', 'how long SIGTERM waits for requests already received; what is left is cut and counted', parseFloatFlag('--drain-timeout', SECONDS_RANGE), 10)
    .option('--max-connections <n>', 'open connections per process at most (default: the file-descriptor limit less 256, at most 8192)', parseIntFlag('--max-connections', POSITIVE_COUNT_RANGE))
    .option('--headers-timeout <seconds>', "a request's headers must arrive within this of its first byte (cuts slowloris)", parseFloatFlag('--headers-timeout', TIMEOUT_RANGE), 10)
    .option('--request-timeout <seconds>', 'a whole request, body included, must arrive within this', parseFloatFlag('--request-timeout', TIMEOUT_RANGE), 30)
    .option('--prediction-retention <keep>', 'stored predictions kept: a duration (30d, 12h), a row count (1000000), both (30d,1000000) or forever', DEFAULT_PREDICTION_RETENTION)
    .addOption(
      new Option('--monitor-window <duration>', 'drift monitoring: served inputs and outputs are binned against the training profile and stored per window of this length (30s, 5m, 1h); 0 turns it off')
        .argParser(parseMonitorWindow)
        .default(parseMonitorWindow(DEFAULT_MONITOR_WINDOW), DEFAULT_MONITOR_WINDOW),
    )
    .addOption(
      new Option('--histogram-retention <keep>', 'stored drift histograms kept: a duration (90d, 2w) or forever')
        .argParser(parseHistogramRetention)
        .default(parseHistogramRetention(DEFAULT_HISTOGRAM_RETENTION), DEFAULT_HISTOGRAM_RETENTION),
    )
    .option('--no-access-log', 'no JSON line per request on stderr')
    .option('--no-database', 'ignore DATABASE_URL: no /users routes, predictions are not stored')
    .option('--ip-key-file <file>', 'HMAC key for client IP pseudonyms in the log (default: random per process)')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend, for bundles the lean JavaScript path cannot run').choices(['node', 'wasm', 'cpu']));
  withExamples(
    command,
    'mlctl serve',
    'mlctl serve --model income/3 --port 8080 --workers auto',
    `curl -s localhost:8500/predict_income -H 'content-type: application/json' -d '{"age": 39, "workclass": "State-gov", "fnlwgt": 77516, "education": "Bachelors", "education_num": 13, "marital_status": "Never-married", "occupation": "Adm-clerical", "relationship": "Not-in-family", "capital_gain": 2174, "capital_loss": 0, "hours_per_week": 40, "native_country": "United-States"}'`,
    `curl -s localhost:8500/invocations -H 'content-type: text/csv' --data-binary @records.csv   # MLflow's scoring protocol`,
    'MLCTL_API_TOKEN=s3cret mlctl serve --host 0.0.0.0   # clients then send: Authorization: Bearer s3cret',
    'mlctl serve --monitor-window 1m   # drift histograms every minute; mlctl monitor drift income@production --since 1h reads them',
    "kill -HUP \"$(pgrep -of 'mlctl serve')\"   # reload the model (in every worker: -o picks the primary); SIGTERM drains and exits 0",
  );
  command.addHelpText(
    'after',
    `
Routes: POST /predict, /invocations (MLflow: dataframe_split, dataframe_records, instances,
inputs, format=pandas-split|pandas-records, text/csv), /predict_income (income task only);
GET /health, /livez, /ping, /ready, /readyz, /version, /metrics, /openapi.json, /docs,
/models; /users and /users/<id> when DATABASE_URL names a migrated database. Records in
errors are counted from 1. Logs are JSON lines on stderr (rotate them where stderr goes:
journald, Docker, Kubernetes); client IPs are pseudonymised, inputs never logged.

Drift: each answered record's inputs and output are counted in the bins of the bundle's
reference profile (the values are not kept). Every --monitor-window the counts go to the
database (drift_histograms: counts per model, version, window, input and bin), or stay in
memory without one; /metrics shows mlctl_feature_drift (PSI per input) and
mlctl_drifted_features over the last 12 windows, summed over --workers.
`,
  );
  command.action(async (flags: Record<string, unknown>, cmd: Command) => {
    const backend = typeof flags.backend === 'string' ? flags.backend : context.config.tfBackend;
    const options: ServeOptions = {
      model: flags.model as string,
      host: flags.host as string,
      port: flags.port as number,
      reloadIntervalSeconds: flags.reloadInterval as number,
      drainTimeoutSeconds: flags.drainTimeout as number,
      workers: flags.workers as number | 'auto',
      ...(typeof flags.maxConnections === 'number' ? { maxConnections: flags.maxConnections } : {}),
      headersTimeoutSeconds: flags.headersTimeout as number,
      requestTimeoutSeconds: flags.requestTimeout as number,
      predictionRetention: flags.predictionRetention as string,
      monitorWindowMs: flags.monitorWindow as number,
      histogramRetentionMs: flags.histogramRetention as number | undefined,
      accessLog: flags.accessLog !== false,
      database: flags.database !== false,
      ...(typeof flags.ipKeyFile === 'string' ? { ipKeyFile: flags.ipKeyFile } : {}),
      ...(backend === undefined ? {} : { backend }),
    };
    await serve(options, context, cmd);
  });
}

/** Drift monitoring as the daemon takes it; undefined when --monitor-window 0 turns it off. */
function monitorOptions(options: ServeOptions): { windowMs: number; window: string } | undefined {
  return options.monitorWindowMs === 0 ? undefined : { windowMs: options.monitorWindowMs, window: formatDuration(options.monitorWindowMs) };
}

/** The soft limit on open files (Linux /proc/self/limits); undefined elsewhere. */
async function openFileLimit(): Promise<number | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    const limits = await readFile('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

async function serve(options: ServeOptions, context: CliContext, cmd: Command): Promise<void> {
  const { UsageError } = await import('../core/errors.js');
  if (options.requestTimeoutSeconds < options.headersTimeoutSeconds) throw new UsageError('SERVE_FLAG_INVALID', '--request-timeout must be at least --headers-timeout');
  const [{ resolveModel }, { startServeDaemon }, { parseModelReference }, { readFile }, { parseRetention }, { defaultMaxConnections }, clusterModule, { availableParallelism }] =
    await Promise.all([
      import('./shared/model-resolution.js'),
      import('../core/serving/serve-daemon.js'),
      import('../core/tracking/model-reference.js'),
      import('node:fs/promises'),
      import('../core/db/predictions-repository.js'),
      import('../core/serving/http-server.js'),
      import('node:cluster'),
      import('node:os'),
    ]);
  const cluster = clusterModule.default;
  const retention = parseRetention(options.predictionRetention);
  if (typeof retention === 'string') throw new UsageError('SERVE_FLAG_INVALID', `--prediction-retention: ${retention}`);
  const workers = options.workers === 'auto' ? availableParallelism() : options.workers;
  const output = context.output(cmd);
  const drainTimeoutMs = options.drainTimeoutSeconds * 1000;

  if (workers > 1 && cluster.isPrimary) {
    await servePrimary(workers, drainTimeoutMs, options, context, cmd, cluster);
    return;
  }

  let ipKey: Uint8Array | undefined;
  if (options.ipKeyFile !== undefined) {
    ipKey = await readFile(options.ipKeyFile).catch((error: NodeJS.ErrnoException) => {
      throw new UsageError('SERVE_IP_KEY_UNREADABLE', `cannot read --ip-key-file ${options.ipKeyFile}: ${error.code ?? error.message}`);
    });
    if (ipKey.length < 16) throw new UsageError('SERVE_IP_KEY_TOO_SHORT', `--ip-key-file ${options.ipKeyFile} holds ${ipKey.length} bytes; use at least 16 random bytes`);
  }
  // Only an alias can move: a run id, a version or a path always means the same bundle.
  let aliased = false;
  try {
    const parsed = parseModelReference(options.model);
    aliased = parsed.kind === 'registry' && 'alias' in parsed.selector;
  } catch {
    // resolveModel reports a bad reference with its own message.
  }
  // In a worker of --workers N, the primary set the index in its environment (the edge reads it).
  const workerIndex = cluster.isWorker ? Number(process.env.MLCTL_SERVE_WORKER ?? cluster.worker?.id ?? 0) : undefined;
  const worker =
    workerIndex === undefined
      ? undefined
      : {
          index: workerIndex,
          channel: {
            send: (message: import('../core/serving/serve-cluster.js').ToPrimary) => process.send?.(message),
            onMessage: (listener: (message: import('../core/serving/serve-cluster.js').ToWorker) => void) => {
              process.on('message', listener);
            },
          },
        };
  const monitor = monitorOptions(options);
  const daemon = await startServeDaemon({
    host: options.host,
    port: options.port,
    resolve: () => resolveModel(options.model, context),
    pollIntervalMs: aliased ? Math.round(options.reloadIntervalSeconds * 1000) : 0,
    ...(context.config.apiToken === undefined ? {} : { apiToken: context.config.apiToken }),
    ...(options.database ? { database: { url: context.config.databaseUrl, cwd: context.config.cwd } } : {}),
    predictionRetention: retention,
    ...(monitor === undefined ? {} : { monitor }),
    ...(options.histogramRetentionMs === undefined ? {} : { histogramRetentionMs: options.histogramRetentionMs }),
    accessLog: options.accessLog,
    ...(ipKey === undefined ? {} : { ipKey }),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    mlctlVersion: context.version,
    maxConnections: options.maxConnections ?? defaultMaxConnections(await openFileLimit()),
    headersTimeoutMs: options.headersTimeoutSeconds * 1000,
    requestTimeoutMs: options.requestTimeoutSeconds * 1000,
    logSink: context.streams.stderr,
    verbose: output.verbose,
    ...(worker === undefined ? {} : { worker }),
  });
  if (workerIndex === undefined && options.host !== '127.0.0.1' && options.host !== '::1' && options.host !== 'localhost' && context.config.apiToken === undefined) {
    daemon.logger.event('warn', 'unauthenticated', { message: `listening on ${options.host} without MLCTL_API_TOKEN: anyone who can reach it can predict and read /users` });
  }
  // A person at a terminal gets one line to read among the JSON logs; a pipe gets the logs alone.
  if (workerIndex === undefined && context.streams.stderr.isTTY === true && !output.quiet) {
    context.streams.stderr.write(`listening on ${daemon.url} — docs at /docs, metrics at /metrics\n`);
  }

  // Signals are handled here, at the edge: SIGHUP reloads; SIGTERM and Ctrl-C drain and return (exit 0 for SIGTERM).
  // A worker is told to drain by the primary; it drains on its own signal too (systemd signals every process).
  const onHangup = (): void => {
    void daemon.reload();
  };
  const stop = (): void => {
    void daemon.shutdown(drainTimeoutMs);
  };
  process.on('SIGHUP', onHangup);
  process.on('SIGTERM', stop);
  if (context.signal.aborted) stop();
  else context.signal.addEventListener('abort', stop, { once: true });
  const report = await daemon.stopped;
  process.off('SIGTERM', stop);
  process.off('SIGHUP', onHangup);
  context.signal.removeEventListener('abort', stop);
  if (worker !== undefined) {
    // Tell the primary what the drain did, then let go of it so this process can end.
    await new Promise<void>((resolve) => {
      if (process.send === undefined) resolve();
      else process.send({ type: 'mlctl:stopped', report }, () => resolve());
    });
    cluster.worker?.disconnect();
  }
}

/** The primary of `serve --workers N`: forks the workers, forwards signals, sums their drain. */
async function servePrimary(
  workers: number,
  drainTimeoutMs: number,
  options: ServeOptions,
  context: CliContext,
  cmd: Command,
  cluster: typeof import('node:cluster').default,
): Promise<void> {
  const [{ startServeCluster }, { createServeLogger }, { resolveModel }, { driftMetricsOptions }] = await Promise.all([
    import('../core/serving/serve-cluster.js'),
    import('../core/serving/request-log.js'),
    import('./shared/model-resolution.js'),
    import('../core/serving/drift-metrics.js'),
  ]);
  // A reference that names nothing fails here, with its own exit code, before any worker starts.
  await resolveModel(options.model, context);
  const logger = createServeLogger({ sink: context.streams.stderr, accessLog: false, sharedSink: true });
  const monitor = monitorOptions(options);
  const running = await startServeCluster({
    workers,
    logger,
    ...(monitor === undefined ? {} : { drift: driftMetricsOptions(monitor) }),
    fork: (index) => cluster.fork({ MLCTL_SERVE_WORKER: String(index) }),
  });
  if (options.host !== '127.0.0.1' && options.host !== '::1' && options.host !== 'localhost' && context.config.apiToken === undefined) {
    logger.event('warn', 'unauthenticated', { message: `listening on ${options.host} without MLCTL_API_TOKEN: anyone who can reach it can predict and read /users` });
  }
  if (context.streams.stderr.isTTY === true && !context.output(cmd).quiet) {
    context.streams.stderr.write(`listening on ${running.url} (${workers} workers) — docs at /docs, metrics at /metrics\n`);
  }
  const onHangup = (): void => running.reload();
  let stopping: Promise<void> | undefined;
  await new Promise<void>((resolve, reject) => {
    const stop = (): void => {
      stopping ??= running.shutdown(drainTimeoutMs).then((report) => {
        logger.event('info', 'stopped', {
          workers,
          answered_while_draining: report.answered,
          cut_requests: report.cutRequests,
          cut_partial: report.cutPartial,
          closed_idle: report.closedIdle,
          drain_ms: report.ms,
        });
        logger.flush();
      });
      stopping.then(resolve, reject);
    };
    process.on('SIGHUP', onHangup);
    process.on('SIGTERM', stop);
    if (context.signal.aborted) stop();
    else context.signal.addEventListener('abort', stop, { once: true });
  });
  process.off('SIGHUP', onHangup);
}
