/**
 * A user's own CSV, trained in one line: three sets the test writes itself (a three-class
 * set, a regression with a date column and NA markers, a binary set with headers holding
 * spaces, units and non-ASCII letters and some rows without a target), each trained from a
 * two-line task file in another folder and from --data/--target, predicted through the CLI
 * and served. Then every refusal: exit 2, its message, and no run recorded as FINISHED.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../src/core/random.js';
import { createWorkspace, runCli } from '../helpers/cli.js';
import { startDaemon } from './serve-helpers.js';

const ws = createWorkspace('mlctl-own-data-');
const cli = (args: string[], input?: string) => runCli(args, { cwd: ws.dir, env: ws.env, ...(input === undefined ? {} : { input }) });
afterAll(() => ws.cleanup());

type Row = Record<string, string>;

function csv(rows: readonly Row[]): string {
  const header = Object.keys(rows[0]!);
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return `${[header.map(quote).join(','), ...rows.map((r) => header.map((h) => quote(r[h]!)).join(','))].join('\n')}\n`;
}

/** Three classes told apart by petal length; an id column and a colour with NA that carry nothing. */
function flowers(): Row[] {
  const rng = createRng(11);
  return Array.from({ length: 450 }, (_, i) => {
    const k = i % 3;
    return {
      id: String(i + 1),
      'petal length [cm]': (1 + k * 2 + rng() * 1.6).toFixed(2),
      'petal width (cm)': (0.2 + rng() * 2).toFixed(2),
      colour: ['red', 'blue', 'NA'][Math.floor(rng() * 3)]!,
      species: ['setosa', 'versicolor', 'virginica'][k]!,
    };
  });
}

/** Units sold: linear in store size, promotion and the year; NA markers in features and target. */
function sales(): Row[] {
  const rng = createRng(12);
  return Array.from({ length: 400 }, (_, i) => {
    const day = new Date(Date.UTC(2019, 0, 1) + i * 4 * 86_400_000);
    const size = 50 + Math.floor(rng() * 200);
    const promo = rng() < 0.4;
    const units = 10 * size + 400 * (promo ? 1 : 0) + 300 * (day.getUTCFullYear() - 2019) + rng() * 50;
    return {
      day: day.toISOString().slice(0, 10),
      'store size m²': i % 25 === 3 ? 'NA' : String(size),
      promo: i % 31 === 5 ? 'N/A' : promo ? 'yes' : 'no',
      units: i % 40 === 7 ? 'NA' : units.toFixed(1),
    };
  });
}

/** Churn from fee, tenure and support calls (a clean rule); some rows lack the target. */
function churn(): Row[] {
  const rng = createRng(13);
  return Array.from({ length: 600 }, (_, i) => {
    const fee = 20 + Math.floor(rng() * 80);
    const tenure = Math.floor(rng() * 72);
    const calls = Math.floor(rng() * 6);
    const churned = fee / 10 + calls - tenure / 12 > 4;
    return {
      'Monthly fee (€)': String(fee),
      'tenure [months]': String(tenure),
      'support calls': String(calls),
      'Plan type': ['basic', 'plus', 'pro'][i % 3]!,
      'Churned?': i % 50 === 9 ? '' : churned ? 'yes' : 'no',
    };
  });
}

interface TrainJson {
  run: { id: string; experiment: string };
  task: string;
  rows: { train: number; validation: number; test: number };
  dropped: { file: string; count: number; lines: number[] }[];
  evaluation: { problemType: string; metrics: Record<string, number>; classes?: { labels: string[]; confusion: number[][] } };
}

const SETS = [
  { name: 'flowers', rows: flowers(), target: 'species', check: (t: TrainJson) => expect(t.evaluation.metrics.accuracy).toBeGreaterThanOrEqual(0.95) },
  { name: 'sales', rows: sales(), target: 'units', check: (t: TrainJson) => expect(t.evaluation.metrics.r2).toBeGreaterThanOrEqual(0.95) },
  { name: 'churn', rows: churn(), target: 'Churned?', check: (t: TrainJson) => expect(t.evaluation.metrics.accuracy).toBeGreaterThanOrEqual(0.9) },
] as const;

const trained = new Map<string, { fromFile: TrainJson; fromFlags: TrainJson; stderr: string }>();

