/**
 * The daemon's request → response function. It needs no port: the HTTP layer hands it the
 * method, URL, two headers and the body bytes, and writes back what it returns, so every
 * route and error case is testable in-process (test/unit/serving/prediction-handler.test.ts).
 *
 * Every answer is JSON (except /metrics and /docs), errors included: 400 malformed JSON,
 * 401 missing token, 404 unknown route, 405 wrong method, 413 body too large, 415 wrong
 * content type, 422 schema violations listing every bad field, 503 not ready, 500 with no
 * stack trace (the trace goes to the log).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { DataRecord } from '../datasets/dataset-spec.js';
import { isMlctlError, type MlctlError } from '../errors.js';
import { transformRecordInto } from '../features/pipeline.js';
import { compiledPipeline } from '../features/compiled-pipeline.js';
import { validateRecords, WHOLE_RECORD, type RecordProblem } from '../features/record-validation.js';
import { renderDocsPage } from './docs-page.js';
import { METRICS_CONTENT_TYPE } from './metrics-registry.js';
import type { ModelHolder } from './model-holder.js';
import { buildOpenApi, INCOME_OPTIONAL_FIELDS } from './openapi.js';
import type { PredictionRecorder } from './prediction-recorder.js';
import type { ServeLogger } from './request-log.js';
import type { ServedModel } from './served-model.js';
import type { ServingMetrics } from './serving-metrics.js';
import type { UserStore } from './user-store.js';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
/** Bodies over this many bytes are refused with 413 (the HTTP layer stops reading at it). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Records per /predict request; 1 MiB of JSON holds about 3,500 census records. */
export const MAX_RECORDS = 10_000;
/** Methods counted under their own name in metrics; any other is "OTHER" (bounded labels). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** At most this many problems are listed in one 422. */
const MAX_PROBLEMS = 100;

/** What the HTTP layer passes in. */
export interface ServeRequest {
  readonly method: string;
  /** Path and query, as in the request line. */
  readonly url: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  /** The body bytes (empty when there was none). */
  readonly body: Buffer;
  /** The body went over MAX_BODY_BYTES and was not read to the end. */
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
  /** MLCTL_API_TOKEN: when set, every route but /health and /ready needs `Authorization: Bearer <token>`. */
  readonly apiToken?: string;
  /** The users routes and prediction logging, when a migrated database is configured. */
  readonly users?: UserStore;
  readonly recorder?: PredictionRecorder;
  /** Why there is no database (the /users 404 says it). */
  readonly databaseUnavailable?: string;
  readonly mlctlVersion: string;
  /** Milliseconds, monotonic (default performance.now). */
  readonly clock?: () => number;
  readonly now?: () => Date;
}

export interface ServeHandler {
  handle(request: ServeRequest): Promise<ServeResponse>;
  /** While draining, /ready answers 503 so a load balancer stops sending traffic. */
  setDraining(draining: boolean): void;
}

