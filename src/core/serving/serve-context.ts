/**
 * The explicit context every route reads, as Hono hands its handlers `c`: the app-wide
 * parts (`ServeContext`: model holder, metrics, log, database, clock) built once, and the
 * per-request `Exchange`. Routes are named functions of an Exchange (routes/*.ts),
 * registered in one table (route-table.ts).
 */
import type { DriftMonitor } from './drift-monitor.js';
import type { ModelHolder } from './model-holder.js';
import { modelStateOf, type ModelState } from './model-state.js';
import type { PredictionRecorder } from './prediction-recorder.js';
import type { ServeLogger } from './request-log.js';
import type { ServedModel } from './served-model.js';
import type { ServingMetrics } from './serving-metrics.js';
import type { UserStore } from './user-store.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** What the HTTP layer passes in. */
export interface ServeRequest {
  readonly method: string;
  /** Path and query, as in the request line. */
  readonly url: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  /** The body bytes (empty when there was none). */
  readonly body: Buffer;
  /** The body went over the size limit and was not read to the end. */
  readonly bodyTooLarge?: boolean;
  readonly clientIp: string;
  /** Clock reading when the request arrived (default: when `handle` is called). */
  readonly startedAt?: number;
}

export interface ServeResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ServeHandlerOptions {
  readonly holder: Pick<ModelHolder, 'acquire' | 'release' | 'current'>;
  readonly metrics: ServingMetrics;
  readonly logger: ServeLogger;
  /** MLCTL_API_TOKEN: when set, every route but the probes needs `Authorization: Bearer <token>`. */
  readonly apiToken?: string;
  /** The users routes and prediction logging, when a migrated database is configured. */
  readonly users?: UserStore;
  readonly recorder?: PredictionRecorder;
  /** Bins answered records for drift monitoring (absent: --monitor-window 0). */
  readonly drift?: Pick<DriftMonitor, 'record'>;
  /** Why there is no database (the /users 404 says it). */
  readonly databaseUnavailable?: string;
  readonly mlctlVersion: string;
  /**
   * The /metrics text; default this process's registry. With --workers the daemon passes
   * one that gathers every worker's figures.
   */
  readonly renderMetrics?: () => string | Promise<string>;
  /** Milliseconds, monotonic (default performance.now). */
  readonly clock?: () => number;
  readonly now?: () => Date;
}

/** The app-wide context routes read. */
export interface ServeContext {
  readonly holder: ServeHandlerOptions['holder'];
  readonly metrics: ServingMetrics;
  readonly logger: ServeLogger;
  readonly users: UserStore | undefined;
  readonly recorder: PredictionRecorder | undefined;
  readonly drift: Pick<DriftMonitor, 'record'> | undefined;
  readonly databaseUnavailable: string | undefined;
  readonly mlctlVersion: string;
  /** A bearer token is required on every non-probe route. */
  readonly authRequired: boolean;
  readonly clock: () => number;
  readonly now: () => Date;
  /** Set while SIGTERM drains: readiness answers 503. */
  draining: boolean;
  renderMetrics(): string | Promise<string>;
  /** What the handler derives once per served model (labels, buffers, documents). */
  modelState(model: ServedModel): ModelState;
}

/** One request, as a route sees it. */
export interface Exchange {
  readonly app: ServeContext;
  readonly request: ServeRequest;
  /** The path without its query string. */
  readonly path: string;
  readonly startedAt: number;
  /** Records in the request, for the access log. */
  records: number | undefined;
}

export type RouteHandler = (c: Exchange) => ServeResponse | Promise<ServeResponse>;

export interface Route {
  /** The metrics label: fixed words only, so label cardinality stays bounded. */
  readonly name: string;
  /** Answers without a token (liveness and readiness probes). */
  readonly public: boolean;
  /** How errors are written: mlctl's shape, or MLflow's on /invocations. */
  readonly protocol: 'mlctl' | 'mlflow';
  readonly methods: Readonly<Record<string, RouteHandler>>;
}

export function createServeContext(options: ServeHandlerOptions): ServeContext {
  const states = new WeakMap<ServedModel, ModelState>();
  // The last model's state: nearly every request asks for the same one.
  let lastModel: ServedModel | undefined;
  let lastState: ModelState | undefined;
  const renderMetrics = options.renderMetrics ?? (() => options.metrics.registry.render());
  return {
    holder: options.holder,
    metrics: options.metrics,
    logger: options.logger,
    users: options.users,
    recorder: options.recorder,
    drift: options.drift,
    databaseUnavailable: options.databaseUnavailable,
    mlctlVersion: options.mlctlVersion,
    authRequired: options.apiToken !== undefined,
    clock: options.clock ?? (() => performance.now()),
    now: options.now ?? (() => new Date()),
    draining: false,
    renderMetrics,
    modelState(model) {
      if (model === lastModel) return lastState!;
      let state = states.get(model);
      if (state === undefined) {
        state = modelStateOf(model, options.metrics);
        states.set(model, state);
      }
      lastModel = model;
      lastState = state;
      return state;
    },
  };
}

export function json(status: number, value: unknown, headers?: Readonly<Record<string, string>>): ServeResponse {
  return { status, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(value), ...(headers === undefined ? {} : { headers }) };
}
