import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../../src/core/db/create-database.js';
import { MIGRATIONS } from '../../../src/core/db/migrations/index.js';
import { migrate } from '../../../src/core/db/migrator.js';
import { listPredictions } from '../../../src/core/db/predictions-repository.js';
import { createModelHolder } from '../../../src/core/serving/model-holder.js';
import { createServeHandler, MAX_RECORDS, type ServeHandler, type ServeHandlerOptions, type ServeResponse } from '../../../src/core/serving/prediction-handler.js';
import { createPredictionRecorder } from '../../../src/core/serving/prediction-recorder.js';
import { createServeLogger } from '../../../src/core/serving/request-log.js';
import type { ServedModel } from '../../../src/core/serving/served-model.js';
import { connectServingDatabase } from '../../../src/core/serving/serving-database.js';
import { createServingMetrics, type ServingMetrics } from '../../../src/core/serving/serving-metrics.js';
import { loadFixtureModel, SEED_BODY, writeIncomeBundle, type IncomeBundle } from './fixture.js';

/** The seed body with race and sex: what /predict, like `mlctl predict`, wants. */
const FULL_RECORD = Object.freeze({ ...SEED_BODY, race: 'White', sex: 'Male' });
let bundle: IncomeBundle;
let model: ServedModel;

beforeAll(async () => {
  bundle = await writeIncomeBundle({ seed: 1 });
  model = await loadFixtureModel(bundle.dir);
});
afterAll(() => bundle.cleanup());

interface Harness {
  handler: ServeHandler;
  metrics: ServingMetrics;
  log: string[];
  call(method: string, url: string, body?: unknown, headers?: { contentType?: string; authorization?: string; ip?: string; raw?: string }): Promise<ServeResponse & { json: any }>;
}

function harness(overrides: Partial<ServeHandlerOptions> = {}, served: ServedModel = model): Harness {
  const log: string[] = [];
  const metrics = createServingMetrics();
  metrics.setModel(served);
  const logger = createServeLogger({ sink: { write: (text: string) => log.push(text) }, ipKey: new Uint8Array(32).fill(1) });
  const holder = createModelHolder({ initial: served, resolve: async () => ({ bundleDir: served.bundleDir, source: served.source }), load: async () => served });
  const handler = createServeHandler({ holder, metrics, logger, mlctlVersion: '0.0.0-test', ...overrides });
  return {
    handler,
    metrics,
    log,
    async call(method, url, body, headers = {}) {
      const text = headers.raw ?? (body === undefined ? '' : JSON.stringify(body));
      const response = await handler.handle({
        method,
        url,
        contentType: headers.contentType ?? (text === '' ? undefined : 'application/json'),
        authorization: headers.authorization,
        body: Buffer.from(text),
        clientIp: headers.ip ?? '203.0.113.7',
      });
      logger.flush();
      let json: unknown;
      try {
        json = JSON.parse(response.body);
      } catch {
        json = undefined;
      }
      return { ...response, json };
    },
  };
}

function expectJsonError(response: ServeResponse & { json: any }, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.contentType).toMatch(/^application\/json/);
  expect(response.json.error.code).toBe(code);
  expect(typeof response.json.error.message).toBe('string');
  // Never a stack trace.
  expect(response.body).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+/);
}