beforeAll(async () => {
  mkdirSync(join(ws.dir, 'csv'));
  mkdirSync(join(ws.dir, 'tasks'));
  for (const set of SETS) {
    writeFileSync(join(ws.dir, 'csv', `${set.name}.csv`), csv(set.rows));
    // Two lines, the data relative to the task file's own folder (not the working folder).
    writeFileSync(join(ws.dir, 'tasks', `${set.name}.json`), `{"data": "../csv/${set.name}.csv",\n "target": ${JSON.stringify(set.target)}}\n`);
    const fromFile = await cli(['train', '--config', join('tasks', `${set.name}.json`), '--json']);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const fromFlags = await cli(['train', '--data', join('csv', `${set.name}.csv`), '--target', set.target, '--experiment', `${set.name}-flags`, '--json']);
    expect(fromFlags.code, fromFlags.stderr).toBe(0);
    trained.set(set.name, { fromFile: JSON.parse(fromFile.stdout) as TrainJson, fromFlags: JSON.parse(fromFlags.stdout) as TrainJson, stderr: fromFile.stderr });
  }
}, 600_000);

describe.each(SETS.map((s) => [s.name, s] as const))('%s: trained from a two-line task file and from --data/--target', (name, set) => {
  it('recovers the signal both ways, with the same inferred task', () => {
    const t = trained.get(name)!;
    set.check(t.fromFile);
    set.check(t.fromFlags);
    expect(t.fromFile.task).toBe(name);
    expect(t.fromFlags.evaluation.metrics).toEqual(t.fromFile.evaluation.metrics);
  });

  it('predicts raw records through the CLI and serves the same answers on /predict and /invocations', async () => {
    const t = trained.get(name)!;
    const records = set.rows.slice(0, 3).map((row) => {
      const { [set.target]: _target, ...features } = row;
      // Numbers as numbers, markers as null: what a JSON client sends.
      return Object.fromEntries(Object.entries(features).map(([k, v]) => [k, v === 'NA' || v === 'N/A' ? null : /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]));
    });
    const predicted = await cli(['predict', '--model', t.fromFile.run.id, '--json'], JSON.stringify(records));
    expect(predicted.code, predicted.stderr).toBe(0);
    const answers = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(answers).toHaveLength(3);
    if (name === 'flowers') {
      expect(answers.map((a) => a.label)).toEqual(['setosa', 'versicolor', 'virginica']);
      for (const a of answers) {
        expect(Object.keys(a.probabilities).sort()).toEqual(['setosa', 'versicolor', 'virginica']);
        expect(Object.values(a.probabilities as Record<string, number>).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 4);
      }
    } else if (name === 'sales') {
      for (const a of answers) expect(typeof a.prediction).toBe('number');
    } else {
      for (const a of answers) expect(['yes', 'no']).toContain(a.label);
    }
    const table = await cli(['predict', '--model', t.fromFile.run.id], JSON.stringify(records));
    expect(table.code, table.stderr).toBe(0);
    if (name === 'flowers') expect(table.stdout).toContain('p(versicolor)');

    const daemon = await startDaemon(['--model', t.fromFile.run.id, '--no-database'], { cwd: ws.dir, env: ws.env });
    try {
      // /invocations takes them in MLflow's protocol: one input key.
      for (const [route, payload] of [
        ['/predict', records],
        ['/invocations', { dataframe_records: records }],
      ] as const) {
        const response = await fetch(`${daemon.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
        const body = (await response.json()) as { predictions: Record<string, any>[] };
        expect(response.status, JSON.stringify(body)).toBe(200);
        expect(body.predictions.map((p) => p.label ?? Math.round(p.prediction))).toEqual(answers.map((a) => a.label ?? Math.round(a.prediction)));
      }
      // The input record is named after the task (x-mlctl.recordSchema).
      const openapi = (await (await fetch(`${daemon.url}/openapi.json`)).json()) as {
        'x-mlctl': { recordSchema: string };
        components: { schemas: Record<string, { properties: Record<string, unknown> }> };
      };
      const record = openapi.components.schemas[openapi['x-mlctl'].recordSchema]!;
      expect(Object.keys(record.properties).sort()).toEqual(Object.keys(records[0]!).filter((k) => k !== 'id').sort());
    } finally {
      await daemon.stop('SIGKILL');
    }
  });
});

describe('what inference chose, and said', () => {
  it('flowers: three classes, the id left out, per-class figures and a 3×3 confusion matrix', () => {
    const t = trained.get('flowers')!;
    expect(t.fromFile.evaluation.problemType).toBe('multiclass-classification');
    expect(t.fromFile.evaluation.classes?.labels).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(t.fromFile.evaluation.classes?.confusion).toHaveLength(3);
    expect(t.stderr).toContain('"id" left out: id-like');
  });

  it('sales: a date column, NA read as missing, rows without units dropped by file line', () => {
    const t = trained.get('sales')!;
    expect(t.fromFile.evaluation.problemType).toBe('regression');
    expect(t.fromFile.dropped).toEqual([{ file: 'sales.csv', count: 10, lines: [9, 49, 89, 129, 169] }]);
    expect(t.stderr).toMatch(/sales\.csv: 10 rows without a usable units left out \(lines 9, 49, 89, 129, 169, …\)/);
    const manifest = JSON.parse(readFileSync(join(ws.env.MLCTL_RUNS_DIR!, 'sales', t.fromFile.run.id, 'artifacts', 'model', 'manifest.json'), 'utf8'));
    expect(manifest.featureNames).toContain('day.days_since_epoch');
  });

  it('churn: odd column names work in runs list filters, and the dropped rows are tagged', async () => {
    const t = trained.get('churn')!;
    expect(t.fromFile.dropped[0]?.count).toBe(12);
    const list = await cli(['runs', 'list', '--filter', `params.target = 'Churned?' and tags."mlctl.dropped_target_rows" = '12'`, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { total: number }).total).toBe(2);
  });

  it('report: a multiclass report shows the per-class table and the confusion matrix', async () => {
    const out = join(ws.dir, 'flowers.html');
    const r = await cli(['report', trained.get('flowers')!.fromFile.run.id, '--out', out, '--no-importance']);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('Per class');
    expect(html).toContain('actual versicolor');
  });
});

describe('refusals: exit 2, a message naming the problem, and no FINISHED run', () => {
  const write = (name: string, text: string) => {
    writeFileSync(join(ws.dir, 'tasks', name), text);
    return join('tasks', name);
  };

  it.each([
    ['an unknown key', '{"data": "../csv/sales.csv", "target": "units", "modle": {}}', /\/modle: unknown key "modle" \(did you mean "model"\?\)/],
    ['a gate with no metric and no number', '{"data": "../csv/sales.csv", "target": "units", "gates": [{"metric": 5, "min": "high"}]}', /line 1, \/gates\/0\/min: expected a number, got "high"/],
    ['a missing target column', '{"data": "../csv/sales.csv", "target": "unit"}', /has no column "unit" \(did you mean "units"\?\)/],
    ['missing targets when told to be strict', '{"data": "../csv/sales.csv", "target": "units", "onMissingTarget": "error"}', /sales\.csv line 9: units is missing/],
    ['a binary target with a third value', '{"data": "../csv/flowers.csv", "target": {"column": "species", "positiveLabel": "setosa", "negativeLabel": "virginica"}}', /flowers\.csv line 3: species is "versicolor"/],
    ['a gate on a metric the problem type lacks', '{"data": "../csv/sales.csv", "target": "units", "gates": [{"metric": "auc", "min": 0.9}]}', /auc is not a metric of regression/],
  ])('%s', async (_what, text, message) => {
    const r = await cli(['train', '--config', write(`bad-${Math.random().toString(36).slice(2)}.json`, text)]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('an unparseable date at prediction time names the record and field', async () => {
    const r = await cli(['predict', '--model', trained.get('sales')!.fromFile.run.id], JSON.stringify({ day: '2021-02-30', 'store size m²': 80, promo: 'yes' }));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('record 1, field "day": "2021-02-30" is not a date');
  });

  it('--target with a built-in task, and --data without --target', async () => {
    expect((await cli(['train', 'income', '--target', 'age'])).stderr).toMatch(/--target applies to your own data/);
    const r = await cli(['train', '--data', 'csv/sales.csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('add --target <column>');
  });

  it('left no refused run FINISHED', async () => {
    const list = JSON.parse((await cli(['runs', 'list', '--filter', "status = 'FINISHED'", '--limit', '100', '--json'])).stdout) as { runs: { id: string }[] };
    const finished = new Set(list.runs.map((r) => r.id));
    const expected = [...trained.values()].flatMap((t) => [t.fromFile.run.id, t.fromFlags.run.id]);
    expect([...finished].sort()).toEqual(expected.sort());
  });
});
