import { Option, type Command } from 'commander';
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
  readonly accessLog: boolean;
  readonly database: boolean;
  /** A file holding the HMAC key for client pseudonyms (default: a random key per process). */
  readonly ipKeyFile?: string;
  readonly backend?: string;
}

export const DEFAULT_PREDICTION_RETENTION = '30d,1000000';

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
      accessLog: flags.accessLog !== false,
      database: flags.database !== false,
      ...(typeof flags.ipKeyFile === 'string' ? { ipKeyFile: flags.ipKeyFile } : {}),
      ...(backend === undefined ? {} : { backend }),
    };
    await serve(options, context, cmd);
  });
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
  const daemon = await startServeDaemon({
    host: options.host,
    port: options.port,
    resolve: () => resolveModel(options.model, context),
    pollIntervalMs: aliased ? Math.round(options.reloadIntervalSeconds * 1000) : 0,
    ...(context.config.apiToken === undefined ? {} : { apiToken: context.config.apiToken }),
    ...(options.database ? { database: { url: context.config.databaseUrl, cwd: context.config.cwd } } : {}),
    predictionRetention: retention,
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
  const [{ startServeCluster }, { createServeLogger }, { resolveModel }] = await Promise.all([
    import('../core/serving/serve-cluster.js'),
    import('../core/serving/request-log.js'),
    import('./shared/model-resolution.js'),
  ]);
  // A reference that names nothing fails here, with its own exit code, before any worker starts.
  await resolveModel(options.model, context);
  const logger = createServeLogger({ sink: context.streams.stderr, accessLog: false, sharedSink: true });
  const running = await startServeCluster({
    workers,
    logger,
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