describe('POST /predict_income', () => {
  it('answers the seed body with a label, a probability and the model identity', async () => {
    const h = harness();
    const r = await h.call('POST', '/predict_income', SEED_BODY);
    expect(r.status).toBe(200);
    expect(Object.keys(r.json)).toEqual(['income_gt_50k', 'probability', 'model']);
    expect(r.json.model).toEqual({ name: 'income', version: 'fixture-run' });
    expect(r.json.probability).toBeGreaterThan(0);
    expect(r.json.probability).toBeLessThan(1);
    expect(r.json.income_gt_50k).toBe(r.json.probability >= 0.5);
  });

  it('takes the 12-field record on every route: race and sex are not inputs, and change nothing when sent', async () => {
    const h = harness();
    const income = await h.call('POST', '/predict_income', SEED_BODY);
    expect(income.status).toBe(200);
    // /invocations takes it in MLflow's protocol: one input key.
    for (const [route, body] of [
      ['/predict', SEED_BODY],
      ['/invocations', { dataframe_records: [SEED_BODY] }],
    ] as const) {
      const r = await h.call('POST', route, body);
      expect(r.status).toBe(200);
      expect(r.json.predictions[0].probability).toBe(income.json.probability);
    }
    const given = await h.call('POST', '/predict_income', { ...SEED_BODY, race: 'Black', sex: 'Female' });
    expect(given.json.probability).toBe(income.json.probability);
  });

  it('names every missing field in a 422', async () => {
    const h = harness();
    const { age: _age, hours_per_week: _hours, ...rest } = SEED_BODY;
    const r = await h.call('POST', '/predict_income', rest);
    expectJsonError(r, 422, 'INPUT_INVALID');
    expect(r.json.error.problems).toEqual([
      { field: 'age', message: 'field required' },
      { field: 'hours_per_week', message: 'field required' },
    ]);
    expect(r.json.error.message).toContain('age, hours_per_week');
  });

  it('lists every bad value at once', async () => {
    const h = harness();
    const r = await h.call('POST', '/predict_income', { ...SEED_BODY, age: 'old', education: ['Bachelors'], capital_gain: null, fnlwgt: 1, occupation: {} });
    expectJsonError(r, 422, 'INPUT_INVALID');
    expect(r.json.error.problems.map((p: { field: string }) => p.field)).toEqual(['age', 'education', 'occupation']);
    const notObject = await h.call('POST', '/predict_income', [SEED_BODY]);
    expectJsonError(notObject, 422, 'BODY_NOT_OBJECT');
  });
});

describe('POST /predict and /invocations', () => {
  const SEED_BODY = FULL_RECORD;
  const rich = { ...SEED_BODY, age: 52, education: 'Doctorate', education_num: 16, marital_status: 'Married-civ-spouse', relationship: 'Husband', capital_gain: 15024, hours_per_week: 60 };

  it('accepts one record, an array and every MLflow shape, with the same answers', async () => {
    const h = harness();
    const array = await h.call('POST', '/predict', [{ id: 'a', ...SEED_BODY }, { id: 7, ...rich }]);
    expect(array.status).toBe(200);
    expect(array.json.predictions).toHaveLength(2);
    expect(array.json.predictions[0].id).toBe('a');
    expect(array.json.predictions[1].id).toBe(7);
    const expected = array.json.predictions.map((p: { label: string; probability: number }) => ({ label: p.label, probability: p.probability }));
    for (const p of expected) expect(p.label).toBe(p.probability >= 0.5 ? '>50K' : '<=50K');

    const columns = Object.keys(rich);
    const shapes: unknown[] = [
      { dataframe_records: [SEED_BODY, rich] },
      { dataframe_split: { columns, data: [columns.map((c) => (SEED_BODY as Record<string, unknown>)[c]), columns.map((c) => (rich as Record<string, unknown>)[c])] } },
      { instances: [SEED_BODY, rich] },
      { inputs: [SEED_BODY, rich] },
      { inputs: Object.fromEntries(columns.map((c) => [c, [(SEED_BODY as Record<string, unknown>)[c], (rich as Record<string, unknown>)[c]]])) },
    ];
    for (const shape of shapes) {
      for (const route of ['/predict', '/invocations']) {
        const r = await h.call('POST', route, shape);
        expect(r.status, `${route} ${JSON.stringify(shape).slice(0, 40)}`).toBe(200);
        expect(r.json.predictions).toEqual(expected);
      }
    }
    const one = await h.call('POST', '/predict', rich);
    expect(one.json.predictions).toEqual([expected[1]]);
    const empty = await h.call('POST', '/predict', []);
    expect(empty.json).toEqual({ predictions: [] });
  });

  it('reports every bad field of every record, numbered from 1 as the CLI numbers them, and predicts nothing', async () => {
    const h = harness();
    const r = await h.call('POST', '/predict', [SEED_BODY, { ...SEED_BODY, age: 'x' }, 'not a record', { ...SEED_BODY, hours_per_week: [] }]);
    expectJsonError(r, 422, 'INPUT_INVALID');
    expect(r.json.error.problems.map((p: { record: number; field?: string }) => [p.record, p.field ?? null])).toEqual([
      [2, 'age'],
      [3, null],
      [4, 'hours_per_week'],
    ]);
    const split = await h.call('POST', '/predict', { dataframe_split: { columns: ['age'], data: [[1, 2]] } });
    expectJsonError(split, 422, 'BODY_NOT_RECORDS');
    const scalar = await h.call('POST', '/predict', 42);
    expectJsonError(scalar, 422, 'BODY_NOT_RECORDS');
    const tooMany = await h.call('POST', '/predict', { instances: Array.from({ length: MAX_RECORDS + 1 }, () => ({})) });
    expectJsonError(tooMany, 422, 'TOO_MANY_RECORDS');
  });

  it('answers a 1,000-record batch in input order', async () => {
    const h = harness();
    const records = Array.from({ length: 1000 }, (_, i) => ({ ...SEED_BODY, id: i, age: 18 + (i % 60), hours_per_week: 10 + (i % 50) }));
    const r = await h.call('POST', '/predict', records);
    expect(r.status).toBe(200);
    expect(r.json.predictions.map((p: { id: number }) => p.id)).toEqual(records.map((x) => x.id));
    const single = await h.call('POST', '/predict_income', { ...records[123], id: undefined });
    expect(r.json.predictions[123].probability).toBe(single.json.probability);
  });
});

