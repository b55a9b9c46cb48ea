import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileRunStore } from '../../src/core/tracking/file-run-store.js';
import { SEED_RECORD, createWorkspace, runCli } from '../helpers/cli.js';
import { createFakeRun } from '../helpers/run-fixtures.js';

// Run names are accepted wherever run ids are: one resolver (FileRunStore.locateRun) serves the
// runs commands, the registry and model references alike.
const ws = createWorkspace('mlctl-run-names-');
const cli = (...args: string[]) => runCli(args, { cwd: ws.dir, env: ws.env });
const ids: Record<string, string> = {};

beforeAll(async () => {
  const store = createFileRunStore({ root: ws.env.MLCTL_RUNS_DIR! });
  ids.keen = (await createFakeRun(store, { name: 'keen-shrew-40', params: { learningRate: 0.004 }, metrics: { auc: [0.9] }, bundle: true })).id;
  ids.calm = (await createFakeRun(store, { name: 'calm-otter-7', params: { learningRate: 0.001 }, metrics: { auc: [0.8] } })).id;
  ids.twinA = (await createFakeRun(store, { name: 'bold-lynx-3', metrics: { auc: [0.7] } })).id;
  ids.twinB = (await createFakeRun(store, { name: 'bold-lynx-3', experiment: 'housing', metrics: { rmse: [4] } })).id;
}, 60_000);
afterAll(() => ws.cleanup());

describe('run names (built binary)', () => {
  it('shows, tags, notes, diffs, deletes and restores a run by its name', async () => {
    const shown = await cli('runs', 'show', 'keen-shrew-40', '--json');
    expect(shown.stderr).toBe('');
    expect((JSON.parse(shown.stdout) as { id: string }).id).toBe(ids.keen);
    expect((await cli('runs', 'tag', 'keen-shrew-40', 'stage=candidate')).code).toBe(0);
    expect((await cli('runs', 'note', 'calm-otter-7', 'baseline')).code).toBe(0);
    const diff = JSON.parse((await cli('runs', 'diff', 'calm-otter-7', 'keen-shrew-40', '--json')).stdout) as { a: { id: string }; b: { id: string } };
    expect([diff.a.id, diff.b.id]).toEqual([ids.calm, ids.keen]);
    expect((await cli('runs', 'compare', 'calm-otter-7', 'keen-shrew-40', '--json')).code).toBe(0);
    expect((await cli('runs', 'delete', 'calm-otter-7')).code).toBe(0);
    expect((await cli('runs', 'restore', 'calm-otter-7')).code).toBe(0);
    const record = JSON.parse((await cli('runs', 'show', ids.calm!, '--json')).stdout) as { note: string; deleted: boolean };
    expect(record).toMatchObject({ note: 'baseline', deleted: false });
  });

  it('takes a run name as a model reference and in the registry', async () => {
    const resolved = JSON.parse((await cli('models', 'resolve', 'keen-shrew-40', '--json')).stdout) as { source: { runId: string } };
    expect(resolved.source.runId).toBe(ids.keen);
    expect((await cli('models', 'resolve', 'runs:/keen-shrew-40', '--json')).code).toBe(0);
    const registered = await cli('models', 'register', 'keen-shrew-40', '--name', 'income', '--json');
    expect(registered.stderr).toBe('');
    expect((JSON.parse(registered.stdout) as { runId: string }).runId).toBe(ids.keen);
  });

  it('exits 2 naming both runs when a name is ambiguous, and 3 when no run has it', async () => {
    for (const args of [['runs', 'show', 'bold-lynx-3'], ['predict', '--model', 'bold-lynx-3']]) {
      const r = await runCli(args, { cwd: ws.dir, env: ws.env, input: JSON.stringify(SEED_RECORD) });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(ids.twinA);
      expect(r.stderr).toContain(ids.twinB);
    }
    const missing = await cli('runs', 'show', 'keen-shrew-41');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('no run with id or name "keen-shrew-41"');
    expect(missing.stderr).not.toMatch(/characters other than/);
  });
});
