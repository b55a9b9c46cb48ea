// Benchmark of `mlctl serve`: wrk (Debian's package) posting the seed's curl body to
// /predict_income on loopback at 64 and 16 connections, a 1,000-record /predict batch, and
// with --soak a 60 s run with 20 % bad requests mixed in (correctness and memory checked).
// Prints one JSON document. Speed targets (issue 6): ≥ 3,000 req/s at 64 connections with
// zero errors; p99 ≤ 10 ms at 16 connections; a 1,000-record batch in ≤ 20 ms.
//
//   npm run build && node bench/serve.mjs [--runs 3] [--duration 10] [--soak] [--soak-seconds 60] [--model <ref>]
//
// The model: --model, else a run trained once (1 epoch; the network's shape, not its
// accuracy, sets the speed) in bench/out/serve-workspace and reused afterwards.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { Agent } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, median, MLCTL_BIN, percentile, REPO_ROOT, round, SHARED_DATA } from './lib.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    soak: { type: 'boolean', default: false },
    'soak-seconds': { type: 'string', default: '60' },
    model: { type: 'string' },
    'batch-requests': { type: 'string', default: '30' },
  },
});
const RUNS = Number(args.runs);
const DURATION = Number(args.duration);

// The seed service's curl body, from the built package (run `npm run build` first).
const { SEED_INCOME_EXAMPLE: SEED_BODY } = await import('../dist/core/serving/openapi.js');

const OUT = join(REPO_ROOT, 'bench', 'out');
const WORKSPACE = join(OUT, 'serve-workspace');
mkdirSync(WORKSPACE, { recursive: true });
const env = {
  ...process.env,
  CI: 'true',
  MLCTL_RUNS_DIR: join(WORKSPACE, 'runs'),
  MLCTL_DATA_DIR: join(WORKSPACE, 'data'),
  MLCTL_DATA_MIRROR: SHARED_DATA,
  MLCTL_API_TOKEN: '',
};

function hasWrk() {
  return spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;
}

/** A run id with a bundle in the bench workspace, training one when there is none. */
function benchModel() {
  if (args.model !== undefined) return args.model;
  const runsDir = join(WORKSPACE, 'runs', 'income');
  if (existsSync(runsDir)) {
    for (const id of readdirSync(runsDir)) if (existsSync(join(runsDir, id, 'artifacts', 'model', 'manifest.json'))) return id;
  }
  mkdirSync(WORKSPACE, { recursive: true });
  const r = spawnSync(process.execPath, [MLCTL_BIN, 'train', 'income', '--epochs', '1', '--patience', '0', '--no-gates', '--json'], { cwd: WORKSPACE, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`training the bench model failed: ${r.stderr}`);
  return JSON.parse(r.stdout).run.id;
}

/** Starts the daemon; its log goes to a file (as it would to a journal), not through this process. */
async function startDaemon(model, extraArgs = []) {
  const logPath = join(OUT, `serve-${Date.now()}.log`);
  const log = openSync(logPath, 'w');
  const child = spawn(process.execPath, [MLCTL_BIN, 'serve', '--model', model, '--port', '0', '--no-database', ...extraArgs], { cwd: WORKSPACE, env, stdio: ['ignore', 'ignore', log] });
  const started = Date.now();
  for (;;) {
    const text = readFileSync(logPath, 'utf8');
    const line = text.split('\n').find((l) => l.includes('"event":"listening"'));
    if (line !== undefined) return { child, url: JSON.parse(line).url, logPath };
    if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`mlctl serve did not start: ${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stopDaemon(daemon) {
  const exited = new Promise((resolve) => daemon.child.once('exit', (code) => resolve(code)));
  daemon.child.kill('SIGTERM');
  const code = await exited;
  rmSync(daemon.logPath, { force: true });
  return code;
}

const GOOD_LUA = `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '${JSON.stringify(SEED_BODY)}'
`;

function parseDuration(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (m === null) return Number.NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2]];
  return Number(m[1]) * scale;
}

/** One wrk run; latency figures in ms. */
function runWrk(url, connections, seconds, script, threads = 2) {
  const scriptPath = join(OUT, `serve-${process.pid}.lua`);
  writeFileSync(scriptPath, script);
  const r = spawnSync('wrk', [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '--latency', '-s', scriptPath, `${url}/predict_income`], { encoding: 'utf8' });
  rmSync(scriptPath, { force: true });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr}`);
  const out = r.stdout;
  const pick = (re) => re.exec(out)?.[1];
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSecond: Number(pick(/Requests\/sec:\s+([\d.]+)/)),
    requests: Number(pick(/(\d+) requests in/)),
    p50Ms: parseDuration(pick(/^\s+50%\s+(\S+)/m)),
    p90Ms: parseDuration(pick(/^\s+90%\s+(\S+)/m)),
    p99Ms: parseDuration(pick(/^\s+99%\s+(\S+)/m)),
    non2xx: Number(pick(/Non-2xx or 3xx responses: (\d+)/) ?? 0),
    socketErrors: socketErrors === null ? 0 : socketErrors.slice(1).reduce((a, b) => a + Number(b), 0),
    loadAverage1m: round(loadavg()[0], 2),
    stdout: out,
  };
}

