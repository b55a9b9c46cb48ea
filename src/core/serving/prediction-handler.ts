/**
 * The daemon's request → response function. It needs no port: the HTTP layer hands it the
 * method, URL, two headers and the body bytes, and writes back what it returns, so every
 * route and error case is testable in-process (test/unit/serving/prediction-handler.test.ts).
 *
 * This module dispatches: it finds the route in the table (route-table.ts, which follows
 * the served task), checks the token and the method, runs the route (routes/*.ts, each a
 * named function of an explicit context), and writes every failure as JSON in the route's
 * protocol — 400 malformed or too deeply nested JSON, 401 missing token, 404 unknown route,
 * 405 wrong method, 413 body too large, 415 wrong content type, 422 schema violations
 * listing every bad field (records counted from 1), 503 not ready, 500 with no stack trace
 * (the trace goes to the log). /invocations answers MLflow's `{"error_code", "message"}`.
 * Then it counts the request in the metrics and writes the access-log line.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isMlctlError } from '../errors.js';
import { errorBody, HttpError, INTERNAL_MESSAGE, mlctlErrorToHttp, mlflowError } from './http-error.js';
import { NOT_FOUND_ROUTE, routeTable, USER_ROUTE } from './route-table.js';
import {
  createServeContext,
  JSON_CONTENT_TYPE,
  type Exchange,
  type Route,
  type ServeContext,
  type ServeHandlerOptions,
  type ServeRequest,
  type ServeResponse,
} from './serve-context.js';
import type { ServedModel } from './served-model.js';
import type { CounterChild, HistogramChild } from './metrics-registry.js';

export { JSON_CONTENT_TYPE } from './serve-context.js';
export type { ServeHandlerOptions, ServeRequest, ServeResponse } from './serve-context.js';
export { MAX_RECORDS } from './scoring.js';

/**
 * Bodies over this many bytes are refused with 413 (the HTTP layer stops reading at it):
 * room for MAX_RECORDS census records (about 3 MB of JSON).
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Methods counted under their own name in metrics; any other is "OTHER" (bounded labels). */
const KNOWN_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export interface ServeHandler {
  /** Answers one request; a Promise only when a route waits (a TensorFlow.js scorer, the database). */
  handle(request: ServeRequest): ServeResponse | Promise<ServeResponse>;
  /** While draining, readiness answers 503 so a load balancer stops sending traffic. */
  setDraining(draining: boolean): void;
}

/** The metric children of one route, method and status, looked up once. */
interface RequestMetrics {
  readonly count: CounterChild;
  readonly duration: HistogramChild;
}

