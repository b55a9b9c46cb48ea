import { Option, type Command } from 'commander';
import type { CliContext } from '../ui/context.js';
import { SECONDS_RANGE, parseFloatFlag, parseIntFlag, withExamples } from '../ui/context.js';

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
  readonly accessLog: boolean;
  readonly database: boolean;
  /** A file holding the HMAC key for client pseudonyms (default: a random key per process). */
  readonly ipKeyFile?: string;
  readonly backend?: string;
}

export function registerServeCommands(program: Command, context: CliContext): void {
  const command = program
    .command('serve')
    .description('serve a model over HTTP: /predict_income, /predict (MLflow shapes), /metrics, /docs, /users with a database')
    .option('-m, --model <ref>', 'a run id or name, runs:/<id>, name@alias, name/<version>, a bundle path or s3://bucket/prefix', 'income@production')
    .option('-p, --port <port>', 'TCP port (0 picks a free one)', parseIntFlag('--port'), 8500)
    .option('--host <address>', 'address to bind (0.0.0.0 exposes the daemon to the network)', '127.0.0.1')
    .option('--reload-interval <seconds>', 'how often a name@alias model is re-resolved (in the registry, the database for a team store); 0 turns it off', parseFloatFlag('--reload-interval', SECONDS_RANGE), 0.5)
    .option('--drain-timeout <seconds>', 'how long SIGTERM waits for requests in flight', parseFloatFlag('--drain-timeout', SECONDS_RANGE), 10)
    .option('--no-access-log', 'no JSON line per request on stderr')
    .option('--no-database', 'ignore DATABASE_URL: no /users routes, predictions are not stored')
    .option('--ip-key-file <file>', 'HMAC key for client IP pseudonyms in the log (default: random per process)')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend, for bundles the lean JavaScript path cannot run').choices(['node', 'wasm', 'cpu']));
  withExamples(
    command,
    'mlctl serve',
    'mlctl serve --model income/3 --port 8080',
    `curl -s localhost:8500/predict_income -H 'content-type: application/json' -d '{"age": 39, "workclass": "State-gov", "fnlwgt": 77516, "education": "Bachelors", "education_num": 13, "marital_status": "Never-married", "occupation": "Adm-clerical", "relationship": "Not-in-family", "capital_gain": 2174, "capital_loss": 0, "hours_per_week": 40, "native_country": "United-States"}'`,
    'MLCTL_API_TOKEN=s3cret mlctl serve --host 0.0.0.0   # clients then send: Authorization: Bearer s3cret',
    "kill -HUP \"$(pgrep -f 'mlctl serve')\"   # reload the model; SIGTERM drains and exits 0",
  );
  command.addHelpText(
    'after',
    `
Routes: POST /predict_income, /predict, /invocations; GET /health, /ready, /metrics,
/openapi.json, /docs, /models; /users and /users/<id> when DATABASE_URL names a migrated
database. Logs are JSON lines on stderr; client IPs are pseudonymised, inputs never logged.
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
      accessLog: flags.accessLog !== false,
      database: flags.database !== false,
      ...(typeof flags.ipKeyFile === 'string' ? { ipKeyFile: flags.ipKeyFile } : {}),
      ...(backend === undefined ? {} : { backend }),
    };
    await serve(options, context, cmd);
  });
}

async function serve(options: ServeOptions, context: CliContext, cmd: Command): Promise<void> {
  const { UsageError } = await import('../core/errors.js');
  const [{ resolveModel }, { startServeDaemon }, { parseModelReference }, { readFile }] = await Promise.all([
    import('./shared/model-resolution.js'),
    import('../core/serving/serve-daemon.js'),
    import('../core/tracking/model-reference.js'),
    import('node:fs/promises'),
  ]);
  const output = context.output(cmd);
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
  const daemon = await startServeDaemon({
    host: options.host,
    port: options.port,
    resolve: () => resolveModel(options.model, context),
    pollIntervalMs: aliased ? Math.round(options.reloadIntervalSeconds * 1000) : 0,
    ...(context.config.apiToken === undefined ? {} : { apiToken: context.config.apiToken }),
    ...(options.database ? { database: { url: context.config.databaseUrl, cwd: context.config.cwd } } : {}),
    accessLog: options.accessLog,
    ...(ipKey === undefined ? {} : { ipKey }),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    mlctlVersion: context.version,
    logSink: context.streams.stderr,
    verbose: output.verbose,
  });
  if (options.host !== '127.0.0.1' && options.host !== '::1' && options.host !== 'localhost' && context.config.apiToken === undefined) {
    daemon.logger.event('warn', 'unauthenticated', { message: `listening on ${options.host} without MLCTL_API_TOKEN: anyone who can reach it can predict and read /users` });
  }
  // A person at a terminal gets one line to read among the JSON logs; a pipe gets the logs alone.
  if (context.streams.stderr.isTTY === true && !output.quiet) {
    context.streams.stderr.write(`listening on ${daemon.url} — docs at /docs, metrics at /metrics\n`);
  }

  // Signals are handled here, at the edge: SIGHUP reloads; SIGTERM and Ctrl-C drain and return (exit 0 for SIGTERM).
  await new Promise<void>((resolve, reject) => {
    let stopping = false;
    const onHangup = (): void => {
      void daemon.reload();
    };
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', stop);
      process.off('SIGHUP', onHangup);
      context.signal.removeEventListener('abort', stop);
      daemon.shutdown(options.drainTimeoutSeconds * 1000).then(resolve, reject);
    };
    process.on('SIGHUP', onHangup);
    process.on('SIGTERM', stop);
    if (context.signal.aborted) stop();
    else context.signal.addEventListener('abort', stop, { once: true });
  });
}
