import type { BundleManifest } from '../bundle/bundle-manifest.js';

/** Fields /predict_income accepts without: the seed's body leaves them out. */
export const INCOME_OPTIONAL_FIELDS: readonly string[] = ['race', 'sex'];

/** The seed service's curl body (race and sex left out, as there). */
export const SEED_INCOME_EXAMPLE: Readonly<Record<string, unknown>> = Object.freeze({
  age: 39,
  workclass: 'State-gov',
  fnlwgt: 77516,
  education: 'Bachelors',
  education_num: 13,
  marital_status: 'Never-married',
  occupation: 'Adm-clerical',
  relationship: 'Not-in-family',
  capital_gain: 2174,
  capital_loss: 0,
  hours_per_week: 40,
  native_country: 'United-States',
});

export interface OpenApiOptions {
  readonly model: { readonly name: string; readonly version: string; readonly manifest: BundleManifest };
  readonly mlctlVersion: string;
  readonly authRequired: boolean;
  readonly usersAvailable: boolean;
}

/** An example input record: the seed's body for the income task, else one built from the schema. */
export function exampleRecord(manifest: BundleManifest): Record<string, unknown> {
  const properties = (manifest.inputSchema.properties ?? {}) as Record<string, { type?: unknown; enum?: readonly unknown[] }>;
  if (manifest.task.name === 'income' && Object.keys(SEED_INCOME_EXAMPLE).every((key) => key in properties)) return { ...SEED_INCOME_EXAMPLE };
  const example: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    const known = property.enum?.find((value) => value !== null);
    const types = Array.isArray(property.type) ? property.type : [property.type];
    example[name] = known ?? (types.includes('number') ? 0 : '');
  }
  return example;
}

type Json = Record<string, unknown>;

const errorResponse = (description: string): Json => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/**
 * OpenAPI 3.1 for the daemon, built from the served bundle's input signature
 * (manifest.inputSchema, JSON Schema 2020-12, which OpenAPI 3.1 embeds as is).
 */
