/**
 * Issue 13, in-process: numbers (non-finite, out of range, NaN as missing), MLflow's scoring
 * protocol exactly (one input key, format= parameters, CSV, /ping /version, its error
 * shape), training ranges and hard bounds, routes that follow the task, one numbering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelHolder } from '../../../src/core/serving/model-holder.js';
import { createServeHandler, type ServeHandlerOptions, type ServeResponse } from '../../../src/core/serving/prediction-handler.js';
import { createServeLogger } from '../../../src/core/serving/request-log.js';
import type { ServedModel } from '../../../src/core/serving/served-model.js';
import { createServingMetrics, type ServingMetrics } from '../../../src/core/serving/serving-metrics.js';
import { INCOME_TASK } from '../../../src/core/tasks/builtin-tasks.js';
import { loadFixtureModel, SEED_BODY, writeIncomeBundle, type IncomeBundle } from './fixture.js';

const FULL = Object.freeze({ ...SEED_BODY, race: 'White', sex: 'Male' }) as Record<string, unknown>;
const COLUMNS = Object.keys(FULL);
let income: IncomeBundle;
let churn: IncomeBundle;
let model: ServedModel;
let churnModel: ServedModel;

beforeAll(async () => {
  income = await writeIncomeBundle({ seed: 3 });
  model = await loadFixtureModel(income.dir);
  // A user's own task on the same columns: a binary classifier that is not "income".
  const { bounds: _none, ...unbounded } = INCOME_TASK;
  churn = await writeIncomeBundle({ seed: 3, task: { ...unbounded, name: 'churn', description: 'a user task without hard bounds' } });
  churnModel = await loadFixtureModel(churn.dir);
});
afterAll(() => {
  income.cleanup();
  churn.cleanup();
});

interface Answer extends ServeResponse {
  json: any;
}

function harness(served: ServedModel = model, overrides: Partial<ServeHandlerOptions> = {}): { metrics: ServingMetrics; call(method: string, url: string, raw?: string, contentType?: string): Promise<Answer> } {
  const metrics = createServingMetrics();
  metrics.setModel(served);
  const holder = createModelHolder({ initial: served, resolve: async () => ({ bundleDir: served.bundleDir, source: served.source }), load: async () => served });
  const handler = createServeHandler({ holder, metrics, logger: createServeLogger({ sink: { write: () => {} } }), mlctlVersion: '9.9.9-test', ...overrides });
  return {
    metrics,
    async call(method, url, raw, contentType = 'application/json') {
      const response = await handler.handle({ method, url, contentType: raw === undefined ? undefined : contentType, authorization: undefined, body: Buffer.from(raw ?? ''), clientIp: '::1' });
      // The strict parser: JSON.parse refuses NaN and Infinity.
      let json: unknown;
      if (response.contentType.startsWith('application/json')) json = JSON.parse(response.body);
      return { ...response, json };
    },
  };
}

/** A record as JSON text with one field's value spliced in raw (to send literals JSON.stringify cannot write). */
function withRaw(record: Record<string, unknown>, field: string, raw: string): string {
  return JSON.stringify({ ...record, [field]: '__RAW__' }).replace('"__RAW__"', raw);
}

