import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileRunStore } from '../../src/core/tracking/file-run-store.js';
import { createWorkspace, runCli } from '../helpers/cli.js';
import { createFakeRun } from '../helpers/run-fixtures.js';

const ws = createWorkspace('mlctl-models-');
const cli = (...args: string[]) => runCli(args, { cwd: ws.dir, env: ws.env });
async function json<T>(pending: ReturnType<typeof cli>): Promise<T> {
  const r = await pending;
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`exit ${r.code}, stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}
let first = '';
let second = '';

beforeAll(async () => {
  const store = createFileRunStore({ root: ws.env.MLCTL_RUNS_DIR! });
  first = (await createFakeRun(store, { bundle: true, metrics: { auc: [0.9] } })).id;
  second = (await createFakeRun(store, { bundle: true, metrics: { auc: [0.92] } })).id;
}, 60_000);
afterAll(() => ws.cleanup());

describe('mlctl models (built binary)', () => {
  it('registers versions, sets aliases, resolves references and records every change', async () => {
    expect(await json(cli('models', 'register', first, '--name', 'income', '--description', 'baseline', '--json'))).toMatchObject({ name: 'income', version: 1, runId: first });
    expect(await json(cli('models', 'register', second, '--name', 'income', '--json'))).toMatchObject({ version: 2, runId: second });
    expect((await cli('models', 'alias', 'set', 'income', 'production', '1')).code).toBe(0);
    expect(await json(cli('models', 'alias', 'set', 'income', 'production', '2', '--json'))).toEqual({ name: 'income', alias: 'production', version: 2, previous: 1 });

    for (const ref of ['income@production', 'models:/income@production', 'income/2', 'models:/income/2', second, `runs:/${second}`]) {
      const resolved = await json<{ bundleDir: string }>(cli('models', 'resolve', ref, '--json'));
      expect([ref, resolved.bundleDir]).toEqual([ref, `${ws.env.MLCTL_RUNS_DIR}/income/${second}/artifacts/model`]);
    }

    const refused = await cli('models', 'delete-version', 'income', '2');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/aliased as production/);
    expect((await cli('models', 'alias', 'delete', 'income', 'production')).code).toBe(0);
    expect((await cli('models', 'delete-version', 'income', '2')).code).toBe(0);
    expect((await cli('models', 'resolve', 'income/2')).code).toBe(3);

    const list = await json<{ models: { name: string; versions: unknown[] }[] }>(cli('models', 'list', '--json'));
    expect(list.models.map((m) => [m.name, m.versions.length])).toEqual([['income', 1]]);
    const shown = await json<{ description: string; audit: { action: string; user: string; old: unknown; new: unknown }[] }>(cli('models', 'show', 'income', '--json'));
    expect(shown.description).toBe('baseline');
    expect(shown.audit.map((e) => `${e.action} ${String(e.old)} → ${String(e.new)}`)).toEqual([
      `register null → runs:/${first}`,
      `register null → runs:/${second}`,
      'alias-set null → 1',
      'alias-set 1 → 2',
      'alias-delete 2 → null',
      `version-delete runs:/${second} → null`,
    ]);
    const human = await cli('models', 'show', 'income');
    expect(human.stdout).toMatch(/alias production: 1 → 2/);
  });

  it('refuses names and references that are paths (exit 2) and reports unknown ones (exit 3)', async () => {
    for (const name of ['../x', '/etc/passwd', 'a/b']) {
      const r = await cli('models', 'register', first, '--name', name);
      expect([name, r.code]).toEqual([name, 2]);
    }
    expect((await cli('models', 'register', '../x', '--name', 'income')).code).toBe(2);
    expect((await cli('models', 'show', 'nope')).code).toBe(3);
    expect((await cli('models', 'alias', 'set', 'income', 'production', 'two')).code).toBe(2);
    expect((await cli('models', 'resolve', '../outside')).code).toBe(2);
    expect((await cli('models', 'resolve', 'nope@production')).code).toBe(3);
  });

  it('keeps runs a registered version uses when garbage-collecting', async () => {
    expect((await cli('runs', 'delete', first)).code).toBe(0);
    const gc = await json<{ purged: unknown[]; kept: { id: string }[] }>(cli('runs', 'gc', '--json'));
    expect(gc.purged).toEqual([]);
    expect(gc.kept.map((k) => k.id)).toEqual([first]);
    expect((await cli('models', 'resolve', 'income/1')).code).toBe(0);
  });
});