describe('errors: all JSON, never a stack', () => {
  it('400 malformed or empty JSON, 415 wrong or missing content type, 413 too large, 404, 405', async () => {
    const h = harness();
    expectJsonError(await h.call('POST', '/predict_income', undefined, { raw: '{"age": 39,' }), 400, 'BODY_MALFORMED_JSON');
    expectJsonError(await h.call('POST', '/predict', undefined, { raw: '  ', contentType: 'application/json' }), 400, 'BODY_EMPTY');
    expectJsonError(await h.call('POST', '/predict_income', SEED_BODY, { contentType: 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectJsonError(await h.call('POST', '/predict_income', undefined, { raw: JSON.stringify(SEED_BODY), contentType: '' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const charset = await h.call('POST', '/predict_income', SEED_BODY, { contentType: 'application/json; charset=utf-8' });
    expect(charset.status).toBe(200);
    const large = await h.handler.handle({ method: 'POST', url: '/predict', contentType: 'application/json', authorization: undefined, body: Buffer.alloc(0), bodyTooLarge: true, clientIp: '::1' });
    expect(large.status).toBe(413);
    expect(JSON.parse(large.body).error.code).toBe('BODY_TOO_LARGE');
    expectJsonError(await h.call('GET', '/nowhere?x=1'), 404, 'NOT_FOUND');
    const wrongMethod = await h.call('GET', '/predict_income');
    expectJsonError(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    expect(wrongMethod.headers?.allow).toBe('POST');
    expectJsonError(await h.call('DELETE', '/metrics'), 405, 'METHOD_NOT_ALLOWED');
  });

  it('500 without the trace when the model fails; the trace goes to the log', async () => {
    const broken: ServedModel = {
      ...model,
      scorer: {
        kind: 'broken',
        outputs: 1,
        score: () => {
          throw new Error('kaboom in /secret/place');
        },
        dispose: () => {},
      },
    };
    const h = harness({}, broken);
    const r = await h.call('POST', '/predict_income', SEED_BODY);
    expectJsonError(r, 500, 'INTERNAL');
    expect(r.body).not.toContain('kaboom');
    expect(h.log.join('')).toContain('kaboom in /secret/place');
  });
});

describe('auth', () => {
  it('with a token, every route but /health and /ready needs the bearer token', async () => {
    const h = harness({ apiToken: 's3cret-token' });
    expect((await h.call('GET', '/health')).status).toBe(200);
    expect((await h.call('GET', '/ready')).status).toBe(200);
    for (const [method, url] of [['POST', '/predict_income'], ['POST', '/predict'], ['GET', '/metrics'], ['GET', '/models'], ['GET', '/openapi.json'], ['GET', '/docs'], ['GET', '/users'], ['GET', '/unknown']] as const) {
      const r = await h.call(method, url, method === 'POST' ? SEED_BODY : undefined);
      expectJsonError(r, 401, 'UNAUTHORIZED');
      expect(r.headers?.['www-authenticate']).toMatch(/^Bearer/);
      expectJsonError(await h.call(method, url, method === 'POST' ? SEED_BODY : undefined, { authorization: 'Bearer s3cret-tokeN' }), 401, 'UNAUTHORIZED');
      expectJsonError(await h.call(method, url, method === 'POST' ? SEED_BODY : undefined, { authorization: 's3cret-token' }), 401, 'UNAUTHORIZED');
    }
    const ok = await h.call('POST', '/predict_income', SEED_BODY, { authorization: 'Bearer s3cret-token' });
    expect(ok.status).toBe(200);
    expect((await h.call('GET', '/metrics', undefined, { authorization: 'bearer s3cret-token' })).status).toBe(200);
  });
});

describe('GET routes', () => {
  it('/health, /ready (503 while draining) and /models', async () => {
    const h = harness();
    expect((await h.call('GET', '/health')).json).toEqual({ status: 'ok', model: { name: 'income', version: 'fixture-run' } });
    expect((await h.call('GET', '/ready')).json).toEqual({ status: 'ready', model: { name: 'income', version: 'fixture-run' } });
    const models = await h.call('GET', '/models');
    expect(models.json.models).toHaveLength(1);
    expect(models.json.models[0]).toMatchObject({ name: 'income', version: 'fixture-run', family: 'mlp', scorer: 'mlp-simd', bundleSha256: model.bundleSha256 });
    h.handler.setDraining(true);
    const draining = await h.call('GET', '/ready');
    expect(draining.status).toBe(503);
    expect(draining.json.status).toBe('draining');
    expect((await h.call('GET', '/health')).status).toBe(200);
  });

  it('/openapi.json is built from the input signature; /docs embeds it with nothing external', async () => {
    const h = harness();
    const spec = (await h.call('GET', '/openapi.json')).json;
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths).sort()).toEqual([
      '/docs',
      '/health',
      '/invocations',
      '/livez',
      '/metrics',
      '/models',
      '/openapi.json',
      '/ping',
      '/predict',
      '/predict_income',
      '/ready',
      '/readyz',
      '/version',
    ]);
    // The task names its record; the seed route's body may leave race and sex out.
    expect(spec['x-mlctl']).toEqual({ task: 'income', recordSchema: 'IncomeRecord' });
    const record = spec.components.schemas.IncomeRecord;
    // Race and sex are sensitive: not inputs.
    expect(Object.keys(record.properties)).not.toContain('race');
    expect(record.properties.workclass.enum).toContain('State-gov');
    expect(record.properties.age['x-training-range']).toEqual({ min: expect.any(Number), max: expect.any(Number) });
    expect(record.properties.age).toMatchObject({ minimum: 0, maximum: 120 });
    const seed = spec.components.schemas.PredictIncomeBody;
    expect(seed.required).not.toContain('race');
    expect(seed.required).not.toContain('sex');
    expect(seed.required).toContain('native_country');
    expect(spec.paths['/predict_income'].post.requestBody.content['application/json'].example).toEqual(SEED_BODY);
    const docs = await h.call('GET', '/docs');
    expect(docs.status).toBe(200);
    expect(docs.contentType).toMatch(/^text\/html/);
    expect(docs.body).toContain('/predict_income');
    expect(docs.body).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/);
  });

  it('/metrics counts requests by route and status, predictions by label, batch sizes and the model', async () => {
    const h = harness();
    await h.call('POST', '/predict_income', SEED_BODY);
    await h.call('POST', '/predict', [FULL_RECORD, FULL_RECORD, FULL_RECORD]);
    await h.call('POST', '/predict', { bad: true, age: 'x' });
    const text = (await h.call('GET', '/metrics')).body;
    expect(text).toContain('mlctl_http_requests_total{route="predict_income",method="POST",status="200"} 1');
    expect(text).toContain('mlctl_http_requests_total{route="predict",method="POST",status="422"} 1');
    expect(text).toContain('mlctl_http_request_duration_seconds_count{route="predict",status="200"} 1');
    expect(text).toContain('mlctl_http_requests_in_flight 1'); // the scrape itself
    const predictions = [...text.matchAll(/^mlctl_predictions_total\{model="income",version="fixture-run",label="([^"]+)"\} (\d+)$/gm)];
    expect(predictions.reduce((sum, m) => sum + Number(m[2]), 0)).toBe(4);
    expect(text).toContain('mlctl_prediction_batch_size_bucket{route="predict",le="5"} 1');
    expect(text).toMatch(new RegExp(`^mlctl_model_info\\{name="income",version="fixture-run",run_id="fixture-run",bundle_sha256="${model.bundleSha256}",family="mlp",scorer="mlp-simd"\\} 1$`, 'm'));
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });
});

describe('request log', () => {
  it('writes one JSON line per request with a pseudonymised client and no input values', async () => {
    const h = harness();
    await h.call('POST', '/predict_income', SEED_BODY, { ip: '203.0.113.7' });
    await h.call('POST', '/predict_income', SEED_BODY, { ip: '203.0.113.7' });
    await h.call('POST', '/predict', [{ ...SEED_BODY, age: 'bad' }], { ip: '198.51.100.9' });
    const lines = h.log.join('').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ event: 'request', method: 'POST', path: '/predict_income', route: 'predict_income', status: 200, records: 1 });
    expect(lines[2]).toMatchObject({ status: 422, error: 'INPUT_INVALID', records: 1 });
    expect(lines[0].client).toBe(lines[1].client);
    expect(lines[0].client).not.toBe(lines[2].client);
    const text = h.log.join('');
    for (const secret of ['203.0.113.7', '198.51.100.9', 'State-gov', '77516', 'Adm-clerical', 'bad']) expect(text).not.toContain(secret);
  });
});

describe('users routes and prediction logging (real SQLite)', () => {
  it('answers 404 with a reason when no database is configured', async () => {
    const h = harness({ databaseUnavailable: 'no database at /x.db' });
    const r = await h.call('GET', '/users');
    expectJsonError(r, 404, 'USERS_UNAVAILABLE');
    expect(r.json.error.message).toContain('no database at /x.db');
    expectJsonError(await h.call('DELETE', '/users/1'), 404, 'USERS_UNAVAILABLE');
  });

  it('mirrors `mlctl db users` and stores every prediction in batches', async () => {
    const url = `sqlite:${join(bundle.root, 'users.db')}`;
    const missing = await connectServingDatabase(url, bundle.root);
    expect(missing.available).toBe(false);
    await withDatabase(url, bundle.root, async (database) => {
      await migrate(database, { migrations: MIGRATIONS });
    });
    const database = await connectServingDatabase(url, bundle.root);
    if (!database.available) throw new Error(database.reason);
    const dropped: unknown[] = [];
    let written = 0;
    const recorder = createPredictionRecorder({ write: database.recordPredictions, flushIntervalMs: 20, onDropped: (_rows, error) => dropped.push(error), onWritten: (n) => (written += n) });
    const h = harness({ users: database.users, recorder });
    try {
      const user = { ...SEED_BODY, race: 'White', sex: 'Male' };
      const created = await h.call('POST', '/users', user);
      expect(created.status).toBe(201);
      const id = created.json.id as number;
      expect(created.json).toMatchObject(user);
      expect((await h.call('GET', `/users/${id}`)).json).toMatchObject({ id, age: 39 });
      const patched = await h.call('PATCH', `/users/${id}`, { age: 40, hours_per_week: 45 });
      expect(patched.json).toMatchObject({ id, age: 40, hours_per_week: 45 });
      await h.call('POST', '/users', { ...user, age: 61, sex: 'Female' });
      const page = await h.call('GET', '/users?where=age%3E%3D50&limit=10');
      expect(page.json.total).toBe(1);
      expect(page.json.users[0].age).toBe(61);
      const invalid = await h.call('POST', '/users', { ...user, age: -3, education_num: 2, sex: 'Robot' });
      expectJsonError(invalid, 422, 'USER_INVALID');
      expect(invalid.json.error.problems.length).toBeGreaterThanOrEqual(3);
      expectJsonError(await h.call('GET', '/users?where=nonsense'), 422, 'USER_FILTER_INVALID');
      expectJsonError(await h.call('GET', '/users?limit=-1'), 422, 'QUERY_INVALID');
      expectJsonError(await h.call('GET', '/users/abc'), 422, 'USER_ID_INVALID');
      expect((await h.call('DELETE', `/users/${id}`)).json.id).toBe(id);
      expectJsonError(await h.call('GET', `/users/${id}`), 404, 'USER_NOT_FOUND');

      expect((await h.call('POST', '/predict_income', SEED_BODY)).status).toBe(200);
      expect((await h.call('POST', '/predict', [FULL_RECORD, FULL_RECORD])).status).toBe(200);
      await recorder.close();
      expect(dropped).toEqual([]);
      expect(written).toBe(3);
      await withDatabase(url, bundle.root, async (db) => {
        const rows = await listPredictions(db.db, {});
        expect(rows).toHaveLength(3);
        for (const row of rows) {
          expect(row.model_name).toBe('income');
          expect(row.model_version).toBe('fixture-run');
          expect(row.input_hash).toMatch(/^[0-9a-f]{64}$/);
          expect(['<=50K', '>50K']).toContain(row.label);
        }
        // The same input hashes the same.
        expect(new Set(rows.map((r) => r.input_hash)).size).toBe(2);
      });
    } finally {
      await database.close();
    }
  });
});