describe('numbers: no answer is ever invalid JSON', () => {
  const extremes = ['1e308', '-1e308', '1e309', '-1e309', 'NaN', 'Infinity', '-Infinity', '5e-324', '-0', '1.7976931348623157e308', '123456789012345678901234567890', '"1e308"', '"NaN"', '"Infinity"'];

  it('feeds extreme values through every route and field kind; every answer parses strictly, none holds NaN or Infinity', async () => {
    const h = harness();
    const statuses = new Set<number>();
    for (const field of ['age', 'capital_gain', 'hours_per_week', 'workclass']) {
      for (const raw of extremes) {
        const one = withRaw(SEED_BODY, field, raw);
        const full = withRaw(FULL, field, raw);
        for (const [url, body] of [
          ['/predict_income', one],
          ['/predict', full],
          ['/predict', `[${full}]`],
          ['/invocations', `{"dataframe_records":[${full}]}`],
          ['/invocations', `{"instances":[${full}]}`],
        ] as const) {
          const r = await h.call('POST', url, body);
          statuses.add(r.status);
          expect([200, 400, 422], `${url} ${field}=${raw}: ${r.body}`).toContain(r.status);
          if (r.status === 200) {
            const answers = url === '/predict_income' ? [r.json] : r.json.predictions;
            for (const a of answers) expect(Number.isFinite(a.probability), `${url} ${field}=${raw}`).toBe(true);
          }
        }
      }
    }
    expect(statuses).toEqual(new Set([200, 400, 422]));
    const metrics = (await h.call('GET', '/metrics')).body;
    expect(metrics).not.toMatch(/ (NaN|[+-]Inf)$/m);
  });

  it('refuses non-finite and out-of-double-range numbers with 422 naming the field', async () => {
    const h = harness();
    for (const raw of ['1e309', 'Infinity', '-Infinity']) {
      const r = await h.call('POST', '/predict', `[${withRaw(FULL, 'age', raw)}]`);
      expect(r.status).toBe(422);
      expect(r.json.error.problems).toEqual([{ record: 1, field: 'age', message: expect.stringMatching(/Infinity; send a finite number/) }]);
    }
    // Finite but beyond what the model's 32-bit features hold: refused too (it used to answer NaN).
    const huge = await harness(churnModel).call('POST', '/predict', `[${withRaw(FULL, 'hours_per_week', '1e300')}]`);
    expect(huge.status).toBe(422);
    expect(huge.json.error.problems[0]).toMatchObject({ field: 'hours_per_week', message: expect.stringMatching(/too large for the model/) });
  });

  it('reads the literal NaN as a missing value, imputed as null is, the way MLflow reads pandas frames', async () => {
    const h = harness();
    const asNull = await h.call('POST', '/predict', JSON.stringify([{ ...FULL, age: null, workclass: null }]));
    const asNaN = await h.call('POST', '/predict', `[${withRaw({ ...FULL, workclass: null }, 'age', 'NaN').replace('"workclass":null', '"workclass":NaN')}]`);
    expect(asNull.status).toBe(200);
    expect(asNaN.status).toBe(200);
    expect(asNaN.json.predictions).toEqual(asNull.json.predictions);
    // The body MLflow's client writes for a frame with a missing value.
    const split = `{"dataframe_split": {"columns": ${JSON.stringify(COLUMNS)}, "data": [[${COLUMNS.map((c) => (c === 'age' ? 'NaN' : JSON.stringify(FULL[c]))).join(', ')}]]}}`;
    const mlflow = await h.call('POST', '/invocations', split);
    expect(mlflow.status, mlflow.body).toBe(200);
    const ageNull = await h.call('POST', '/predict', JSON.stringify([{ ...FULL, age: null }]));
    expect(mlflow.json.predictions).toEqual(ageNull.json.predictions);
  });

  it('refuses a model output that is not a finite number instead of writing NaN', async () => {
    const broken: ServedModel = { ...model, scorer: { kind: 'nan', outputs: 1, score: (_f, rows) => new Float32Array(rows).fill(Number.NaN), dispose: () => {} } };
    const h = harness(broken);
    const r = await h.call('POST', '/predict', JSON.stringify([FULL, FULL]));
    expect(r.status).toBe(422);
    expect(r.json.error.code).toBe('PREDICTION_NOT_FINITE');
    expect(r.json.error.problems.map((p: { record: number }) => p.record)).toEqual([1, 2]);
    const seed = await h.call('POST', '/predict_income', JSON.stringify(SEED_BODY));
    expect(seed.status).toBe(422);
  });
});

