import type { BundleManifest } from '../bundle/bundle-manifest.js';

/** Fields /predict_income accepts without (imputed): the seed's body leaves them out. */
export const SEED_OPTIONAL_FIELDS: readonly string[] = ['race', 'sex'];

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
  /** The seed's POST /predict_income is served (the income task's classifier); default false. */
  readonly predictIncome?: boolean;
}

/** An example input record: the seed's body for the income task, else one built from the schema. */
export function exampleRecord(manifest: BundleManifest): Record<string, unknown> {
  const properties = (manifest.inputSchema.properties ?? {}) as Record<string, { type?: unknown; enum?: readonly unknown[]; 'x-training-range'?: { min?: unknown } }>;
  if (manifest.task.name === 'income' && Object.keys(SEED_INCOME_EXAMPLE).every((key) => key in properties)) return { ...SEED_INCOME_EXAMPLE };
  const example: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(properties)) {
    const known = property.enum?.find((value) => value !== null);
    const types = Array.isArray(property.type) ? property.type : [property.type];
    const low = property['x-training-range']?.min;
    example[name] = known ?? (types.includes('number') ? (typeof low === 'number' ? low : 0) : '');
  }
  return example;
}

/** The component name of a task's input record: "income" → IncomeRecord, "my-churn.v2" → MyChurnV2Record. */
export function recordSchemaName(task: string): string {
  const words = task.split(/[^A-Za-z0-9]+/).filter((w) => w !== '');
  return `${words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('') || 'Input'}Record`;
}

type Json = Record<string, unknown>;

const errorResponse = (description: string): Json => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });
const mlflowErrorResponse = (description: string): Json => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/MlflowError' } } } });

/**
 * OpenAPI 3.1 for the daemon, built from the served bundle's input signature
 * (manifest.inputSchema, JSON Schema 2020-12, which OpenAPI 3.1 embeds as is). The input
 * record is named after the model's own task; /predict_income appears only for income.
 */