function summarize(runs) {
  return {
    runs: runs.map(({ stdout: _stdout, ...rest }) => rest),
    medianRequestsPerSecond: round(median(runs.map((r) => r.requestsPerSecond)), 0),
    medianP50Ms: round(median(runs.map((r) => r.p50Ms)), 2),
    medianP99Ms: round(median(runs.map((r) => r.p99Ms)), 2),
    errors: runs.reduce((sum, r) => sum + r.non2xx + r.socketErrors, 0),
  };
}

/** Sequential keep-alive POSTs of a 1,000-record batch; client-side wall time per request. */
async function timeBatch(url, count) {
  const records = Array.from({ length: 1000 }, (_, i) => ({ ...SEED_BODY, race: 'White', sex: i % 2 === 0 ? 'Male' : 'Female', id: i, age: 18 + (i % 60), hours_per_week: 10 + (i % 50) }));
  const body = Buffer.from(JSON.stringify(records));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = () =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request(`${url}/predict`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - started;
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (res.statusCode !== 200 || parsed.predictions.length !== 1000) reject(new Error(`batch answered ${res.statusCode}`));
          else resolve(ms);
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  for (let i = 0; i < 3; i++) await once(); // warm-up
  const times = [];
  for (let i = 0; i < count; i++) times.push(await once());
  agent.destroy();
  return { requests: count, bodyBytes: body.length, medianMs: round(median(times), 2), p90Ms: round(percentile(times, 90), 2), minMs: round(Math.min(...times), 2), loadAverage1m: round(loadavg()[0], 2) };
}

/**
 * The same batch through the handler in this process (no socket, no client): what the
 * daemon itself spends on parse, validation, features, forward pass and serialisation.
 */
async function timeBatchInProcess(modelDir, count) {
  const dist = (path) => new URL(`../dist/core/serving/${path}`, import.meta.url).href;
  const [{ loadServedModel }, { createServeHandler }, { createServingMetrics }, { createServeLogger }, { createModelHolder }] = await Promise.all(
    ['served-model.js', 'prediction-handler.js', 'serving-metrics.js', 'request-log.js', 'model-holder.js'].map((f) => import(dist(f))),
  );
  const model = await loadServedModel({ bundleDir: modelDir, source: { kind: 'path' } });
  const holder = createModelHolder({ initial: model, resolve: async () => ({ bundleDir: modelDir, source: { kind: 'path' } }), load: async () => model });
  const handler = createServeHandler({ holder, metrics: createServingMetrics(), logger: createServeLogger({ sink: { write() {} } }), mlctlVersion: 'bench' });
  const records = Array.from({ length: 1000 }, (_, i) => ({ ...SEED_BODY, race: 'White', sex: i % 2 === 0 ? 'Male' : 'Female', id: i, age: 18 + (i % 60), hours_per_week: 10 + (i % 50) }));
  const body = Buffer.from(JSON.stringify(records));
  const once = async () => {
    const started = performance.now();
    const response = await handler.handle({ method: 'POST', url: '/predict', contentType: 'application/json', authorization: undefined, body, clientIp: '127.0.0.1' });
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`in-process batch answered ${response.status}`);
    return ms;
  };
  for (let i = 0; i < 5; i++) await once();
  const times = [];
  for (let i = 0; i < count; i++) times.push(await once());
  return { requests: count, medianMs: round(median(times), 2), p90Ms: round(percentile(times, 90), 2), minMs: round(Math.min(...times), 2), scorer: model.scorer.kind, loadAverage1m: round(loadavg()[0], 2) };
}