describe('training ranges and hard bounds', () => {
  it('answers a value outside the training range with warnings per record and counts it by feature', async () => {
    const h = harness();
    const r = await h.call('POST', '/predict', JSON.stringify([FULL, { ...FULL, age: 95, native_country: 'Atlantis' }, { ...FULL, hours_per_week: 99 }]));
    expect(r.status).toBe(200);
    const [first, second, third] = r.json.predictions;
    expect(first.warnings).toBeUndefined();
    expect(second.warnings).toEqual([
      { field: 'age', kind: 'out-of-range', message: expect.stringMatching(/^95 is outside the training range \[18, \d+\]/) },
      { field: 'native_country', kind: 'unseen-category', message: expect.stringMatching(/"Atlantis" was not seen in training/) },
    ]);
    expect(third.warnings).toEqual([{ field: 'hours_per_week', kind: 'out-of-range', message: expect.stringContaining('99 is outside the training range') }]);
    const seed = await h.call('POST', '/predict_income', JSON.stringify({ ...SEED_BODY, age: 95 }));
    expect(seed.json.warnings).toEqual([{ field: 'age', kind: 'out-of-range', message: expect.any(String) }]);
    // MLflow's answer stays MLflow's: no extra keys in the predictions.
    const mlflow = await h.call('POST', '/invocations', JSON.stringify({ dataframe_records: [{ ...FULL, age: 95 }] }));
    expect(Object.keys(mlflow.json.predictions[0])).toEqual(['label', 'probability']);
    const metrics = (await h.call('GET', '/metrics')).body;
    expect(metrics).toContain('mlctl_input_out_of_range_total{feature="age"} 3');
    expect(metrics).toContain('mlctl_input_out_of_range_total{feature="hours_per_week"} 1');
    expect(metrics).toContain('mlctl_input_out_of_range_total{feature="native_country"} 1');
  });

  it("refuses a value outside the task's hard bounds with 422 naming the field and the bound", async () => {
    const h = harness();
    const r = await h.call('POST', '/predict_income', JSON.stringify({ ...SEED_BODY, age: -3 }));
    expect(r.status).toBe(422);
    expect(r.json.error.problems).toEqual([{ field: 'age', message: '-3 is below the minimum 0 the task allows.' }]);
    const high = await h.call('POST', '/predict', JSON.stringify([FULL, { ...FULL, hours_per_week: 200 }]));
    expect(high.json.error.problems).toEqual([{ record: 2, field: 'hours_per_week', message: '200 is above the maximum 168 the task allows.' }]);
  });

  it('refuses a JSON number where the schema wants a string', async () => {
    const h = harness();
    for (const [url, body] of [
      ['/predict_income', { ...SEED_BODY, workclass: 42 }],
      ['/predict', [{ ...FULL, workclass: 42 }]],
    ] as const) {
      const r = await h.call('POST', url, JSON.stringify(body));
      expect(r.status).toBe(422);
      expect(r.json.error.problems[0]).toMatchObject({ field: 'workclass', message: 'expected a string, got number 42.' });
    }
    const mlflow = await h.call('POST', '/invocations', JSON.stringify({ instances: [{ ...FULL, workclass: 42 }] }));
    expect(mlflow.status).toBe(400);
    expect(mlflow.json).toEqual({ error_code: 'BAD_REQUEST', message: expect.stringContaining('record 1, field "workclass": expected a string, got number 42') });
  });
});