export function buildOpenApi(options: OpenApiOptions): Json {
  const { manifest } = options.model;
  const input = manifest.inputSchema;
  const properties = (input.properties ?? {}) as Record<string, unknown>;
  const recordName = recordSchemaName(manifest.task.name);
  const recordRef = { $ref: `#/components/schemas/${recordName}` };
  // /predict, as `mlctl predict`, wants every field; null asks for imputation where the pipeline can.
  const record: Json = { ...input, title: `${manifest.task.name} input record`, required: Object.keys(properties) };
  delete record.$schema;
  const example = exampleRecord(manifest);
  const security = options.authRequired ? [{ bearer: [] }] : [];
  const common = {
    '401': errorResponse('Missing or wrong bearer token (only when MLCTL_API_TOKEN is set)'),
  };
  const jsonBody = (schema: Json, example?: unknown, csv = false): Json => ({
    required: true,
    content: {
      'application/json': { schema, ...(example === undefined ? {} : { example }) },
      ...(csv ? { 'text/csv': { schema: { type: 'string', description: 'a header row with the field names, then one row per record' } } } : {}),
    },
  });
  const records = { type: 'array', items: recordRef };
  const split = {
    type: 'object',
    required: ['columns', 'data'],
    properties: { columns: { type: 'array', items: { type: 'string' } }, data: { type: 'array', items: { type: 'array' } }, index: { type: 'array' } },
  };
  const columns = { type: 'object', additionalProperties: { type: 'array' } };
  const mlflowPayload = [
    { type: 'object', required: ['dataframe_split'], properties: { dataframe_split: split } },
    { type: 'object', required: ['dataframe_records'], properties: { dataframe_records: records } },
    { type: 'object', required: ['instances'], properties: { instances: { oneOf: [records, columns] } } },
    { type: 'object', required: ['inputs'], properties: { inputs: { oneOf: [records, columns] } } },
  ];
  const exampleRow = Object.fromEntries(Object.keys(properties).map((name) => [name, example[name] ?? null]));
  const predictBody = jsonBody({ oneOf: [recordRef, records, ...mlflowPayload] }, [exampleRow], true);
  const invocationsBody = jsonBody({ oneOf: mlflowPayload }, { dataframe_records: [exampleRow] }, true);
  const predictResponses = {
    '200': { description: 'One prediction per record, in input order; `warnings` where a value lies outside the training range or the known categories', content: { 'application/json': { schema: { $ref: '#/components/schemas/Predictions' } } } },
    '400': errorResponse('Malformed JSON or CSV, a body nested too deeply, or two MLflow input keys'),
    ...common,
    '413': errorResponse('Body over 4 MiB'),
    '415': errorResponse('Content-Type is neither application/json nor text/csv'),
    '422': errorResponse('Schema violations: every bad field of every record (counted from 1) is listed'),
  };
  const invocationsResponses = {
    '200': { description: 'MLflow\'s {"predictions": [...]}, one per record in input order', content: { 'application/json': { schema: { $ref: '#/components/schemas/Predictions' } } } },
    '400': mlflowErrorResponse('Anything wrong with the input (MLflow\'s BAD_REQUEST), the message naming record and field'),
    '401': mlflowErrorResponse('Missing or wrong bearer token (UNAUTHENTICATED)'),
    '413': mlflowErrorResponse('Body over 4 MiB (REQUEST_LIMIT_EXCEEDED)'),
    '415': mlflowErrorResponse('Content-Type is neither application/json nor text/csv'),
  };
  const probe = (summary: string, operationId: string, responses: Json): Json => ({ get: { summary, operationId, security: [], responses } });
  const alive = { '200': { description: 'A model is loaded and the process answers' } };
  const ready = { '200': { description: 'Ready' }, '503': errorResponse('Draining (SIGTERM): take it out of rotation') };
  const paths: Json = {
    '/predict': { post: { summary: 'Predict one record, an array, MLflow payloads or CSV', operationId: 'predict', security, requestBody: predictBody, responses: predictResponses } },
    '/invocations': { post: { summary: "MLflow's scoring protocol, exactly", operationId: 'invocations', security, requestBody: invocationsBody, responses: invocationsResponses } },
    '/health': probe('Liveness', 'health', alive),
    '/livez': probe('Liveness (Kubernetes)', 'livez', alive),
    '/ping': probe("Liveness (MLflow's scoring server)", 'ping', alive),
    '/ready': probe('Readiness: a model is loaded and the daemon is not draining', 'ready', ready),
    '/readyz': probe('Readiness (Kubernetes)', 'readyz', ready),
    '/version': { get: { summary: "mlctl's version", operationId: 'version', security, responses: { '200': { description: '{"version": "…"}' }, ...common } } },
    '/metrics': { get: { summary: 'Prometheus metrics (text exposition 0.0.4), summed over workers', operationId: 'metrics', security, responses: { '200': { description: 'Metrics', content: { 'text/plain': {} } }, ...common } } },
    '/models': { get: { summary: 'The served model', operationId: 'models', security, responses: { '200': { description: 'Served model identity, source and metrics' }, ...common } } },
    '/openapi.json': { get: { summary: 'This document', operationId: 'openapi', security, responses: { '200': { description: 'OpenAPI 3.1' }, ...common } } },
    '/docs': { get: { summary: 'This document, rendered', operationId: 'docs', security, responses: { '200': { description: 'HTML', content: { 'text/html': {} } }, ...common } } },
  };
  const schemas: Json = { [recordName]: record };
  if (options.predictIncome === true) {
    const seedBody: Json = { ...record, title: "the seed service's body: race and sex may be left out", required: Object.keys(properties).filter((name) => !SEED_OPTIONAL_FIELDS.includes(name)) };
    schemas.PredictIncomeBody = seedBody;
    schemas.IncomePrediction = {
      type: 'object',
      required: ['income_gt_50k', 'probability', 'model'],
      properties: {
        income_gt_50k: { type: 'boolean' },
        probability: { type: 'number', minimum: 0, maximum: 1 },
        model: { type: 'object', required: ['name', 'version'], properties: { name: { type: 'string' }, version: { type: 'string' } } },
        warnings: { $ref: '#/components/schemas/Warnings' },
      },
    };
    paths['/predict_income'] = {
      post: {
        summary: 'Predict from the census fields (the seed service’s route); race and sex are optional',
        operationId: 'predictIncome',
        security,
        requestBody: jsonBody({ $ref: '#/components/schemas/PredictIncomeBody' }, example),
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
  const output = manifest.output;
  const shared = { id: { type: ['string', 'number'], description: "the record's own id, when it had one" }, warnings: { $ref: '#/components/schemas/Warnings' } };
  const prediction: Json =
    output.kind === 'binary-probability'
      ? { type: 'object', required: ['label', 'probability'], properties: { ...shared, label: { type: 'string', enum: [output.negativeLabel, output.positiveLabel] }, probability: { type: 'number', minimum: 0, maximum: 1, description: `P(${output.positiveLabel})` } } }
      : output.kind === 'class-probabilities'
        ? {
            type: 'object',
            required: ['label', 'probabilities'],
            properties: { ...shared, label: { type: 'string', enum: [...output.classes] }, probabilities: { type: 'object', additionalProperties: { type: 'number', minimum: 0, maximum: 1 } } },
          }
        : { type: 'object', required: ['prediction'], properties: { ...shared, prediction: { type: 'number', description: `${output.target}, in its own units` } } };
  schemas.Predictions = { type: 'object', required: ['predictions'], properties: { predictions: { type: 'array', items: prediction } } };
  schemas.Warnings = {
    type: 'array',
    description: 'Values answered although outside the training range (numbers) or the known categories',
    items: { type: 'object', required: ['field', 'kind', 'message'], properties: { field: { type: 'string' }, kind: { type: 'string', enum: ['out-of-range', 'unseen-category'] }, message: { type: 'string' } } },
  };
  schemas.Error = {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: { type: 'string' },
          message: { type: 'string' },
          problems: {
            type: 'array',
            items: { type: 'object', properties: { record: { type: 'integer', minimum: 1, description: 'counted from 1' }, field: { type: 'string' }, message: { type: 'string' } } },
          },
        },
      },
    },
  };
  schemas.MlflowError = { type: 'object', required: ['error_code', 'message'], properties: { error_code: { type: 'string' }, message: { type: 'string' } } };
  return {
    openapi: '3.1.0',
    info: {
      title: `mlctl serve: ${options.model.name}`,
      version: options.mlctlVersion,
      description: `Serves ${options.model.name} version ${options.model.version} (task ${manifest.task.name}, ${manifest.modelFamily}). ${manifest.task.description ?? ''}`.trim(),
    },
    'x-mlctl': { task: manifest.task.name, recordSchema: recordName },
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'MLCTL_API_TOKEN' } },
    },
  };
}
