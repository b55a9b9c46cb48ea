import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, runCli, SEED_RECORD, type CliResult } from '../helpers/cli.js';

interface TrainJson {
  run: { id: string; location: string };
  bundleDir: string;
  backend: string;
  model: { iterations: { run: number; best: number; unit: string } };
  rows: { train: number; validation: number; test: number };
  evaluation: { metrics: Record<string, number>; confusion: { tp: number; fp: number; tn: number; fn: number } };
}

const ws = createWorkspace();
let trained: TrainJson;
let trainResult: CliResult;
const cli = (args: string[], input?: string) => runCli(args, { cwd: ws.dir, env: ws.env, ...(input === undefined ? {} : { input }) });

beforeAll(async () => {
  trainResult = await cli(['train', 'income', '--epochs', '2', '--patience', '0', '--seed', '3', '--no-gates', '--json']);
  expect(trainResult.stderr).not.toMatch(/unexpected failure/);
  expect(trainResult.code).toBe(0);
  trained = JSON.parse(trainResult.stdout) as TrainJson;
}, 180_000);

afterAll(() => ws.cleanup());

describe('mlctl train income (built binary, shared data mirror)', () => {
  it('prints exactly one JSON document and records a finished run with a bundle', () => {
    expect(trainResult.stdout.trim().startsWith('{')).toBe(true);
    expect(trained.rows).toEqual({ train: 29_305, validation: 3_256, test: 16_281 });
    expect(trained.model.iterations).toMatchObject({ unit: 'epoch', run: 2 });
    // Two epochs of the default MLP already separate the classes well; a broken pipeline would not.
    expect(trained.evaluation.metrics.accuracy).toBeGreaterThan(0.8);
    expect(trained.evaluation.metrics.auc).toBeGreaterThan(0.85);
    const c = trained.evaluation.confusion;
    expect(c.tp + c.fp + c.tn + c.fn).toBe(16_281);

    const run = JSON.parse(readFileSync(join(trained.run.location, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(run.status).toBe('FINISHED');
    expect(run.backend).toBe(trained.backend);
    expect(String(run.datasetSha256)).toContain('5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d');
    expect(String(run.commandLine)).toContain('train income');

    const manifest = JSON.parse(readFileSync(join(trained.bundleDir, 'manifest.json'), 'utf8')) as {
      files: Record<string, string>;
      inputSchema: { properties: Record<string, unknown> };
      backend: string;
      runId: string;
    };
    expect(Object.keys(manifest.files).sort()).toEqual(['model/model.json', 'model/weights.bin', 'preprocessing.json', 'profile.json']);
    expect(Object.keys(manifest.inputSchema.properties)).toContain('native_country');
    expect(manifest.runId).toBe(trained.run.id);
  });

  it('logs a metric history per epoch', () => {
    const lines = readFileSync(join(trained.run.location, 'metrics', 'val_loss.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { step: number }).step)).toEqual([1, 2]);
  });

  it('predicts one record from stdin as a JSON line, keeping its id', async () => {
    const r = await cli(['predict', '--model', trained.run.id, '--json'], JSON.stringify({ id: 'seed', ...SEED_RECORD }));
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const p = JSON.parse(lines[0] as string) as { id: string; label: string; probability: number };
    expect(p.id).toBe('seed');
    expect(['<=50K', '>50K']).toContain(p.label);
    expect(p.probability).toBeGreaterThanOrEqual(0);
    expect(p.probability).toBeLessThanOrEqual(1);
    expect(p.label).toBe(p.probability >= 0.5 ? '>50K' : '<=50K');
  });

  it('predicts an array, JSON lines and a CSV file alike', async () => {
    const rich = { ...SEED_RECORD, age: 52, education: 'Doctorate', education_num: 16, marital_status: 'Married-civ-spouse', relationship: 'Husband', occupation: 'Prof-specialty', capital_gain: 15024, hours_per_week: 60 };
    const array = await cli(['predict', '--model', `runs:/${trained.run.id}`, '--json'], JSON.stringify([SEED_RECORD, rich]));
    expect(array.code).toBe(0);
    const fromArray = array.stdout.trim().split('\n').map((l) => JSON.parse(l) as { probability: number });
    expect(fromArray).toHaveLength(2);
    // A married doctor with a large capital gain earns more than the seed's clerk, for any sane model.
    expect(fromArray[1]?.probability).toBeGreaterThan(fromArray[0]?.probability ?? 1);

    writeFileSync(join(ws.dir, 'people.jsonl'), `${JSON.stringify(SEED_RECORD)}\n${JSON.stringify(rich)}\n`);
    const jsonl = await cli(['predict', '--model', trained.run.id, '--input', 'people.jsonl', '--json']);
    expect(jsonl.stdout).toBe(array.stdout);

    const header = Object.keys(SEED_RECORD).join(',');
    const row = (r: Record<string, unknown>) => Object.values(r).join(',');
    writeFileSync(join(ws.dir, 'people.csv'), `${header}\n${row(SEED_RECORD)}\n${row(rich)}\n`);
    const csv = await cli(['predict', '--model', trained.bundleDir, '--input', 'people.csv', '--json']);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe(array.stdout);
  });

  it('warns on stderr about an unseen category and still predicts', async () => {
    const r = await cli(['predict', '--model', trained.run.id, '--json'], JSON.stringify({ ...SEED_RECORD, native_country: 'Atlantis' }));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/native_country "Atlantis" was not seen in training/);
    expect(JSON.parse(r.stdout) as object).toHaveProperty('probability');
  });

  it('refuses bad input with exit 2 naming the record and field', async () => {
    const { education: _dropped, ...missing } = SEED_RECORD;
    void _dropped;
    const absent = await cli(['predict', '--model', trained.run.id, '--json'], JSON.stringify([SEED_RECORD, missing]));
    expect(absent.code).toBe(2);
    expect(absent.stderr).toMatch(/record 2/);
    expect(absent.stderr).toMatch(/education/);
    expect(absent.stdout).not.toMatch(/probability/);

    const typed = await cli(['predict', '--model', trained.run.id], JSON.stringify({ ...SEED_RECORD, age: 'old' }));
    expect(typed.code).toBe(2);
    expect(typed.stderr).toMatch(/age/);

    const malformed = await cli(['predict', '--model', trained.run.id], `${JSON.stringify(SEED_RECORD)}\n{"age": 40,,}\n`);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/line 2/);
  });

  it('evaluates the bundle on the test set with the same figures as training', async () => {
    const r = await cli(['evaluate', trained.run.id, '--json']);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout) as { rows: number; metrics: Record<string, number> };
    expect(e.rows).toBe(16_281);
    for (const key of ['accuracy', 'auc', 'f1']) expect(e.metrics[key]).toBeCloseTo(trained.evaluation.metrics[key] as number, 6);
  });

  it('evaluates on any labelled CSV', async () => {
    const header = [...Object.keys(SEED_RECORD), 'income'].join(',');
    const rows = [
      [...Object.values(SEED_RECORD), '<=50K'].join(','),
      [...Object.values({ ...SEED_RECORD, age: 50 }), '>50K'].join(','),
    ];
    writeFileSync(join(ws.dir, 'labelled.csv'), `${header}\n${rows.join('\n')}\n`);
    const r = await cli(['evaluate', trained.run.id, '--data', 'labelled.csv', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { rows: number }).rows).toBe(2);
  });

  it('predicts for a user stored in the database (mlctl predict --user)', async () => {
    const before = await cli(['predict', '--model', trained.run.id, '--user', '1']);
    expect(before.code).toBe(3);
    expect(before.stderr).toMatch(/db migrate/);

    expect((await cli(['db', 'migrate'])).code).toBe(0);
    expect((await cli(['db', 'populate', '--limit', '5'])).code).toBe(0);
    const users = JSON.parse((await cli(['db', 'users', 'list', '--json'])).stdout) as { users: { id: number }[] };
    const id = users.users[0]?.id as number;
    const r = await cli(['predict', '--model', trained.run.id, '--user', String(id), '--json']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as { id: number; label: string; probability: number };
    expect(p.id).toBe(id);
    expect(['<=50K', '>50K']).toContain(p.label);

    const missing = await cli(['predict', '--model', trained.run.id, '--user', '999999']);
    expect(missing.code).toBe(3);
  });

  it('refuses a tampered bundle with exit 4 naming the file', async () => {
    const copy = join(ws.dir, 'tampered');
    cpSync(trained.bundleDir, copy, { recursive: true });
    const weights = join(copy, 'model', 'weights.bin');
    const bytes = readFileSync(weights);
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    writeFileSync(weights, bytes);
    const r = await cli(['predict', '--model', copy, '--json'], JSON.stringify(SEED_RECORD));
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/model\/weights\.bin/);
    expect(r.stdout).not.toMatch(/probability/);
  });

  it('reproduces a run with the same seed on the same backend', async () => {
    const again = await cli(['train', 'income', '--epochs', '2', '--patience', '0', '--seed', '3', '--no-gates', '--json']);
    expect(again.code).toBe(0);
    const second = JSON.parse(again.stdout) as TrainJson;
    expect(second.run.id).not.toBe(trained.run.id);
    expect(second.evaluation.metrics).toEqual(trained.evaluation.metrics);
  }, 180_000);

  it('fails with exit 4 when the quality gates are missed, keeping the run', async () => {
    const r = await cli(['train', 'income', '--epochs', '1', '--hidden-layers', '2', '--learning-rate', '0.00001', '--patience', '0', '--json']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/quality gate/);
    expect(r.stderr).toMatch(/auc/);
    // Still exactly one JSON document: the error, with the recorded run as details.
    const doc = JSON.parse(r.stdout) as { error: { code: string; details: { result: { run: { id: string; location: string } } } } };
    expect(doc.error.code).toBe('QUALITY_GATE_FAILED');
    const run = JSON.parse(readFileSync(join(doc.error.details.result.run.location, 'run.json'), 'utf8')) as { status: string };
    expect(run.status).toBe('FINISHED');
  }, 180_000);
});
