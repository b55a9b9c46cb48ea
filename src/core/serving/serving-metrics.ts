import { MetricsRegistry, type Counter, type CounterChild, type Gauge, type GaugeChild, type Histogram } from './metrics-registry.js';
import type { ServedModel } from './served-model.js';

/** Request latency buckets in seconds: sub-millisecond answers up to multi-second stalls. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

/**
 * Every metric the daemon exports. monitoring/grafana's dashboard queries these names;
 * test/e2e/monitoring.test.ts checks that each one it names is really exported.
 */
export interface ServingMetrics {
  readonly registry: MetricsRegistry;
  /** route, method, status */
  readonly requests: Counter;
  /** route, status */
  readonly duration: Histogram;
  readonly inFlight: GaugeChild;
  /** model, version, label */
  readonly predictions: Counter;
  /** route */
  readonly batchSize: Histogram;
  /** column */
  readonly unseenCategories: Counter;
  /** Counts an unseen category (the pipeline's onUnseen callback). */
  readonly onUnseen: (event: { readonly column: string }) => void;
  /** feature: an input value outside the training range or the known categories */
  readonly inputOutOfRange: Counter;
  /** Open client connections. */
  readonly connections: GaugeChild;
  /** reason: evicted, refused, idle-timeout */
  readonly connectionsClosed: Counter;
  /** Rows removed from the predictions table by --prediction-retention. */
  readonly predictionsPruned: CounterChild;
  /** reason, result */
  readonly reloads: Counter;
  /** result: written, dropped */
  readonly predictionRows: Counter;
  /** Drift histogram windows sent to the database; result: written, failed (tried again), dropped */
  readonly driftWindows: Counter;
  /** Model info and load time follow the served model. */
  setModel(model: ServedModel): void;
}

export interface ServingMetricsOptions {
  /** Process figures read at each scrape; replaceable in tests. */
  readonly memoryUsage?: () => NodeJS.MemoryUsage;
  readonly cpuUsage?: () => NodeJS.CpuUsage;
  readonly startTimeSeconds?: number;
}

export function createServingMetrics(options: ServingMetricsOptions = {}): ServingMetrics {
  const registry = new MetricsRegistry();
  const memoryUsage = options.memoryUsage ?? (() => process.memoryUsage());
  const cpuUsage = options.cpuUsage ?? (() => process.cpuUsage());

  const requests = registry.counter('mlctl_http_requests_total', 'HTTP requests answered, by route, method and status code.', ['route', 'method', 'status']);
  const duration = registry.histogram(
    'mlctl_http_request_duration_seconds',
    'Time from the request arriving to its answer being handed to the socket, by route and status code.',
    ['route', 'status'],
    LATENCY_BUCKETS,
  );
  const inFlight = registry.gauge('mlctl_http_requests_in_flight', 'Requests being handled now.').labels();
  const predictions = registry.counter('mlctl_predictions_total', 'Records scored, by model, version and predicted label ("value" for regression).', ['model', 'version', 'label']);
  const batchSize = registry.histogram('mlctl_prediction_batch_size', 'Records per prediction request, by route.', ['route'], BATCH_BUCKETS);
  const unseenCategories = registry.counter('mlctl_unseen_categories_total', 'Categorical values not seen in training, by column.', ['column']);
  const inputOutOfRange = registry.counter(
    'mlctl_input_out_of_range_total',
    'Input values answered although outside the training range (numbers) or the known categories, by feature.',
    ['feature'],
  );
  const modelInfo: Gauge = registry.gauge(
    'mlctl_model_info',
    'The served model (always 1): name, version, run, bundle manifest SHA-256, family and scorer.',
    ['name', 'version', 'run_id', 'bundle_sha256', 'family', 'scorer'],
    undefined,
    'max',
  );
  const modelLoaded = registry.gauge('mlctl_model_loaded_timestamp_seconds', 'When the served model was loaded (Unix time).', [], undefined, 'max').labels();
  const connections = registry.gauge('mlctl_http_connections', 'Client connections open now.').labels();
  const connectionsClosed = registry.counter(
    'mlctl_http_connections_closed_total',
    'Connections the daemon closed to protect itself: evicted (an idle or slow one, to admit a new one at --max-connections), refused (at the cap with none to evict), idle-timeout (no request within the header timeout).',
    ['reason'],
  );
  const predictionsPruned = registry.counter('mlctl_predictions_pruned_total', 'Stored predictions removed by --prediction-retention.').labels();
  // 1 per process: summed over `serve --workers N`, it says how many workers a scrape covers.
  registry.gauge('mlctl_serve_workers', 'Serving processes whose figures this scrape sums (serve --workers).').labels().set(1);
  const reloads = registry.counter('mlctl_model_reloads_total', 'Model reloads, by reason (signal, alias) and result (swapped, failed).', ['reason', 'result']);
  const predictionRows = registry.counter('mlctl_prediction_log_rows_total', 'Predictions sent to the database, by result (written, dropped).', ['result']);
  const driftWindows = registry.counter(
    'mlctl_drift_windows_total',
    'Drift histogram windows (one per model version and --monitor-window) sent to the database, by result: written, failed (kept and tried again), dropped.',
    ['result'],
  );

  let lastCpu = { user: 0, system: 0 };
  const cpu = registry.counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', [], () => {
    const now = cpuUsage();
    const delta = now.user - lastCpu.user + (now.system - lastCpu.system);
    lastCpu = now;
    if (delta > 0) cpu.labels().inc(delta / 1e6);
  });
  cpu.labels();
  const rss = registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [], () => rss.labels().set(memoryUsage().rss));
  const heap = registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', [], () => heap.labels().set(memoryUsage().heapUsed));
  registry
    .gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', [], undefined, 'min')
    .labels()
    .set(options.startTimeSeconds ?? Math.round(Date.now() / 1000 - process.uptime()));
  const unseenByColumn = new Map<string, CounterChild>();

  return {
    registry,
    requests,
    duration,
    inFlight,
    predictions,
    batchSize,
    unseenCategories,
    onUnseen(event) {
      let child = unseenByColumn.get(event.column);
      if (child === undefined) {
        child = unseenCategories.labels(event.column);
        unseenByColumn.set(event.column, child);
      }
      child.inc();
    },
    inputOutOfRange,
    connections,
    connectionsClosed,
    predictionsPruned,
    reloads,
    predictionRows,
    driftWindows,
    setModel(model) {
      modelInfo.reset();
      modelInfo.labels(model.name, model.version, model.runId ?? '', model.bundleSha256, model.manifest.modelFamily, model.scorer.kind).set(1);
      modelLoaded.set(model.loadedAt.getTime() / 1000);
    },
  };
}