describe("MLflow's scoring protocol on /invocations", () => {
  it('takes exactly one input key; two are a 400 naming both; none is a 400', async () => {
    const h = harness();
    const both = await h.call('POST', '/invocations', JSON.stringify({ instances: [FULL], inputs: [FULL] }));
    expect(both.status).toBe(400);
    expect(both.json.error_code).toBe('BAD_REQUEST');
    expect(both.json.message).toMatch(/"instances" and "inputs"/);
    const predictBoth = await h.call('POST', '/predict', JSON.stringify({ dataframe_records: [FULL], dataframe_split: {} }));
    expect(predictBoth.status).toBe(400);
    expect(predictBoth.json.error.code).toBe('BODY_AMBIGUOUS');
    const none = await h.call('POST', '/invocations', JSON.stringify([FULL]));
    expect(none.status).toBe(400);
    expect(none.json.message).toMatch(/exactly one of dataframe_split, dataframe_records, instances, inputs/);
    // MLflow ignores keys beside the input key, such as params.
    const params = await h.call('POST', '/invocations', JSON.stringify({ dataframe_records: [FULL], params: { x: 1 } }));
    expect(params.status).toBe(200);
  });

  it('reads format=pandas-split and format=pandas-records bodies, and CSV with a header row', async () => {
    const h = harness();
    const expected = (await h.call('POST', '/predict', JSON.stringify([FULL]))).json.predictions;
    const split = JSON.stringify({ columns: COLUMNS, data: [COLUMNS.map((c) => FULL[c])], index: [0] });
    for (const [body, type] of [
      [split, 'application/json; format=pandas-split'],
      [JSON.stringify([FULL]), 'application/json; format=pandas-records'],
      [`${COLUMNS.join(',')}\n${COLUMNS.map((c) => FULL[c]).join(',')}\n`, 'text/csv'],
      [`${COLUMNS.join(',')}\r\n${COLUMNS.map((c) => `"${String(FULL[c])}"`).join(',')}`, 'text/csv; charset=utf-8'],
    ] as const) {
      for (const url of ['/invocations', '/predict']) {
        const r = await h.call('POST', url, body, type);
        expect(r.status, `${url} ${type}: ${r.body}`).toBe(200);
        expect(r.json.predictions).toEqual(expected);
      }
    }
    // pandas' missing markers in CSV are missing values, imputed.
    const missing = await h.call('POST', '/invocations', `${COLUMNS.join(',')}\n${COLUMNS.map((c) => (c === 'age' ? '' : c === 'workclass' ? 'NA' : FULL[c])).join(',')}\n`, 'text/csv');
    const nulls = await h.call('POST', '/predict', JSON.stringify([{ ...FULL, age: null, workclass: null }]));
    expect(missing.json.predictions).toEqual(nulls.json.predictions);
    const ragged = await h.call('POST', '/invocations', `${COLUMNS.join(',')}\n39,State-gov\n`, 'text/csv');
    expect(ragged.status).toBe(400);
    expect(ragged.json.message).toMatch(/record 1, row has 2 fields for 14 columns/);
    const other = await h.call('POST', '/invocations', 'x', 'text/plain');
    expect(other.status).toBe(415);
    expect(other.json.error_code).toBe('BAD_REQUEST');
  });

  it('answers in MLflow error shape on /invocations and in mlctl shape on /predict', async () => {
    const h = harness();
    const bad = await h.call('POST', '/invocations', '{"instances": [');
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.json)).toEqual(['error_code', 'message']);
    const invalid = await h.call('POST', '/invocations', JSON.stringify({ dataframe_records: [FULL, { ...FULL, age: 'x' }] }));
    expect(invalid.status).toBe(400);
    expect(invalid.json.message).toContain('record 2, field "age"');
    const predict = await h.call('POST', '/predict', JSON.stringify({ dataframe_records: [FULL, { ...FULL, age: 'x' }] }));
    expect(predict.status).toBe(422);
    expect(predict.json.error.problems).toEqual([{ record: 2, field: 'age', message: 'expected a number, got string "x".' }]);
  });

  it('answers /ping, /health, /livez, /ready, /readyz and /version', async () => {
    const h = harness();
    for (const path of ['/ping', '/health', '/healthz', '/livez']) expect((await h.call('GET', path)).json.status, path).toBe('ok');
    for (const path of ['/ready', '/readyz']) expect((await h.call('GET', path)).json.status, path).toBe('ready');
    expect((await h.call('GET', '/version')).json).toEqual({ version: '9.9.9-test' });
  });

  it('refuses a deeply nested body with 400 on every route that reads JSON, never 500', async () => {
    const h = harness();
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deepObject = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`;
    for (const body of [deep, deepObject, JSON.stringify([{ ...FULL, age: JSON.parse(`${'['.repeat(40)}1${']'.repeat(40)}`) }])]) {
      for (const url of ['/predict', '/invocations', '/predict_income', '/users']) {
        const r = await h.call('POST', url, body);
        if (url === '/users') expect([400, 404]).toContain(r.status);
        else expect(r.status, url).toBe(400);
      }
    }
    const r = await h.call('POST', '/predict', deep);
    expect(r.json.error.code).toBe('BODY_TOO_DEEP');
  });
});

describe('routes follow the task', () => {
  it('serves /predict_income and its schema only for the income task; /docs names the model\'s own task', async () => {
    const h = harness(churnModel);
    const r = await h.call('POST', '/predict_income', JSON.stringify(SEED_BODY));
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe('NOT_FOUND');
    const spec = (await h.call('GET', '/openapi.json')).json;
    expect(Object.keys(spec.paths)).not.toContain('/predict_income');
    expect(Object.keys(spec.components.schemas)).not.toContain('IncomeRecord');
    expect(Object.keys(spec.components.schemas)).not.toContain('IncomePrediction');
    expect(spec.components.schemas.ChurnRecord.properties.age).toBeDefined();
    expect(spec['x-mlctl']).toEqual({ task: 'churn', recordSchema: 'ChurnRecord' });
    const docs = (await h.call('GET', '/docs')).body;
    expect(docs).not.toContain('IncomeRecord');
    expect(docs).not.toContain('/predict_income');
    expect(docs).toContain('ChurnRecord');
    expect((await h.call('POST', '/predict', JSON.stringify([FULL]))).status).toBe(200);
    const incomeSpec = (await harness(model).call('GET', '/openapi.json')).json;
    expect(Object.keys(incomeSpec.paths)).toContain('/predict_income');
  });
});