/** The bundle directory a model reference names: a path as given, else the run's artifacts/model. */
function bundleDirOf(model) {
  if (existsSync(join(model, 'manifest.json'))) return model;
  const dir = join(WORKSPACE, 'runs', 'income', model, 'artifacts', 'model');
  return existsSync(join(dir, 'manifest.json')) ? dir : undefined;
}

async function metricValue(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

async function expectedProbability(url) {
  const r = await fetch(`${url}/predict_income`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SEED_BODY) });
  return (await r.json()).probability;
}

/**
 * The soak: wrk mixing 80 % good requests with 20 % bad ones (malformed JSON, a missing
 * field, a wrong type, a wrong content type). Lua counts, per thread, what it sent and
 * what came back: a good answer must be 200 with the expected probability; a bad one 4xx.
 */
function soakScript(probability) {
  const good = JSON.stringify(SEED_BODY);
  const { age: _age, ...missing } = SEED_BODY;
  return `
local good = '${good}'
local bad = {
  { '{"age": 39,', 'application/json' },
  { '${JSON.stringify(missing)}', 'application/json' },
  { '${JSON.stringify({ ...SEED_BODY, hours_per_week: 'forty' })}', 'application/json' },
  { '${good}', 'text/plain' },
}
local expected = '"probability":${probability},'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  sent_good, sent_bad, ok_good, ok_bad, wrong, n = 0, 0, 0, 0, 0, 0
end
function request()
  n = n + 1
  if n % 5 == 0 then
    sent_bad = sent_bad + 1
    local b = bad[(n / 5) % #bad + 1]
    return wrk.format("POST", nil, { ["Content-Type"] = b[2] }, b[1])
  end
  sent_good = sent_good + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, good)
end
function response(status, headers, body)
  if status == 200 then
    if string.find(body, expected, 1, true) then ok_good = ok_good + 1 else wrong = wrong + 1 end
  elseif status >= 400 and status < 500 and string.find(body, '"error"', 1, true) then
    ok_bad = ok_bad + 1
  else
    wrong = wrong + 1
  end
end
function done(summary, latency, requests)
  local t = { sent_good = 0, sent_bad = 0, ok_good = 0, ok_bad = 0, wrong = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  io.write(string.format("SOAK %d %d %d %d %d\\n", t.sent_good, t.sent_bad, t.ok_good, t.ok_bad, t.wrong))
end
`;
}

