/**
 * `mlctl serve` end to end: the built binary trains a small model, registers it as
 * income@production, migrates a SQLite database, and serves on an ephemeral port with a
 * token. Every route, every error case, auth, the request log, users and stored
 * predictions, alias-move and SIGHUP reloads under traffic, a short mixed soak, and the
 * SIGTERM drain are checked over real HTTP.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, runCli, SEED_RECORD } from '../helpers/cli.js';
import { rawRequest, startDaemon, type Daemon } from './serve-helpers.js';

const TOKEN = 'e2e-token-0123456789';
const ws = createWorkspace('mlctl-serve-');
const env = { ...ws.env, MLCTL_API_TOKEN: TOKEN };
const cli = (args: string[], input?: string) => runCli(args, { cwd: ws.dir, env, ...(input === undefined ? {} : { input }) });
const { race: _race, sex: _sex, ...SEED_BODY } = SEED_RECORD;
const auth = { authorization: `Bearer ${TOKEN}` };
let runId: string;
let daemon: Daemon;

async function call(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const response = await fetch(`${daemon.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...auth, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

function expectJsonError(r: { status: number; json: any; text: string }, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.json?.error?.code).toBe(code);
  expect(r.text).not.toMatch(/\n\s+at |\.js:\d+/);
}

beforeAll(async () => {
  const train = await cli(['train', 'income', '--epochs', '1', '--patience', '0', '--no-gates', '--json'], undefined);
  expect(train.code, train.stderr).toBe(0);
  runId = (JSON.parse(train.stdout) as { run: { id: string } }).run.id;
  for (const args of [['models', 'register', runId, '--name', 'income', '--json'], ['models', 'alias', 'set', 'income', 'production', '1', '--json'], ['db', 'migrate', '--json']]) {
    const r = await cli(args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  }
  daemon = await startDaemon(['--reload-interval', '0.5'], { cwd: ws.dir, env });
}, 300_000);

afterAll(async () => {
  await daemon?.stop('SIGKILL');
  ws.cleanup();
});

describe('mlctl serve (built binary)', () => {
  it('binds 127.0.0.1 on the port it reports and serves income@production from the registry', () => {
    expect(daemon.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const listening = daemon.events().find((e) => e.event === 'listening')!;
    expect(listening).toMatchObject({ model: 'income', version: '1', run_id: runId, scorer: 'mlp-simd', auth: true, database: true });
  });

  it('POST /predict_income answers the seed body as the TensorFlow.js predictor does (1e-5)', async () => {
    const r = await call('/predict_income', { body: SEED_BODY });
    expect(r.status, r.text).toBe(200);
    expect(r.json.model).toEqual({ name: 'income', version: '1' });
    expect(r.json.income_gt_50k).toBe(r.json.probability >= 0.5);
    // /predict and `mlctl predict` want every field; null asks for imputation, as /predict_income does for absent race and sex.
    const records = [{ ...SEED_BODY, race: null, sex: null }, { ...SEED_RECORD, age: 52, education: 'Doctorate', education_num: 16, marital_status: 'Married-civ-spouse', relationship: 'Husband', capital_gain: 15024 }];
    const predicted = await cli(['predict', '--model', 'income@production', '--json'], records.map((x) => JSON.stringify(x)).join('\n'));
    expect(predicted.code, predicted.stderr).toBe(0);
    const tf = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as { label: string; probability: number });
    expect(Math.abs(r.json.probability - tf[0]!.probability)).toBeLessThan(1e-5);
    const batch = await call('/predict', { body: records });
    expect(batch.json.predictions.map((p: { label: string }) => p.label)).toEqual(tf.map((p) => p.label));
    for (let i = 0; i < tf.length; i++) expect(Math.abs(batch.json.predictions[i].probability - tf[i]!.probability)).toBeLessThan(1e-5);
  });

  it('takes the same 12-field record (no race, no sex) on /predict_income, /predict and /invocations, as mlctl predict does', async () => {
    expect(Object.keys(SEED_BODY)).toHaveLength(12);
    const income = await call('/predict_income', { body: SEED_BODY });
    expect(income.status, income.text).toBe(200);
    const cliAnswer = await cli(['predict', '--model', runId, '--json'], JSON.stringify(SEED_BODY));
    expect(cliAnswer.code, cliAnswer.stderr).toBe(0);
    const expected = JSON.parse(cliAnswer.stdout) as { label: string; probability: number };
    // /invocations takes it in MLflow's protocol: one input key.
    for (const [route, body] of [
      ['/predict', SEED_BODY],
      ['/invocations', { dataframe_records: [SEED_BODY] }],
    ] as const) {
      const r = await call(route, { body });
      expect(r.status, r.text).toBe(200);
      expect(r.json.predictions[0].label).toBe(expected.label);
      expect(r.json.predictions[0].probability).toBeCloseTo(expected.probability, 5);
    }
    expect(income.json.probability).toBeCloseTo(expected.probability, 5);
    // The model takes neither: sending them changes nothing.
    expect((await call('/predict', { body: { ...SEED_BODY, race: 'Black', sex: 'Female' } })).json.predictions[0].probability).toBeCloseTo(expected.probability, 5);
  });

  it('POST /predict and /invocations take MLflow shapes', async () => {
    const expected = (await call('/predict', { body: [{ id: 'x', ...SEED_RECORD }] })).json.predictions[0];
    expect(expected.id).toBe('x');
    for (const body of [{ dataframe_records: [SEED_RECORD] }, { instances: [SEED_RECORD] }, { inputs: [SEED_RECORD] }, { dataframe_split: { columns: Object.keys(SEED_RECORD), data: [Object.values(SEED_RECORD)] } }]) {
      const r = await call('/invocations', { body });
      expect(r.status, r.text).toBe(200);
      expect(r.json.predictions).toEqual([{ label: expected.label, probability: expected.probability }]);
    }
  });

  it('answers every error as JSON: 400, 401, 404, 405, 413, 415, 422', async () => {
    expectJsonError(await call('/predict_income', { body: '{"age": 39' }), 400, 'BODY_MALFORMED_JSON');
    expectJsonError(await call('/predict_income', { body: SEED_BODY, headers: { authorization: 'Bearer wrong' } }), 401, 'UNAUTHORIZED');
    expectJsonError(await call('/nope'), 404, 'NOT_FOUND');
    const wrongMethod = await call('/predict', { method: 'GET' });
    expectJsonError(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expectJsonError(await call('/predict_income', { body: JSON.stringify(SEED_BODY), headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const missing = await call('/predict_income', { body: { ...SEED_BODY, age: undefined, capital_gain: 'lots' } });
    expectJsonError(missing, 422, 'INPUT_INVALID');
    expect(missing.json.error.problems.map((p: { field: string }) => p.field)).toEqual(['age', 'capital_gain']);
    // Over 4 MiB: refused from Content-Length without keeping the body…
    const big = Buffer.alloc(4 * 1024 * 1024 + 10, 0x20);
    const declared = await rawRequest(`${daemon.url}/predict`, { headers: { ...auth, 'content-type': 'application/json', 'content-length': big.length }, body: big });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body).error.code).toBe('BODY_TOO_LARGE');
    // …and while streaming a chunked body.
    const chunked = await rawRequest(`${daemon.url}/predict`, {
      headers: { ...auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      onRequest: (req) => {
        for (let i = 0; i < 80; i++) req.write(Buffer.alloc(64 * 1024, 0x20));
        req.end();
      },
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe('BODY_TOO_LARGE');
    // The daemon still answers.
    expect((await call('/predict_income', { body: SEED_BODY })).status).toBe(200);
  });

  it('numbers records from 1 and judges values the same way over HTTP and in `mlctl predict`', async () => {
    const records = [SEED_RECORD, { ...SEED_RECORD, age: 'old' }, { ...SEED_RECORD, workclass: 42, hours_per_week: 200 }];
    const http = await call('/predict', { body: records });
    expectJsonError(http, 422, 'INPUT_INVALID');
    expect(http.json.error.problems).toEqual([
      { record: 2, field: 'age', message: 'expected a number, got string "old".' },
      { record: 3, field: 'workclass', message: 'expected a string, got number 42.' },
      { record: 3, field: 'hours_per_week', message: '200 is above the maximum 168 the task allows.' },
    ]);
    const refused = await cli(['predict', '--model', 'income@production', '--json'], JSON.stringify(records));
    expect(refused.code).toBe(2);
    const error = JSON.parse(refused.stdout) as { error: { problems: string[] } };
    expect(error.error.problems).toEqual([
      'record 2, field "age": expected a number, got string "old".',
      'record 3, field "workclass": expected a string, got number 42.',
      'record 3, field "hours_per_week": 200 is above the maximum 168 the task allows.',
    ]);
    // Outside the training range (Adult's ages run 17 to 90): answered, with a warning, both ways.
    const old = { ...SEED_RECORD, age: 99 };
    const warned = await call('/predict', { body: [old] });
    expect(warned.json.predictions[0].warnings).toEqual([{ field: 'age', kind: 'out-of-range', message: '99 is outside the training range [17, 90]; the answer is an extrapolation.' }]);
    const cliWarned = await cli(['predict', '--model', 'income@production', '--json'], JSON.stringify(old));
    expect(cliWarned.code, cliWarned.stderr).toBe(0);
    expect(JSON.parse(cliWarned.stdout)).toMatchObject({ probability: warned.json.predictions[0].probability, warnings: warned.json.predictions[0].warnings });
    expect(cliWarned.stderr).toContain('record 1, field "age": 99 is outside the training range [17, 90]');
    // The bundle's input schema carries the range `mlctl models show` reads.
    const spec = await call('/openapi.json');
    expect(spec.json.components.schemas.IncomeRecord.properties.age['x-training-range']).toEqual({ min: 17, max: 90 });
  });

  it('GET /health and /ready need no token; /metrics, /models, /openapi.json and /docs do', async () => {
    for (const path of ['/health', '/ready']) {
      const r = await fetch(`${daemon.url}${path}`);
      expect(r.status).toBe(200);
    }
    for (const path of ['/metrics', '/models', '/openapi.json', '/docs', '/users']) {
      const r = await fetch(`${daemon.url}${path}`);
      expect(r.status, path).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const metrics = await call('/metrics');
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.text).toContain('mlctl_http_requests_total{route="predict_income",method="POST",status="200"}');
    expect(metrics.text).toMatch(/^mlctl_model_info\{name="income",version="1",run_id="[0-9a-f]+",bundle_sha256="[0-9a-f]{64}",family="mlp",scorer="mlp-simd"\} 1$/m);
    const models = await call('/models');
    expect(models.json.models[0]).toMatchObject({ name: 'income', version: '1', runId, family: 'mlp' });
    const spec = await call('/openapi.json');
    expect(spec.json.openapi).toBe('3.1.0');
    expect(Object.keys(spec.json.paths)).toEqual(expect.arrayContaining(['/predict_income', '/predict', '/invocations', '/users', '/users/{id}']));
    const docs = await call('/docs');
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    expect(docs.text).toContain('<script id="spec" type="application/json">');
  });

  it('serves /users like `mlctl db users` and stores each prediction in the predictions table', async () => {
    const created = await call('/users', { body: SEED_RECORD });
    expect(created.status, created.text).toBe(201);
    const id = created.json.id as number;
    const listed = await cli(['db', 'users', 'get', String(id), '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ id, age: 39, occupation: 'Adm-clerical' });
    expect((await call(`/users/${id}`, { method: 'PATCH', body: { hours_per_week: 50 } })).json.hours_per_week).toBe(50);
    expect((await call(`/users?where=hours_per_week%3D50`)).json.total).toBe(1);
    expectJsonError(await call('/users', { body: { age: 'x' } }), 422, 'USER_INVALID');
    expect((await call(`/users/${id}`, { method: 'DELETE' })).status).toBe(200);
    expectJsonError(await call(`/users/${id}`), 404, 'USER_NOT_FOUND');

    const before = countPredictions();
    for (let i = 0; i < 5; i++) expect((await call('/predict_income', { body: { ...SEED_BODY, age: 30 + i } })).status).toBe(200);
    expect((await call('/predict', { body: [SEED_RECORD, SEED_RECORD, SEED_RECORD] })).status).toBe(200);
    // Written off the response path, within about 200 ms.
    let after = countPredictions();
    for (let i = 0; i < 50 && after < before + 8; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = countPredictions();
    }
    expect(after - before).toBe(8);
  });

  it('logs JSON lines on stderr without client IPs or input values', () => {
    const requests = daemon.events().filter((e) => e.event === 'request');
    expect(requests.length).toBeGreaterThan(10);
    for (const line of requests) {
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['time', 'method', 'path', 'route', 'status', 'ms', 'client']));
      expect(line.client).toMatch(/^[A-Za-z0-9_-]{16}$/);
    }
    const text = daemon.stderr();
    for (const secret of ['127.0.0.1"', 'State-gov', 'Adm-clerical', '77516', TOKEN]) expect(text.split('\n').filter((l) => l.includes('"request"') && l.includes(secret))).toEqual([]);
  });

  it('reloads with no failed request when the alias moves, and on SIGHUP', async () => {
    const traffic = startTraffic();
    const registered = await cli(['models', 'register', runId, '--name', 'income', '--json']);
    expect(registered.code, registered.stderr).toBe(0);
    expect((await cli(['models', 'alias', 'set', 'income', 'production', '2'])).code).toBe(0);
    await daemon.waitForEvent((e) => e.event === 'model-reloaded' && e.reason === 'alias' && e.version === '2', 30_000);
    let answer = await call('/predict_income', { body: SEED_BODY });
    expect(answer.json.model).toEqual({ name: 'income', version: '2' });
    daemon.child.kill('SIGHUP');
    await daemon.waitForEvent((e) => e.event === 'model-reloaded' && e.reason === 'signal', 30_000);
    answer = await call('/predict_income', { body: SEED_BODY });
    expect(answer.status).toBe(200);
    const { ok, failed, versions } = await traffic.stop();
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    expect(versions.has('2')).toBe(true);
    const metrics = await call('/metrics');
    expect(metrics.text).toContain('mlctl_model_reloads_total{reason="alias",result="swapped"} 1');
    expect(metrics.text).toContain('mlctl_model_reloads_total{reason="signal",result="swapped"} 1');
  });

  it('survives a short soak with 20% bad requests: every good answer right, memory bounded', async () => {
    const expected = (await call('/predict_income', { body: SEED_BODY })).json;
    const bad = [
      { body: '{"age":', status: 400 },
      { body: JSON.stringify({ ...SEED_BODY, age: 'x' }), status: 422 },
      { body: JSON.stringify([1, 2]), status: 422 },
      { body: JSON.stringify(SEED_BODY), status: 415, type: 'text/plain' },
    ];
    const deadline = Date.now() + 6_000;
    const wrong: string[] = [];
    let good = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = worker; Date.now() < deadline; i++) {
          if (i % 5 === 0) {
            const b = bad[(i / 5) % bad.length]!;
            const r = await call('/predict_income', { body: b.body, headers: { 'content-type': b.type ?? 'application/json' } });
            if (r.status === b.status && r.json?.error?.code !== undefined) refused++;
            else wrong.push(`bad #${i}: ${r.status} ${r.text.slice(0, 100)}`);
          } else {
            const r = await call('/predict_income', { body: SEED_BODY });
            if (r.status === 200 && r.json.probability === expected.probability && r.json.income_gt_50k === expected.income_gt_50k) good++;
            else wrong.push(`good #${i}: ${r.status} ${r.text.slice(0, 100)}`);
          }
        }
      }),
    );
    expect(wrong).toEqual([]);
    expect(good).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(20);
    const rss = Number(/^process_resident_memory_bytes (\d+)/m.exec((await call('/metrics')).text)?.[1]);
    // The bound stated in the report: the daemon stays under 256 MiB resident.
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(256 * 1024 * 1024);
  }, 60_000);

  it('SIGTERM lets a request in flight finish, then exits 0', async () => {
    const body = Buffer.from(JSON.stringify(Array.from({ length: 200 }, () => SEED_RECORD)));
    let sendRest!: () => void;
    const answer = rawRequest(`${daemon.url}/predict`, {
      headers: { ...auth, 'content-type': 'application/json', 'content-length': body.length },
      onRequest: (req) => {
        req.write(body.subarray(0, 100));
        sendRest = () => req.end(body.subarray(100));
      },
    });
    // Let the headers reach the daemon, then ask it to stop while the body is still coming.
    await new Promise((r) => setTimeout(r, 300));
    daemon.child.kill('SIGTERM');
    await daemon.waitForEvent((e) => e.event === 'draining', 10_000);
    sendRest();
    const response = await answer;
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body).predictions).toHaveLength(200);
    expect(response.headers.connection).toBe('close');
    expect(await daemon.exited).toBe(0);
    expect(daemon.events().find((e) => e.event === 'stopped')).toMatchObject({ cut_requests: 0 });
  });
});

function countPredictions(): number {
  const db = new Database(join(ws.dir, 'data', 'mlctl.db'), { readonly: true });
  try {
    return (db.prepare('select count(*) as n from predictions').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Four clients posting the seed body in a loop until stopped; collects every failure. */
function startTraffic(): { stop(): Promise<{ ok: number; failed: string[]; versions: Set<string> }> } {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const versions = new Set<string>();
  const workers = Array.from({ length: 4 }, async () => {
    while (running) {
      try {
        const r = await call('/predict_income', { body: SEED_BODY });
        if (r.status === 200) {
          ok++;
          versions.add(r.json.model.version);
        } else failed.push(`${r.status} ${r.text.slice(0, 200)}`);
      } catch (error) {
        failed.push(String(error));
      }
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      return { ok, failed, versions };
    },
  };
}
