import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileRunStore } from '../../src/core/tracking/file-run-store.js';
import { createWorkspace, runCli } from '../helpers/cli.js';
import { createFakeRun } from '../helpers/run-fixtures.js';

const ws = createWorkspace('mlctl-runs-');
const cli = (...args: string[]) => runCli(args, { cwd: ws.dir, env: ws.env });
const ids: Record<string, string> = {};
/** Parses stdout, or fails showing what the command printed. */
async function json<T>(pending: ReturnType<typeof cli>): Promise<T> {
  const r = await pending;
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`exit ${r.code}, stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

beforeAll(async () => {
  const store = createFileRunStore({ root: ws.env.MLCTL_RUNS_DIR! });
  ids.adam = (await createFakeRun(store, { params: { lr: 0.001, optimizer: 'adam' }, metrics: { accuracy: [0.7, 0.8, 0.86], auc: [0.85, 0.9, 0.93] }, bundle: true })).id;
  ids.sgd = (await createFakeRun(store, { params: { lr: 0.01, optimizer: 'sgd' }, metrics: { accuracy: [0.6, 0.82], auc: [0.8, 0.88] } })).id;
  ids.slow = (await createFakeRun(store, { params: { lr: 0.001, optimizer: 'sgd' }, metrics: { accuracy: [0.5, 0.9], auc: [0.7, 0.95] }, tags: { note: 'a, "quoted" tag' } })).id;
  ids.housing = (await createFakeRun(store, { experiment: 'housing', params: { lr: 0.001 }, metrics: { rmse: [5, 4] } })).id;
  // A run whose process is gone: the pid of a process that has already exited.
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  ids.dead = (await createFakeRun(createFileRunStore({ root: store.root, pid: Number(gone.stdout) }), { status: 'RUNNING', metrics: { accuracy: [0.1] } })).id;
}, 60_000);
afterAll(() => ws.cleanup());

interface ListJson {
  total: number;
  count: number;
  runs: { id: string; status: string; statusDetail?: string; metrics: Record<string, number>; params: Record<string, unknown> }[];
}

describe('mlctl runs (built binary)', () => {
  it('lists with a filter, an order and a limit as one JSON document', async () => {
    const r = await cli('runs', 'list', '--filter', 'metrics.accuracy > 0.8 and params.lr = 0.001', '--order-by', 'metrics.auc desc', '--limit', '20', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as ListJson;
    expect(list.runs.map((x) => x.id)).toEqual([ids.slow, ids.adam]);
    expect(list.runs[1]!.params).toEqual({ lr: 0.001, optimizer: 'adam' });
    const or = await json<ListJson>(cli('runs', 'list', '--filter', "(params.optimizer = 'adam' or experiment = 'housing') and status = 'FINISHED'", '--json'));
    expect(or.runs.map((x) => x.id).sort()).toEqual([ids.adam, ids.housing].sort());
  });

  it('shows a dead RUNNING run as FAILED', async () => {
    const list = await json<ListJson>(cli('runs', 'list', '--filter', "status = 'FAILED'", '--json'));
    expect(list.runs.map((x) => x.id)).toEqual([ids.dead]);
    expect(list.runs[0]!.statusDetail).toMatch(/no longer running/);
    expect((await cli('runs', 'list', '--filter', "status = 'RUNNING'", '--json')).stdout).toContain('"total": 0');
  });

  it('exits 2 on a bad filter and points at the position with a caret', async () => {
    const r = await cli('runs', 'list', '--filter', 'metrics.accuracy > 0.8 and params.lr === 1');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines[0]).toMatch(/invalid filter at position 40/);
    const source = lines.find((l) => l.includes('metrics.accuracy'))!;
    const caret = lines.find((l) => l.trim().endsWith('^') && l.includes('^'))!;
    expect(caret.indexOf('^') - source.indexOf('metrics')).toBe(39);
    const json = await cli('runs', 'list', '--filter', 'nonsense', '--json');
    expect(json.code).toBe(2);
    expect((JSON.parse(json.stdout) as { error: { code: string } }).error.code).toBe('INVALID_RUN_FILTER');
  });

  it('exits 2 for a filter key no run has, naming the near ones, instead of "No runs match."', async () => {
    const r = await cli('runs', 'list', '--filter', 'metrics.acuracy > 0.8');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('has metrics.acuracy');
    expect(r.stderr).toContain('did you mean metrics.accuracy?');
    const json = JSON.parse((await cli('runs', 'list', '--filter', 'params.learning_rate = 0.001', '--json')).stdout) as { error: { code: string } };
    expect(json.error.code).toBe('UNKNOWN_RUN_KEY');
  });

  it('shows params, metric histories, a chart and artifacts with sizes', async () => {
    const r = await cli('runs', 'show', ids.adam!.slice(0, 16), '--json');
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.stdout) as { id: string; history: Record<string, { step: number; value: number }[]>; artifacts: { path: string; size: number }[] };
    expect(shown.id).toBe(ids.adam);
    expect(shown.history.auc!.map((p) => p.value)).toEqual([0.85, 0.9, 0.93]);
    expect(shown.artifacts.map((a) => a.path)).toEqual(['model/manifest.json', 'model/weights.bin']);
    expect(shown.artifacts[1]!.size).toBe('weights-v1'.length);
    const human = await cli('runs', 'show', ids.adam!);
    expect(human.stdout).toMatch(/auc .*0\.9300.*[▁▂▃▄▅▆▇█]{3}/u);
    expect(human.stdout).toContain('weights.bin');
  });

  it('exits 3 for an unknown run and 2 for an id that is a path', async () => {
    expect((await cli('runs', 'show', '0123456789abcdef0123')).code).toBe(3);
    for (const bad of ['../x', '/etc', 'income/abc']) {
      const r = await cli('runs', 'show', bad);
      expect([bad, r.code]).toEqual([bad, 2]);
    }
  });

  it('compares runs side by side and marks differences', async () => {
    const r = await cli('runs', 'compare', ids.adam!, ids.slow!, '--json');
    const c = JSON.parse(r.stdout) as { differentParams: string[]; differentMetrics: string[]; params: Record<string, unknown[]> };
    expect(c.differentParams).toEqual(['optimizer']);
    expect(c.differentMetrics).toEqual(['accuracy', 'auc']);
    expect(c.params.lr).toEqual([0.001, 0.001]);
    const human = await cli('runs', 'compare', ids.adam!, ids.slow!);
    expect(human.stdout).toMatch(/\*.*params\.optimizer.*adam.*sgd/);
  });

  it('tags, deletes, restores and purges runs', async () => {
    expect((await cli('runs', 'tag', ids.sgd!, 'stage=candidate', 'owner=ana')).code).toBe(0);
    expect((await cli('runs', 'tag', ids.sgd!, 'no-equals-sign')).code).toBe(2);
    let list = await json<ListJson>(cli('runs', 'list', '--filter', "tags.stage = 'candidate'", '--json'));
    expect(list.runs.map((x) => x.id)).toEqual([ids.sgd]);
    expect((await cli('runs', 'delete', ids.sgd!)).code).toBe(0);
    list = await json<ListJson>(cli('runs', 'list', '--limit', '0', '--json'));
    expect(list.runs.map((x) => x.id)).not.toContain(ids.sgd);
    list = await json<ListJson>(cli('runs', 'list', '--deleted', '--json'));
    expect(list.runs.map((x) => x.id)).toEqual([ids.sgd]);
    expect((await cli('runs', 'restore', ids.sgd!)).code).toBe(0);
    expect((await json<ListJson>(cli('runs', 'list', '--deleted', '--json'))).total).toBe(0);
    await cli('runs', 'delete', ids.sgd!);
    const dry = await json<{ purged: { id: string }[] }>(cli('runs', 'gc', '--dry-run', '--json'));
    expect(dry.purged.map((p) => p.id)).toEqual([ids.sgd]);
    expect((await cli('runs', 'show', ids.sgd!)).code).toBe(0);
    await cli('runs', 'gc');
    expect((await cli('runs', 'show', ids.sgd!)).code).toBe(3);
  });

  it('lists experiments with run counts and sets a note on an ended run', async () => {
    const experiments = await json<{ experiments: { name: string; runs: number }[] }>(cli('runs', 'experiments', '--json'));
    expect(experiments.experiments.map((e) => e.name)).toEqual(['housing', 'income']);
    expect(experiments.experiments.find((e) => e.name === 'housing')?.runs).toBe(1);
    expect((await cli('runs', 'note', ids.housing!, 'baseline for the report')).code).toBe(0);
    expect((await json<{ note: string }>(cli('runs', 'show', ids.housing!, '--json'))).note).toBe('baseline for the report');
  });

  it('exports CSV and JSON', async () => {
    const csv = await cli('runs', 'export', '--format', 'csv', '--experiment', 'income', '--filter', "params.optimizer = 'sgd'");
    expect(csv.code).toBe(0);
    const [header, ...rows] = csv.stdout.trim().split('\n');
    expect(header).toContain('params.optimizer');
    expect(header).toContain('metrics.auc');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(ids.slow);
    expect(rows[0]).toContain('"a, ""quoted"" tag"');
    const json = await cli('runs', 'export', '--format', 'json', '--json');
    const exported = JSON.parse(json.stdout) as { id: string }[];
    expect(exported.map((e) => e.id)).toContain(ids.housing);
    expect((await cli('runs', 'export', '--format', 'csv', '--json')).code).toBe(2);
  });

  it('verifies the store, lists damage and exits 4 until it is repaired', async () => {
    const clean = await cli('runs', 'verify', '--json');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ damage: [], bundles: 1, artifactFiles: 1 });

    const runDir = join(ws.env.MLCTL_RUNS_DIR!, 'income', ids.adam!);
    const weights = join(runDir, 'artifacts', 'model', 'weights.bin');
    const metric = join(runDir, 'metrics', 'auc.jsonl');
    const original = readFileSync(metric, 'utf8');
    writeFileSync(weights, 'tampered');
    writeFileSync(metric, original.replace('\n', '\n{garbage\n'));
    appendFileSync(join(runDir, 'metrics', 'accuracy.jsonl'), '{"step":3,"va');
    const damaged = await cli('runs', 'verify', '--json');
    expect(damaged.code).toBe(4);
    const doc = JSON.parse(damaged.stdout) as { error: { code: string; problems: string[] } };
    expect(doc.error.code).toBe('STORE_DAMAGED');
    expect(doc.error.problems).toHaveLength(2);
    expect(doc.error.problems.join('\n')).toMatch(/weights\.bin: SHA-256 .* does not match/);
    expect(doc.error.problems.join('\n')).toMatch(/auc\.jsonl: unreadable line 2/);
    // Readers skip the damage instead of failing.
    expect((await cli('runs', 'show', ids.adam!)).code).toBe(0);
    const human = await cli('runs', 'verify');
    expect(human.code).toBe(4);
    expect(human.stdout).toMatch(/warning: .*accuracy\.jsonl: last line 4 is torn/);
    writeFileSync(weights, 'weights-v1');
    writeFileSync(metric, original);
    expect((await cli('runs', 'verify')).code).toBe(0);
  });

  it('lists leftovers of interrupted writes (one inside a bundle is damage) and runs gc removes them', async () => {
    const runDir = join(ws.env.MLCTL_RUNS_DIR!, 'income', ids.adam!);
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    // A pull killed mid-file by an older mlctl, and a kill during a bundle save.
    const inBundle = join(runDir, 'artifacts', 'model', `.weights.bin.${gone}.7ae2988c.tmp`);
    writeFileSync(inBundle, 'wei');
    mkdirSync(join(runDir, 'artifacts', '.model.0a1b2c3d.tmp'));
    writeFileSync(join(runDir, 'artifacts', '.model.0a1b2c3d.tmp', 'weights.bin'), 'weights-v2');

    const verify = await cli('runs', 'verify');
    expect(verify.code).toBe(4);
    expect(verify.stderr).toContain(`.weights.bin.${gone}.7ae2988c.tmp: not listed in the bundle's manifest.json: a temporary file of an interrupted atomic write`);
    expect(verify.stderr).toMatch(/hint: `mlctl runs gc` removes leftover temporary files/);
    expect(verify.stdout).toMatch(/warning: .*\.model\.0a1b2c3d\.tmp: leftover temporary folder of an interrupted bundle save; `mlctl runs gc` removes it/);

    const dry = await cli('runs', 'gc', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Would remove income\/[0-9a-f]+\/artifacts\/\.model\.0a1b2c3d\.tmp \(temporary folder of an interrupted bundle save, 10 B\)/);
    expect(existsSync(inBundle)).toBe(true);
    const gc = await json<{ leftovers: { path: string }[] }>(cli('runs', 'gc', '--json'));
    expect(gc.leftovers.map((l) => l.path.split('/').at(-1)).sort()).toEqual([`.weights.bin.${gone}.7ae2988c.tmp`, '.model.0a1b2c3d.tmp'].sort());
    expect(existsSync(inBundle)).toBe(false);
    expect((await cli('runs', 'verify')).code).toBe(0);
  });
});