export function createServeHandler(options: ServeHandlerOptions): ServeHandler {
  const app = createServeContext(options);
  const { holder, metrics, logger } = app;
  const tokenDigest = options.apiToken === undefined ? undefined : createHash('sha256').update(options.apiToken).digest();
  const tables = new WeakMap<ServedModel, ReadonlyMap<string, Route>>();
  const requestMetrics = new Map<string, Map<number, RequestMetrics>>();

  // The last model's table and the last request's metric children: nearly every request repeats them.
  let lastModel: ServedModel | undefined;
  let lastTable: ReadonlyMap<string, Route> = new Map();
  let lastCounted: { route: Route; method: string; status: number; metrics: RequestMetrics } | undefined;

  const routesOf = (model: ServedModel): ReadonlyMap<string, Route> => {
    if (model === lastModel) return lastTable;
    let table = tables.get(model);
    if (table === undefined) {
      table = routeTable(model);
      tables.set(model, table);
    }
    lastModel = model;
    lastTable = table;
    return table;
  };

  const metricsOf = (route: Route, method: string, status: number): RequestMetrics => {
    if (lastCounted !== undefined && lastCounted.route === route && lastCounted.status === status && lastCounted.method === method) return lastCounted.metrics;
    const found = lookUpMetrics(route, method, status);
    lastCounted = { route, method, status, metrics: found };
    return found;
  };

  const lookUpMetrics = (route: Route, method: string, status: number): RequestMetrics => {
    let byKey = requestMetrics.get(route.name);
    if (byKey === undefined) {
      byKey = new Map();
      requestMetrics.set(route.name, byKey);
    }
    let index = KNOWN_METHODS.indexOf(method);
    if (index < 0) index = KNOWN_METHODS.length;
    const key = status * 16 + index;
    let found = byKey.get(key);
    if (found === undefined) {
      const statusText = String(status);
      found = {
        count: metrics.requests.labels(route.name, KNOWN_METHODS[index] ?? 'OTHER', statusText),
        duration: metrics.duration.labels(route.name, statusText),
      };
      byKey.set(key, found);
    }
    return found;
  };

  const authorized = (header: string | undefined): boolean => {
    if (tokenDigest === undefined) return true;
    if (header === undefined || header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return false;
    // Digests have equal length whatever was sent, so the comparison time reveals nothing.
    return timingSafeEqual(createHash('sha256').update(header.slice(7).trim()).digest(), tokenDigest);
  };

  const dispatch = (c: Exchange, route: Route): ServeResponse | Promise<ServeResponse> => {
    const { request } = c;
    if (!route.public && !authorized(request.authorization)) {
      throw new HttpError(401, 'UNAUTHORIZED', 'this route needs Authorization: Bearer <MLCTL_API_TOKEN>', [], { 'www-authenticate': 'Bearer realm="mlctl"' });
    }
    if (route === NOT_FOUND_ROUTE) throw new HttpError(404, 'NOT_FOUND', `no route ${c.path}; see /docs for the routes`);
    const method = request.method === 'HEAD' && route.methods.GET !== undefined ? 'GET' : request.method;
    const run = route.methods[method];
    if (run === undefined) {
      const allowed = Object.keys(route.methods).join(', ');
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${c.path}; use ${allowed}`, [], { allow: allowed });
    }
    if (request.bodyTooLarge === true) throw new HttpError(413, 'BODY_TOO_LARGE', `the request body is over ${MAX_BODY_BYTES / 1024 / 1024} MiB; split the batch`);
    return run(c);
  };

  const failure = (route: Route, caught: unknown): { response: ServeResponse; code: string } => {
    let error: HttpError;
    if (caught instanceof HttpError) error = caught;
    else if (isMlctlError(caught)) error = mlctlErrorToHttp(caught);
    else {
      error = new HttpError(500, 'INTERNAL', INTERNAL_MESSAGE);
      logger.event('error', 'request-failed', { route: route.name, message: (caught as Error)?.message ?? String(caught), stack: (caught as Error)?.stack });
    }
    if (route.protocol === 'mlflow') {
      const { status, body } = mlflowError(error);
      return { response: { status, contentType: JSON_CONTENT_TYPE, body, headers: error.headers }, code: error.code };
    }
    return { response: { status: error.status, contentType: JSON_CONTENT_TYPE, body: errorBody(error), headers: error.headers }, code: error.code };
  };

  const finish = (c: Exchange, route: Route, response: ServeResponse, errorCode: string | undefined): ServeResponse => {
    metrics.inFlight.dec();
    const { request } = c;
    const seconds = (app.clock() - c.startedAt) / 1000;
    const counted = metricsOf(route, request.method, response.status);
    counted.count.inc();
    counted.duration.observe(seconds);
    logger.request({
      method: request.method,
      path: route === NOT_FOUND_ROUTE ? '(unknown)' : c.path,
      route: route.name,
      status: response.status,
      ms: seconds * 1000,
      client: logger.pseudonymize(request.clientIp),
      bytesIn: request.body.length,
      records: c.records,
      error: errorCode,
    });
    return response;
  };

  return {
    setDraining(value) {
      (app as ServeContext).draining = value;
    },
    handle(request) {
      const startedAt = request.startedAt ?? app.clock();
      const query = request.url.indexOf('?');
      const path = query < 0 ? request.url : request.url.slice(0, query);
      const route = routesOf(holder.current).get(path) ?? (path.startsWith('/users/') ? USER_ROUTE : NOT_FOUND_ROUTE);
      const c: Exchange = { app, request, path, startedAt, records: undefined };
      metrics.inFlight.inc();
      let result: ServeResponse | Promise<ServeResponse>;
      try {
        result = dispatch(c, route);
      } catch (caught) {
        const { response, code } = failure(route, caught);
        return finish(c, route, response, code);
      }
      if (!(result instanceof Promise)) return finish(c, route, result, undefined);
      return result.then(
        (response) => finish(c, route, response, undefined),
        (caught: unknown) => {
          const { response, code } = failure(route, caught);
          return finish(c, route, response, code);
        },
      );
    },
  };
}