export function buildOpenApi(options: OpenApiOptions): Json {
  const { manifest } = options.model;
  const input = manifest.inputSchema;
  const properties = (input.properties ?? {}) as Record<string, unknown>;
  const classification = manifest.output.kind === 'binary-probability';
  const incomeRecord: Json = {
    ...input,
    required: Object.keys(properties).filter((name) => !INCOME_OPTIONAL_FIELDS.includes(name)),
  };
  delete incomeRecord.$schema;
  // /predict, as `mlctl predict`, wants every field; null asks for imputation where the pipeline can.
  const record: Json = { ...input, required: Object.keys(properties) };
  delete record.$schema;
  const example = exampleRecord(manifest);
  const security = options.authRequired ? [{ bearer: [] }] : [];
  const common = {
    '401': errorResponse('Missing or wrong bearer token (only when MLCTL_API_TOKEN is set)'),
  };
  const jsonBody = (schema: Json, example?: unknown): Json => ({
    required: true,
    content: { 'application/json': { schema, ...(example === undefined ? {} : { example }) } },
  });
  const predictBody = jsonBody(
    {
      oneOf: [
        { $ref: '#/components/schemas/InputRecord' },
        { type: 'array', items: { $ref: '#/components/schemas/InputRecord' } },
        { type: 'object', required: ['dataframe_records'], properties: { dataframe_records: { type: 'array', items: { $ref: '#/components/schemas/InputRecord' } } } },
        {
          type: 'object',
          required: ['dataframe_split'],
          properties: { dataframe_split: { type: 'object', required: ['columns', 'data'], properties: { columns: { type: 'array', items: { type: 'string' } }, data: { type: 'array', items: { type: 'array' } } } } },
        },
        { type: 'object', required: ['instances'], properties: { instances: { type: 'array', items: { $ref: '#/components/schemas/InputRecord' } } } },
        {
          type: 'object',
          required: ['inputs'],
          properties: { inputs: { oneOf: [{ type: 'array', items: { $ref: '#/components/schemas/InputRecord' } }, { type: 'object', additionalProperties: { type: 'array' } }] } },
        },
      ],
    },
    [Object.fromEntries(Object.keys(properties).map((name) => [name, example[name] ?? null]))],
  );
  const predictResponses = {
    '200': { description: 'One prediction per record, in input order', content: { 'application/json': { schema: { $ref: '#/components/schemas/Predictions' } } } },
    '400': errorResponse('Malformed JSON'),
    ...common,
    '413': errorResponse('Body over 1 MiB'),
    '415': errorResponse('Content-Type is not application/json'),
    '422': errorResponse('Schema violations: every bad field is listed'),
  };
  const paths: Json = {
    '/predict': { post: { summary: 'Predict one record, an array, or MLflow shapes', operationId: 'predict', security, requestBody: predictBody, responses: predictResponses } },
    '/invocations': { post: { summary: 'MLflow scoring-server alias of /predict', operationId: 'invocations', security, requestBody: predictBody, responses: predictResponses } },
    '/health': { get: { summary: 'Liveness', operationId: 'health', security: [], responses: { '200': { description: 'The process answers' } } } },
    '/ready': { get: { summary: 'Readiness: a model is loaded and the daemon is not draining', operationId: 'ready', security: [], responses: { '200': { description: 'Ready' }, '503': errorResponse('Not ready') } } },
    '/metrics': { get: { summary: 'Prometheus metrics (text exposition 0.0.4)', operationId: 'metrics', security, responses: { '200': { description: 'Metrics', content: { 'text/plain': {} } }, ...common } } },
    '/models': { get: { summary: 'The served model', operationId: 'models', security, responses: { '200': { description: 'Served model identity, source and metrics' }, ...common } } },
    '/openapi.json': { get: { summary: 'This document', operationId: 'openapi', security, responses: { '200': { description: 'OpenAPI 3.1' }, ...common } } },
    '/docs': { get: { summary: 'This document, rendered', operationId: 'docs', security, responses: { '200': { description: 'HTML', content: { 'text/html': {} } }, ...common } } },
  };
  if (classification) {
    paths['/predict_income'] = {
      post: {
        summary: 'Predict from the census fields (the seed service’s route); race and sex are optional',
        operationId: 'predictIncome',
        security,
        requestBody: jsonBody({ $ref: '#/components/schemas/IncomeRecord' }, example),
        responses: {
          ...predictResponses,
          '200': { description: 'The prediction', content: { 'application/json': { schema: { $ref: '#/components/schemas/IncomePrediction' } } } },
        },
      },
    };
  }
  if (options.usersAvailable) {
    const userId = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };
    const userResponse = { description: 'A user', content: { 'application/json': { schema: { type: 'object' } } } };
    paths['/users'] = {
      get: {
        summary: 'List users (as `mlctl db users list`)',
        operationId: 'listUsers',
        security,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 0, default: 50 } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          { name: 'where', in: 'query', description: 'field=value, also != > >= < <=; repeatable', schema: { type: 'array', items: { type: 'string' } }, explode: true },
        ],
        responses: { '200': { description: 'A page of users' }, '422': errorResponse('Bad filter'), ...common },
      },
      post: { summary: 'Add a user', operationId: 'addUser', security, requestBody: jsonBody({ type: 'object' }), responses: { '201': userResponse, '422': errorResponse('Invalid user'), ...common } },
    };
    paths['/users/{id}'] = {
      get: { summary: 'One user', operationId: 'getUser', security, parameters: [userId], responses: { '200': userResponse, '404': errorResponse('No such user'), ...common } },
      patch: { summary: 'Update fields of a user', operationId: 'updateUser', security, parameters: [userId], requestBody: jsonBody({ type: 'object' }), responses: { '200': userResponse, '404': errorResponse('No such user'), '422': errorResponse('Invalid fields'), ...common } },
      delete: { summary: 'Delete a user', operationId: 'deleteUser', security, parameters: [userId], responses: { '200': userResponse, '404': errorResponse('No such user'), ...common } },
    };
  }
  const prediction: Json = classification
    ? { type: 'object', required: ['label', 'probability'], properties: { id: { type: ['string', 'number'] }, label: { type: 'string' }, probability: { type: 'number', minimum: 0, maximum: 1 } } }
    : { type: 'object', required: ['prediction'], properties: { id: { type: ['string', 'number'] }, prediction: { type: 'number' } } };
  const modelRef = { type: 'object', required: ['name', 'version'], properties: { name: { type: 'string' }, version: { type: 'string' } } };
  return {
    openapi: '3.1.0',
    info: {
      title: `mlctl serve: ${options.model.name}`,
      version: options.mlctlVersion,
      description: `Serves ${options.model.name} version ${options.model.version} (task ${manifest.task.name}, ${manifest.modelFamily}). ${manifest.task.description ?? ''}`.trim(),
    },
    paths,
    components: {
      schemas: {
        InputRecord: record,
        IncomeRecord: incomeRecord,
        IncomePrediction: {
          type: 'object',
          required: ['income_gt_50k', 'probability', 'model'],
          properties: { income_gt_50k: { type: 'boolean' }, probability: { type: 'number', minimum: 0, maximum: 1 }, model: modelRef },
        },
        Predictions: { type: 'object', required: ['predictions'], properties: { predictions: { type: 'array', items: prediction } } },
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                problems: { type: 'array', items: { type: 'object', properties: { record: { type: 'integer' }, field: { type: 'string' }, message: { type: 'string' } } } },
              },
            },
          },
        },
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'MLCTL_API_TOKEN' } },
    },
  };
}
