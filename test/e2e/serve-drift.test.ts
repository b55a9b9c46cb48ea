/**
 * Issue 15's check, with the built binary and a real income model: `serve --workers 2`
 * receiving Adult's test rows of people over 60 through /predict shows the drift in
 * /metrics within a window (1 s here), computed from the workers' summed counts, and
 * `mlctl monitor drift --since` reads the same counts back from the database and reports
 * the same PSI. Then: the partial window written at SIGTERM, drift in memory only without a
 * database, a bundle without a profile, monitoring turned off, the histogram retention, and
 * the exit codes of `--since` / `--window`.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, runCli, SHARED_DATA, type CliResult } from '../helpers/cli.js';
import { missingTool } from '../helpers/tools.js';
import { writeIncomeBundle, type IncomeBundle } from '../unit/serving/fixture.js';
import { startDaemon } from './serve-helpers.js';

const ws = createWorkspace('mlctl-serve-drift-');
const env = { ...ws.env, MLCTL_API_TOKEN: undefined };
const cli = (args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<CliResult> => runCli(args, { cwd: ws.dir, env: { ...env, ...extraEnv }, timeoutMs: 120_000 });
const INPUTS = ['age', 'workclass', 'fnlwgt', 'education', 'education_num', 'marital_status', 'occupation', 'relationship', 'capital_gain', 'capital_loss', 'hours_per_week', 'native_country'];
const ADULT = ['age', 'workclass', 'fnlwgt', 'education', 'education_num', 'marital_status', 'occupation', 'relationship', 'race', 'sex', 'capital_gain', 'capital_loss', 'hours_per_week', 'native_country'];
const NUMERIC = new Set(['age', 'fnlwgt', 'education_num', 'capital_gain', 'capital_loss', 'hours_per_week']);

let runId: string;
let testRecords: Record<string, unknown>[];
let over60: Record<string, unknown>[];
let fixture: IncomeBundle;
let noProfile: IncomeBundle;

interface FeatureJson {
  feature: string;
  psi: number;
  drifted: boolean;
}
interface DriftJson {
  rows: number;
  features: FeatureJson[];
  output: FeatureJson;
  drifted: string[];
  data: string | null;
  outputSample: unknown;
  histograms: { model: string; version: string; windows: number; from: string; to: string; first: string; last: string } | null;
}

/** adult.test as /predict records: the model's 12 inputs, "?" as null (imputed). */
function adultTest(): Record<string, unknown>[] {
  return readFileSync(join(SHARED_DATA, 'income', 'adult.test'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('|'))
    .map((line) => {
      const fields = line.split(',').map((f) => f.trim().replace(/\.$/, ''));
      const record: Record<string, unknown> = {};
      ADULT.forEach((column, i) => {
        if (!INPUTS.includes(column)) return;
        const value = fields[i]!;
        record[column] = value === '?' ? null : NUMERIC.has(column) ? Number(value) : value;
      });
      return record;
    });
}

beforeAll(async () => {
  const trained = await cli(['train', 'income', '--epochs', '1', '--patience', '0', '--seed', '3', '--no-gates', '--json']);
  expect(trained.code, trained.stderr).toBe(0);
  runId = (JSON.parse(trained.stdout) as { run: { id: string } }).run.id;
  const migrated = await cli(['db', 'migrate', '--json']);
  expect(migrated.code, migrated.stderr).toBe(0);
  testRecords = adultTest();
  over60 = testRecords.filter((r) => (r.age as number) > 60);
  fixture = await writeIncomeBundle({ seed: 4, profile: true, runId: 'fixture-run', root: join(ws.dir, 'fixture') });
  noProfile = await writeIncomeBundle({ seed: 5, runId: 'old-run', root: join(ws.dir, 'no-profile') });
}, 300_000);

afterAll(() => ws.cleanup());

async function post(url: string, records: readonly unknown[]): Promise<void> {
  const r = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(records) });
  expect(r.status, await r.clone().text()).toBe(200);
  await r.text();
}