/** A problem as a 422 lists it. */
interface FieldProblem {
  readonly record?: number;
  readonly field?: string;
  readonly message: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: readonly FieldProblem[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Per-request facts the log line and the metrics need. */
interface Exchange {
  readonly request: ServeRequest;
  readonly path: string;
  readonly startedAt: number;
  records: number | undefined;
}

type RouteHandler = (exchange: Exchange) => ServeResponse | Promise<ServeResponse>;

interface Route {
  /** The metrics label: fixed words only, so label cardinality stays bounded. */
  readonly name: string;
  /** Answers without a token (liveness and readiness probes). */
  readonly public: boolean;
  readonly methods: Readonly<Record<string, RouteHandler>>;
}

/** What the handler derives once per served model. */
interface ModelState {
  /** `{"name":…,"version":…}` */
  readonly identityJson: string;
  /** A binary classifier: answers splice the two labels' JSON. */
  readonly binary: boolean;
  readonly positiveLabel: string;
  readonly negativeLabel: string;
  /** JSON-escaped labels, ready to splice into a response. */
  readonly positiveJson: string;
  readonly negativeJson: string;
  readonly incomeRequired: readonly string[];
  /** The input columns, in the pipeline's order. */
  readonly columns: readonly string[];
  readonly width: number;
  features: Float32Array;
  openApi?: Record<string, unknown>;
  docs?: string;
}

function json(status: number, value: unknown, headers?: Readonly<Record<string, string>>): ServeResponse {
  return { status, contentType: JSON_CONTENT_TYPE, body: JSON.stringify(value), ...(headers === undefined ? {} : { headers }) };
}

function errorBody(error: HttpError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message, ...(error.problems.length > 0 ? { problems: error.problems } : {}) } });
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value === 'application/json') return true;
  const type = value.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function describeType(value: unknown): string {
  return Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The records of a /predict body: one record, an array, or MLflow's scoring-server shapes
 * (`dataframe_records`, `dataframe_split`, `instances`, `inputs` as rows or as columns).
 */
export function extractRecords(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (!isPlainObject(body)) {
    throw new HttpError(422, 'BODY_NOT_RECORDS', `the body must be a JSON object, an array of objects, or an MLflow payload; got ${describeType(body)}`);
  }
  if ('dataframe_records' in body) {
    const rows = body.dataframe_records;
    if (!Array.isArray(rows)) throw new HttpError(422, 'BODY_NOT_RECORDS', `dataframe_records must be an array of objects, got ${describeType(rows)}`, [{ field: 'dataframe_records', message: 'expected an array' }]);
    return rows;
  }
  if ('dataframe_split' in body) {
    const split = body.dataframe_split;
    const columns = isPlainObject(split) ? split.columns : undefined;
    const data = isPlainObject(split) ? split.data : undefined;
    const problems: FieldProblem[] = [];
    if (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string')) problems.push({ field: 'dataframe_split.columns', message: 'expected an array of column names' });
    if (!Array.isArray(data) || data.some((row) => !Array.isArray(row))) problems.push({ field: 'dataframe_split.data', message: 'expected an array of rows (arrays)' });
    if (problems.length > 0) throw new HttpError(422, 'BODY_NOT_RECORDS', 'dataframe_split must be {"columns": [...], "data": [[...], ...]}', problems);
    const names = columns as string[];
    const records = (data as unknown[][]).map((row, i) => {
      if (row.length !== names.length) problems.push({ record: i, field: 'dataframe_split.data', message: `row has ${row.length} values for ${names.length} columns` });
      const record: Record<string, unknown> = {};
      for (let c = 0; c < names.length; c++) record[names[c]!] = row[c];
      return record;
    });
    if (problems.length > 0) throw new HttpError(422, 'BODY_NOT_RECORDS', 'dataframe_split rows do not match its columns', problems.slice(0, MAX_PROBLEMS));
    return records;
  }
  for (const key of ['instances', 'inputs'] as const) {
    if (!(key in body)) continue;
    const value = body[key];
    if (Array.isArray(value)) return value;
    if (key === 'inputs' && isPlainObject(value)) return columnsToRecords(value);
    throw new HttpError(422, 'BODY_NOT_RECORDS', `${key} must be an array of records${key === 'inputs' ? ' or an object of columns' : ''}, got ${describeType(value)}`, [{ field: key, message: 'expected an array' }]);
  }
  return [body];
}

/** MLflow's columnar `inputs`: {"age": [39, 50], "sex": ["Male", "Female"]}. */
function columnsToRecords(columns: Record<string, unknown>): Record<string, unknown>[] {
  const names = Object.keys(columns);
  const problems: FieldProblem[] = [];
  let rows: number | undefined;
  for (const name of names) {
    const values = columns[name];
    if (!Array.isArray(values)) problems.push({ field: `inputs.${name}`, message: `expected an array of values, got ${describeType(values)}` });
    else if (rows === undefined) rows = values.length;
    else if (values.length !== rows) problems.push({ field: `inputs.${name}`, message: `has ${values.length} values, other columns ${rows}` });
  }
  if (problems.length > 0) throw new HttpError(422, 'BODY_NOT_RECORDS', 'inputs given as columns must be arrays of equal length', problems);
  return Array.from({ length: rows ?? 0 }, (_, i) => Object.fromEntries(names.map((name) => [name, (columns[name] as unknown[])[i]])));
}

function recordProblems(problems: readonly RecordProblem[], withRecord: boolean): FieldProblem[] {
  return problems.slice(0, MAX_PROBLEMS).map((p) => ({
    ...(withRecord ? { record: p.record } : {}),
    ...(p.field === WHOLE_RECORD ? {} : { field: p.field }),
    message: p.message,
  }));
}

function invalidRecords(problems: readonly FieldProblem[], total: number, single: boolean): HttpError {
  const more = total > problems.length ? ` (the first ${problems.length} are listed)` : '';
  const fields = single ? `: ${[...new Set(problems.map((p) => p.field ?? 'record'))].join(', ')}` : '';
  return new HttpError(422, 'INPUT_INVALID', `${total} problem${total === 1 ? '' : 's'} in the input${fields}; nothing was predicted${more}`, problems);
}

function mlctlErrorToHttp(error: MlctlError): HttpError {
  const problems = error.problems.map((message) => ({ message }));
  switch (error.category) {
    case 'usage':
      return new HttpError(422, error.code, error.message, problems);
    case 'not-found':
      return new HttpError(404, error.code, error.message, problems);
    case 'gate':
      return new HttpError(409, error.code, error.message, problems);
    case 'external':
      return new HttpError(503, error.code, error.message, problems);
    default:
      return new HttpError(500, 'INTERNAL', 'internal error; the daemon log has the details');
  }
}

export function createServeHandler(options: ServeHandlerOptions): ServeHandler {
  const { holder, metrics, logger } = options;
  const clock = options.clock ?? (() => performance.now());
  const now = options.now ?? (() => new Date());
  const tokenDigest = options.apiToken === undefined ? undefined : createHash('sha256').update(options.apiToken).digest();
  let draining = false;
  const states = new WeakMap<ServedModel, ModelState>();

  const onUnseen = (event: { column: string }): void => metrics.unseenCategories.labels(event.column).inc();

  const stateOf = (model: ServedModel): ModelState => {
    let state = states.get(model);
    if (state !== undefined) return state;
    const meaning = model.meaning;
    const binary = meaning.description.kind === 'binary-probability';
    const [negativeLabel, positiveLabel] = binary ? (meaning.labels as [string, string]) : ['', ''];
    const columns = compiledPipeline(model.pipeline).columns.map((c) => c.column);
    state = {
      identityJson: JSON.stringify({ name: model.name, version: model.version }),
      binary,
      positiveLabel,
      negativeLabel,
      positiveJson: JSON.stringify(positiveLabel),
      negativeJson: JSON.stringify(negativeLabel),
      incomeRequired: columns.filter((c) => !INCOME_OPTIONAL_FIELDS.includes(c)),
      columns,
      width: model.width,
      features: new Float32Array(model.width * 16),
    };
    states.set(model, state);
    return state;
  };

  const authorized = (header: string | undefined): boolean => {
    if (tokenDigest === undefined) return true;
    if (header === undefined || header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return false;
    // Digests have equal length whatever was sent, so the comparison time reveals nothing.
    return timingSafeEqual(createHash('sha256').update(header.slice(7).trim()).digest(), tokenDigest);
  };

  const readJson = (exchange: Exchange): unknown => {
    const { request } = exchange;
    if (!isJsonContentType(request.contentType)) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `send the body as application/json (Content-Type was ${request.contentType === undefined ? 'missing' : JSON.stringify(request.contentType)})`, [], {
        accept: 'application/json',
      });
    }
    const text = request.body.toString('utf8');
    if (text.trim() === '') throw new HttpError(400, 'BODY_EMPTY', 'the request body is empty; send a JSON document');
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new HttpError(400, 'BODY_MALFORMED_JSON', `the request body is not valid JSON: ${(error as Error).message}`);
    }
  };

  /** Grows the model's reusable feature buffer to `rows` rows. */
  const featuresFor = (state: ModelState, rows: number): Float32Array => {
    const needed = rows * state.width;
    if (state.features.length < needed) state.features = new Float32Array(Math.max(needed, state.features.length * 2));
    return state.features;
  };

  const score = async (model: ServedModel, features: Float32Array, rows: number): Promise<Float32Array> => {
    const result = model.scorer.score(features, rows);
    return result instanceof Promise ? await result : result;
  };

  const predictIncome: RouteHandler = async (exchange) => {
    const body = readJson(exchange);
    const model = holder.acquire();
    try {
      const state = stateOf(model);
      if (!state.binary) {
        throw new HttpError(404, 'ROUTE_NEEDS_CLASSIFIER', `/predict_income answers for a binary classifier; ${model.name} is not one: use POST /predict`);
      }
      if (!isPlainObject(body)) throw new HttpError(422, 'BODY_NOT_OBJECT', `the body must be one JSON object of census fields, got ${describeType(body)}`);
      exchange.records = 1;
      const validated = validateRecords(model.pipeline, [body]);
      let missing = false;
      for (let i = 0; i < state.incomeRequired.length && !missing; i++) missing = body[state.incomeRequired[i]!] === undefined;
      if (missing || validated.problems.length > 0) {
        const problems: FieldProblem[] = [];
        // In the model's column order: a missing field, else what is wrong with its value.
        for (const field of state.columns) {
          if (body[field] === undefined && state.incomeRequired.includes(field)) problems.push({ field, message: 'field required' });
          else problems.push(...recordProblems(validated.problems.filter((p) => p.field === field), false));
        }
        throw invalidRecords(problems, problems.length, true);
      }
      const features = featuresFor(state, 1);
      transformRecordInto(model.pipeline, validated.records[0]!, features, 0, onUnseen);
      const outputs = await score(model, features, 1);
      const probability = outputs[0]!;
      const positive = model.meaning.classOf(outputs, 0) === 1;
      metrics.predictions.labels(model.name, model.version, positive ? state.positiveLabel : state.negativeLabel).inc();
      metrics.batchSize.labels('predict_income').observe(1);
      options.recorder?.add({
        input: body,
        modelName: model.name,
        modelVersion: model.version,
        label: positive ? state.positiveLabel : state.negativeLabel,
        probability,
        latencyMs: clock() - exchange.startedAt,
        createdAt: now().toISOString(),
      });
      return {
        status: 200,
        contentType: JSON_CONTENT_TYPE,
        body: `{"income_gt_50k":${positive},"probability":${probability},"model":${state.identityJson}}`,
      };
    } finally {
      holder.release(model);
    }
  };

  const predict =
    (route: string): RouteHandler =>
    async (exchange) => {
      const records = extractRecords(readJson(exchange));
      exchange.records = records.length;
      if (records.length > MAX_RECORDS) throw new HttpError(422, 'TOO_MANY_RECORDS', `at most ${MAX_RECORDS} records per request, got ${records.length}; split the batch`);
      const model = holder.acquire();
      try {
        const state = stateOf(model);
        // As `mlctl predict`: a field left out is a mistake; an explicit null asks for imputation.
        const validated = validateRecords(model.pipeline, records, { absent: 'error' });
        if (validated.problems.length > 0) throw invalidRecords(recordProblems(validated.problems, true), validated.problems.length, false);
        const rows = records.length;
        const features = featuresFor(state, rows);
        for (let i = 0; i < rows; i++) transformRecordInto(model.pipeline, validated.records[i] as DataRecord, features, i * state.width, onUnseen, i);
        const outputs = await score(model, features, rows);
        metrics.batchSize.labels(route).observe(rows);
        const latencyMs = clock() - exchange.startedAt;
        const createdAt = options.recorder === undefined ? '' : now().toISOString();
        const parts: string[] = new Array<string>(rows);
        const meaning = model.meaning;
        let positives = 0;
        for (let i = 0; i < rows; i++) {
          const input = records[i] as Record<string, unknown>;
          const id = input.id;
          const idPart = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? `"id":${JSON.stringify(id)},` : '';
          let label: string;
          if (state.binary) {
            const value = outputs[i]!;
            const positive = meaning.classOf(outputs, i) === 1;
            if (positive) positives++;
            label = positive ? state.positiveLabel : state.negativeLabel;
            parts[i] = `{${idPart}"label":${positive ? state.positiveJson : state.negativeJson},"probability":${value}}`;
          } else if (meaning.classification) {
            label = meaning.labelOf(outputs, i);
            parts[i] = `{${idPart}${JSON.stringify(meaning.answer(outputs, i)).slice(1)}`;
            metrics.predictions.labels(model.name, model.version, label).inc();
          } else {
            const prediction = meaning.valueOf(outputs, i);
            label = String(prediction);
            parts[i] = `{${idPart}"prediction":${Number.isFinite(prediction) ? prediction : null}}`;
          }
          options.recorder?.add({
            input,
            modelName: model.name,
            modelVersion: model.version,
            label,
            probability: state.binary ? outputs[i]! : meaning.classification ? meaning.valueOf(outputs, i) : null,
            latencyMs,
            createdAt,
          });
        }
        if (state.binary) {
          if (positives > 0) metrics.predictions.labels(model.name, model.version, state.positiveLabel).inc(positives);
          if (rows - positives > 0) metrics.predictions.labels(model.name, model.version, state.negativeLabel).inc(rows - positives);
        } else if (!meaning.classification && rows > 0) {
          metrics.predictions.labels(model.name, model.version, 'value').inc(rows);
        }
        return { status: 200, contentType: JSON_CONTENT_TYPE, body: `{"predictions":[${parts.join(',')}]}` };
      } finally {
        holder.release(model);
      }
    };

  const modelSummary = (model: ServedModel): Record<string, unknown> => ({
    name: model.name,
    version: model.version,
    runId: model.runId,
    task: model.manifest.task.name,
    problemType: model.manifest.problemType,
    family: model.manifest.modelFamily,
    scorer: model.scorer.kind,
    bundleSha256: model.bundleSha256,
    bundleDir: model.bundleDir,
    source: model.source,
    createdAt: model.manifest.createdAt,
    loadedAt: model.loadedAt.toISOString(),
    metrics: model.manifest.metrics,
    output: model.manifest.output,
  });

  const openApiOf = (model: ServedModel): Record<string, unknown> => {
    const state = stateOf(model);
    state.openApi ??= buildOpenApi({
      model,
      mlctlVersion: options.mlctlVersion,
      authRequired: tokenDigest !== undefined,
      usersAvailable: options.users !== undefined,
    });
    return state.openApi;
  };

  const users = (): UserStore => {
    if (options.users === undefined) {
      throw new HttpError(404, 'USERS_UNAVAILABLE', `the users routes need a migrated database: ${options.databaseUnavailable ?? 'none is configured'}`);
    }
    return options.users;
  };

  const userId = (exchange: Exchange): number => {
    const text = exchange.path.slice('/users/'.length);
    const id = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(id) || id < 1) throw new HttpError(422, 'USER_ID_INVALID', `user id must be a whole number of at least 1, got "${text}"`);
    return id;
  };

  const userBody = (exchange: Exchange): Record<string, unknown> => {
    const body = readJson(exchange);
    if (!isPlainObject(body)) throw new HttpError(422, 'BODY_NOT_OBJECT', `send the user as one JSON object, got ${describeType(body)}`);
    return body;
  };

  const queryNumber = (params: URLSearchParams, name: string): number | undefined => {
    const text = params.get(name);
    if (text === null) return undefined;
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n) || n < 0) throw new HttpError(422, 'QUERY_INVALID', `${name} must be a whole number of at least 0, got "${text}"`, [{ field: name, message: 'expected a whole number ≥ 0' }]);
    return n;
  };

  const health: Route = { name: 'health', public: true, methods: { GET: () => json(200, { status: 'ok' }) } };
  const ROUTES = new Map<string, Route>([
    ['/predict_income', { name: 'predict_income', public: false, methods: { POST: predictIncome } }],
    ['/predict', { name: 'predict', public: false, methods: { POST: predict('predict') } }],
    ['/invocations', { name: 'invocations', public: false, methods: { POST: predict('invocations') } }],
    ['/health', health],
    ['/healthz', health],
    [
      '/ready',
      {
        name: 'ready',
        public: true,
        methods: {
          GET: () => {
            if (draining) return json(503, { status: 'draining' });
            const model = holder.current;
            return json(200, { status: 'ready', model: { name: model.name, version: model.version } });
          },
        },
      },
    ],
    ['/metrics', { name: 'metrics', public: false, methods: { GET: () => ({ status: 200, contentType: METRICS_CONTENT_TYPE, body: metrics.registry.render() }) } }],
    ['/models', { name: 'models', public: false, methods: { GET: () => json(200, { models: [modelSummary(holder.current)] }) } }],
    ['/openapi.json', { name: 'openapi', public: false, methods: { GET: () => json(200, openApiOf(holder.current)) } }],
    [
      '/docs',
      {
        name: 'docs',
        public: false,
        methods: {
          GET: () => {
            const model = holder.current;
            const state = stateOf(model);
            state.docs ??= renderDocsPage(openApiOf(model));
            return { status: 200, contentType: 'text/html; charset=utf-8', body: state.docs };
          },
        },
      },
    ],
    [
      '/users',
      {
        name: 'users',
        public: false,
        methods: {
          GET: async (exchange) => {
            const store = users();
            const params = new URL(exchange.request.url, 'http://localhost').searchParams;
            const limit = queryNumber(params, 'limit');
            const offset = queryNumber(params, 'offset');
            return json(200, await store.list({ where: params.getAll('where'), ...(limit === undefined ? {} : { limit }), ...(offset === undefined ? {} : { offset }) }));
          },
          POST: async (exchange) => {
            const store = users();
            return json(201, await store.add(userBody(exchange)));
          },
        },
      },
    ],
  ]);
  const updateUser: RouteHandler = async (exchange) => {
    const store = users();
    const id = userId(exchange);
    return json(200, await store.update(id, userBody(exchange)));
  };
  const userRoute: Route = {
    name: 'users_id',
    public: false,
    methods: {
      GET: async (exchange) => json(200, await users().get(userId(exchange))),
      PATCH: updateUser,
      PUT: updateUser,
      DELETE: async (exchange) => json(200, await users().remove(userId(exchange))),
    },
  };
  const notFound: Route = { name: 'other', public: false, methods: {} };

  const dispatch = async (exchange: Exchange, route: Route): Promise<ServeResponse> => {
    const { request } = exchange;
    if (!route.public && !authorized(request.authorization)) {
      throw new HttpError(401, 'UNAUTHORIZED', 'this route needs Authorization: Bearer <MLCTL_API_TOKEN>', [], { 'www-authenticate': 'Bearer realm="mlctl"' });
    }
    if (route === notFound) throw new HttpError(404, 'NOT_FOUND', `no route ${exchange.path}; see /docs for the routes`);
    const method = request.method === 'HEAD' && route.methods.GET !== undefined ? 'GET' : request.method;
    const run = route.methods[method];
    if (run === undefined) {
      const allowed = Object.keys(route.methods).join(', ');
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${exchange.path}; use ${allowed}`, [], { allow: allowed });
    }
    if (request.bodyTooLarge === true) throw new HttpError(413, 'BODY_TOO_LARGE', `the request body is over ${MAX_BODY_BYTES} bytes (1 MiB); split the batch`);
    return run(exchange);
  };

  return {
    setDraining(value) {
      draining = value;
    },
    async handle(request) {
      const startedAt = request.startedAt ?? clock();
      const query = request.url.indexOf('?');
      const path = query < 0 ? request.url : request.url.slice(0, query);
      const route = ROUTES.get(path) ?? (path.startsWith('/users/') ? userRoute : notFound);
      const exchange: Exchange = { request, path, startedAt, records: undefined };
      metrics.inFlight.inc();
      let response: ServeResponse;
      let errorCode: string | undefined;
      try {
        response = await dispatch(exchange, route);
      } catch (caught) {
        let error: HttpError;
        if (caught instanceof HttpError) error = caught;
        else if (isMlctlError(caught)) error = mlctlErrorToHttp(caught);
        else {
          error = new HttpError(500, 'INTERNAL', 'internal error; the daemon log has the details');
          logger.event('error', 'request-failed', { route: route.name, message: (caught as Error)?.message ?? String(caught), stack: (caught as Error)?.stack });
        }
        errorCode = error.code;
        response = { status: error.status, contentType: JSON_CONTENT_TYPE, body: errorBody(error), headers: error.headers };
      } finally {
        metrics.inFlight.dec();
      }
      const seconds = (clock() - startedAt) / 1000;
      const status = String(response.status);
      metrics.requests.labels(route.name, KNOWN_METHODS.has(request.method) ? request.method : 'OTHER', status).inc();
      metrics.duration.labels(route.name, status).observe(seconds);
      logger.request({
        method: request.method,
        path: route === notFound ? '(unknown)' : path,
        route: route.name,
        status: response.status,
        ms: seconds * 1000,
        client: logger.pseudonymize(request.clientIp),
        bytesIn: request.body.length,
        ...(exchange.records === undefined ? {} : { records: exchange.records }),
        ...(errorCode === undefined ? {} : { error: errorCode }),
      });
      return response;
    },
  };
}