async function soak(url, pid, seconds) {
  const probability = await expectedProbability(url);
  const rss = [];
  const sampler = setInterval(() => {
    const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
    const kib = Number(r.stdout.trim());
    if (kib > 0) rss.push(kib * 1024);
  }, 1000);
  const before = await metricValue(url, 'process_resident_memory_bytes');
  // wrk runs as a child process; the sampler keeps ticking because spawnSync would block it.
  const result = await new Promise((resolve, reject) => {
    const scriptPath = join(OUT, `soak-${process.pid}.lua`);
    writeFileSync(scriptPath, soakScript(probability));
    const child = spawn('wrk', ['-t2', '-c32', `-d${seconds}s`, '--timeout', '5s', '--latency', '-s', scriptPath, `${url}/predict_income`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      rmSync(scriptPath, { force: true });
      if (code !== 0) reject(new Error(`wrk exited ${code}`));
      else resolve(out);
    });
  });
  clearInterval(sampler);
  const [sentGood, sentBad, okGood, okBad, wrong] = /SOAK (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(result).slice(1).map(Number);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(result);
  const boundBytes = 256 * 1024 * 1024;
  const maxRss = Math.max(before, ...rss);
  return {
    seconds,
    connections: 32,
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(result)?.[1]),
    sentGood,
    sentBad,
    badShare: round(sentBad / (sentGood + sentBad), 3),
    goodAnsweredCorrectly: okGood,
    badRefusedWithJsonError: okBad,
    wrongAnswers: wrong,
    // Requests still in flight when wrk stops get no answer: at most one per connection.
    unanswered: sentGood + sentBad - okGood - okBad - wrong,
    socketErrors: socketErrors === null ? 0 : socketErrors.slice(1).reduce((a, b) => a + Number(b), 0),
    rssBeforeMiB: round(before / 2 ** 20, 1),
    rssMaxMiB: round(maxRss / 2 ** 20, 1),
    rssEndMiB: round((rss.at(-1) ?? before) / 2 ** 20, 1),
    rssBoundMiB: boundBytes / 2 ** 20,
    withinBound: maxRss < boundBytes,
    ok: wrong === 0 && sentGood + sentBad - okGood - okBad - wrong <= 32 && maxRss < boundBytes,
    loadAverage1m: round(loadavg()[0], 2),
  };
}

async function main() {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('build first: npm run build');
  if (!hasWrk()) {
    process.stdout.write(`${JSON.stringify({ benchmark: 'serve', skipped: 'wrk is not installed (apt-get install wrk)' }, null, 2)}\n`);
    return;
  }
  const model = benchModel();
  const result = { benchmark: 'serve', machine: machine(), model, durationSeconds: DURATION, runsPerFigure: RUNS };

  const daemon = await startDaemon(model);
  try {
    runWrk(daemon.url, 16, 2, GOOD_LUA); // warm-up: JIT and caches
    const c64 = [];
    const c16 = [];
    for (let i = 0; i < RUNS; i++) {
      c64.push(runWrk(daemon.url, 64, DURATION, GOOD_LUA));
      c16.push(runWrk(daemon.url, 16, DURATION, GOOD_LUA));
    }
    result.predictIncome64Connections = summarize(c64);
    result.predictIncome16Connections = summarize(c16);
    result.batch1000 = await timeBatch(daemon.url, Number(args['batch-requests']));
    const bundleDir = bundleDirOf(model);
    if (bundleDir !== undefined) result.batch1000InProcess = await timeBatchInProcess(bundleDir, Number(args['batch-requests']));
    result.rssAfterLoadMiB = round((await metricValue(daemon.url, 'process_resident_memory_bytes')) / 2 ** 20, 1);
    if (args.soak) result.soak = await soak(daemon.url, daemon.child.pid, Number(args['soak-seconds']));
  } finally {
    result.daemonExitCode = await stopDaemon(daemon);
  }

  // The access log's cost: the same 64-connection load with it turned off.
  const quiet = await startDaemon(model, ['--no-access-log']);
  try {
    runWrk(quiet.url, 16, 2, GOOD_LUA);
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(runWrk(quiet.url, 64, DURATION, GOOD_LUA));
    result.predictIncome64ConnectionsNoAccessLog = summarize(runs);
  } finally {
    await stopDaemon(quiet);
  }

  result.targets = {
    rps64AtLeast3000: result.predictIncome64Connections.medianRequestsPerSecond >= 3000 && result.predictIncome64Connections.errors === 0,
    p99At16AtMost10ms: result.predictIncome16Connections.medianP99Ms <= 10,
    batch1000AtMost20ms: result.batch1000.medianMs <= 20,
    ...(result.batch1000InProcess === undefined ? {} : { batch1000InProcessAtMost20ms: result.batch1000InProcess.medianMs <= 20 }),
    ...(result.soak === undefined ? {} : { soak: result.soak.ok }),
  };
  result.machine.loadAverage1mAtEnd = round(loadavg()[0], 2);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