/** The samples of a gauge family in /metrics: labels text → value. */
function gauges(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [, labels, value] of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) out.set(labels!, Number(value));
  return out;
}

/** Polls /metrics until `done` holds for it. */
async function metricsUntil(url: string, done: (text: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await (await fetch(`${url}/metrics`)).text();
    if (done(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`/metrics never got there:\n${text.split('\n').filter((l) => /drift/.test(l)).join('\n')}`);
}

function withDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('drift in serve (issue 15)', () => {
  it('shows the over-60 sample as drift in /metrics within a window, from the counts of both workers, and monitor drift --since agrees', async () => {
    const daemon = await startDaemon(['--model', runId, '--workers', '2', '--monitor-window', '1s'], { cwd: ws.dir, env });
    try {
      expect(daemon.events().filter((e) => e.event === 'drift-monitoring')).toEqual([expect.objectContaining({ window: '1s', histograms: 'database', gauges_over_windows: 12 })]);
      // Concurrent batches on their own connections: the primary spreads them over both workers.
      const batches = Array.from({ length: 13 }, (_, i) => over60.slice(i * 100, (i + 1) * 100)).filter((b) => b.length > 0);
      await Promise.all(batches.map((batch) => post(daemon.url, batch)));

      const version = `model="income",version="${runId}"`;
      // Within a window or two of the last answer (1 s each), and a scrape; a loaded machine gets slack.
      const text = await metricsUntil(daemon.url, (t) => gauges(t, 'mlctl_drift_window_records').get(version) === over60.length, 8_000);
      // Both workers answered some (each access-log line names its worker; they are written a little later).
      for (const index of [0, 1]) await daemon.waitForEvent((e) => e.event === 'request' && e.route === 'predict' && e.worker === index, 10_000);
      const psi = gauges(text, 'mlctl_feature_drift');
      expect(psi.get(`${version},feature="age"`)).toBeGreaterThan(2);
      expect(psi.get(`${version},feature="fnlwgt"`)).toBeLessThan(0.1);
      expect(gauges(text, 'mlctl_drifted_features').get(version)).toBeGreaterThanOrEqual(4);
      if (!missingTool('promtool')) {
        const checked = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect(`${checked.stdout}${checked.stderr}`.trim()).toBe('');
      }

      // The same counts, read back from the database: the same PSI, input by input.
      let stored: DriftJson | undefined;
      for (let attempt = 0; attempt < 40 && stored?.rows !== over60.length; attempt++) {
        const r = await cli(['monitor', 'drift', runId, '--since', '1h', '--json']);
        if (r.code === 0) stored = JSON.parse(r.stdout) as DriftJson;
        else await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(stored?.rows).toBe(over60.length);
      expect(stored!.data).toBeNull();
      expect(stored!.outputSample).toBeNull();
      expect(stored!.histograms).toMatchObject({ model: 'income', version: runId, windows: expect.any(Number) });
      for (const f of stored!.features) expect(psi.get(`${version},feature="${f.feature}"`), f.feature).toBeCloseTo(f.psi, 9);
      expect(gauges(text, 'mlctl_output_drift').get(version)).toBeCloseTo(stored!.output.psi, 9);
      expect(stored!.drifted).toEqual(expect.arrayContaining(['age', 'marital_status', 'relationship']));
      expect(stored!.drifted.length).toBe(gauges(text, 'mlctl_drifted_features').get(version));

      // Human output, --window, and --fail-over as for --data.
      const human = await cli(['monitor', 'drift', runId, '--since', '1h']);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(new RegExp(`records served by income version ${runId}, .* in \\d+ windows? \\(1,274 rows\\) against the training profile`));
      expect(human.stdout).toMatch(/│ age +│ numeric +│ +\d+\.\d{4} │/);
      const from = new Date(Date.now() - 3_600_000).toISOString().slice(0, 16);
      const windowed = await cli(['monitor', 'drift', runId, '--window', `${from}..`, '--fail-over', '0.2', '--json']);
      expect(windowed.code).toBe(4);
      expect((JSON.parse(windowed.stdout) as { error: { code: string } }).error.code).toBe('DRIFT_GATE_FAILED');
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  }, 120_000);

  it('writes the partial window when it stops, and keeps the histograms for --histogram-retention', async () => {
    const dbPath = join(ws.dir, 'drain.db');
    const drainEnv = { DATABASE_URL: `sqlite:${dbPath}` };
    expect((await cli(['db', 'migrate'], drainEnv)).code).toBe(0);
    // Two old windows (a year ago) for the retention to find.
    withDb(dbPath, (db) => {
      const insert = db.prepare("insert into drift_histograms values ('income', ?, '2025-01-01T00:00:00.000Z', '2025-01-01T00:05:00.000Z', 'age', 0, 3, 5)");
      insert.run('a');
      insert.run('b');
    });
    const daemon = await startDaemon(['--model', runId, '--monitor-window', '1h', '--histogram-retention', '30d'], { cwd: ws.dir, env: { ...env, ...drainEnv } });
    await daemon.waitForEvent((e) => e.event === 'histograms-pruned', 20_000);
    expect(daemon.events().find((e) => e.event === 'histograms-pruned')).toMatchObject({ rows: 2 });
    const sample = testRecords.slice(0, 600);
    await post(daemon.url, sample.slice(0, 300));
    await post(daemon.url, sample.slice(300));
    // The hour-long window is still open: nothing is stored yet.
    expect((await cli(['monitor', 'drift', runId, '--since', '2h'], drainEnv)).code).toBe(3);
    expect(await daemon.stop()).toBe(0);
    const after = await cli(['monitor', 'drift', runId, '--since', '2h', '--json'], drainEnv);
    expect(after.code, after.stderr).toBe(0);
    const json = JSON.parse(after.stdout) as DriftJson;
    expect(json.rows).toBe(600);
    expect(json.features.find((f) => f.feature === 'age')!.psi).toBeLessThan(0.1);
    // The window is stored whole ([start of the hour, next hour)), one row per input and non-empty bin.
    const rows = withDb(dbPath, (db) => db.prepare('select window_start, window_end, sum(records) as n from drift_histograms group by window_start, window_end').all() as { window_start: string; window_end: string; n: number }[]);
    expect(rows).toHaveLength(1);
    expect(new Date(rows[0]!.window_end).getTime() - new Date(rows[0]!.window_start).getTime()).toBe(3_600_000);
    expect(rows[0]!.n).toBe(600 * (INPUTS.length + 1));
  }, 120_000);

  it('without a database, keeps the counts in memory for /metrics and says so', async () => {
    const daemon = await startDaemon(['--model', fixture.dir, '--no-database', '--monitor-window', '1s'], { cwd: ws.dir, env });
    try {
      expect(daemon.events().find((e) => e.event === 'drift-monitoring')).toMatchObject({ histograms: 'memory', effect: expect.stringContaining('in memory for /metrics only') });
      await post(daemon.url, testRecords.slice(0, 150));
      const text = await metricsUntil(daemon.url, (t) => gauges(t, 'mlctl_drift_window_records').get('model="income",version="fixture-run"') === 150);
      expect(gauges(text, 'mlctl_feature_drift').size).toBe(INPUTS.length);
    } finally {
      await daemon.stop();
    }
  }, 60_000);

  it('serves a bundle without a profile with no drift gauges, saying so once; --monitor-window 0 turns monitoring off', async () => {
    const old = await startDaemon(['--model', noProfile.dir, '--no-database', '--monitor-window', '1s'], { cwd: ws.dir, env });
    try {
      await post(old.url, testRecords.slice(0, 150));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const text = await (await fetch(`${old.url}/metrics`)).text();
      expect(text).toContain('# TYPE mlctl_feature_drift gauge');
      expect(text).not.toMatch(/^mlctl_(feature_drift|drift_window_records)\{/m);
      expect(old.events().filter((e) => e.event === 'drift-monitoring-unavailable')).toEqual([
        expect.objectContaining({ level: 'warn', version: 'old-run', reason: expect.stringContaining('no reference profile') }),
      ]);
    } finally {
      await old.stop();
    }
    const off = await startDaemon(['--model', fixture.dir, '--no-database', '--monitor-window', '0'], { cwd: ws.dir, env });
    try {
      await post(off.url, testRecords.slice(0, 10));
      expect(off.events().find((e) => e.event === 'drift-monitoring-off')).toBeDefined();
      expect(await (await fetch(`${off.url}/metrics`)).text()).not.toContain('mlctl_feature_drift');
    } finally {
      await off.stop();
    }
  }, 60_000);
});

describe('monitor drift --since / --window: what is refused', () => {
  it('exits 2 for bad periods, two sources and too few rows; 3 with no database; 2 for one not migrated', async () => {
    const code = async (args: string[], extraEnv: Record<string, string | undefined> = {}): Promise<[number | null, string]> => {
      const r = await cli(['monitor', 'drift', runId, ...args], extraEnv);
      return [r.code, r.stderr];
    };
    expect(await code(['--since', 'yesterday'])).toEqual([2, expect.stringContaining('--since "yesterday" is not a duration')]);
    expect(await code(['--window', '2026-11-30'])).toEqual([2, expect.stringContaining('expected <from>..<to>')]);
    expect(await code(['--window', '2026-12-01..2026-11-30'])).toEqual([2, expect.stringContaining('must end after it starts')]);
    expect(await code(['--since', '1h', '--data', 'x.csv'])).toEqual([2, expect.stringContaining('--data and --since name two sources')]);
    expect(await code(['--since', '1h', '--output-rows', '10'])).toEqual([2, expect.stringContaining('--output-rows applies to --data only')]);
    // The over-60 sample stored by the first test: 1,274 records.
    expect(await code(['--since', '1h', '--min-rows', '5000'])).toEqual([2, expect.stringMatching(/answered 1274 records .* at least 5000/)]);
    expect(await code(['--since', '1h'], { DATABASE_URL: `sqlite:${join(ws.dir, 'nowhere.db')}` })).toEqual([3, expect.any(String)]);
    const bare = join(ws.dir, 'bare.db');
    expect((await cli(['db', 'migrate', '--to', '0002'], { DATABASE_URL: `sqlite:${bare}` })).code).toBe(0);
    expect(await code(['--since', '1h'], { DATABASE_URL: `sqlite:${bare}` })).toEqual([2, expect.stringContaining('not migrated')]);
  }, 120_000);

  it('mlctl db prune-histograms deletes windows older than --older-than', async () => {
    const dbPath = join(ws.dir, 'prune.db');
    const pruneEnv = { DATABASE_URL: `sqlite:${dbPath}` };
    expect((await cli(['db', 'migrate'], pruneEnv)).code).toBe(0);
    withDb(dbPath, (db) => {
      const insert = db.prepare("insert into drift_histograms values ('income', '1', ?, ?, 'age', ?, 3, 1)");
      for (let day = 0; day < 20; day++) {
        const start = new Date(Date.now() - (day + 0.5) * 86_400_000);
        for (let bin = 0; bin < 3; bin++) insert.run(start.toISOString(), new Date(start.getTime() + 300_000).toISOString(), bin);
      }
    });
    const pruned = await cli(['db', 'prune-histograms', '--older-than', '7d', '--json'], pruneEnv);
    expect(pruned.code, pruned.stderr).toBe(0);
    // Days 7.5 to 19.5 ago go; 0.5 to 6.5 stay.
    expect(JSON.parse(pruned.stdout)).toEqual({ deleted: 13 * 3, olderThan: '7d' });
    expect(withDb(dbPath, (db) => (db.prepare('select count(*) as n from drift_histograms').get() as { n: number }).n)).toBe(7 * 3);
    expect((await cli(['db', 'prune-histograms'], pruneEnv)).code).toBe(2);
  }, 60_000);
});
