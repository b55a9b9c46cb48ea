import { appendFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MlctlError } from '../../../src/core/errors.js';
import { createFileRunStore } from '../../../src/core/tracking/file-run-store.js';
import { parseMetricLog } from '../../../src/core/tracking/metric-log.js';
import { createRunId, isRunId } from '../../../src/core/tracking/run-id.js';
import { createFakeRun, createTempStore } from '../../helpers/run-fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function tempStore(...args: Parameters<typeof createTempStore>) {
  const t = createTempStore(...args);
  cleanups.push(t.cleanup);
  return t;
}

async function errorOf(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MlctlError);
    return error as MlctlError;
  }
  throw new Error('expected a rejection');
}

describe('run ids', () => {
  it('are 20 lowercase hex characters that sort by creation time', () => {
    const a = createRunId(1_700_000_000_000);
    const b = createRunId(1_700_000_000_001);
    expect(isRunId(a)).toBe(true);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => createRunId(1)))).toHaveProperty('size', 1000);
  });
});

describe('createFileRunStore', () => {
  it('writes a readable run folder: run.json, params.json, tags.json, metric histories', async () => {
    let now = Date.parse('2025-06-01T10:00:00Z');
    const { root, store } = tempStore({ clock: () => now, user: 'ana', host: 'box', pid: 4242 });
    const run = await store.createRun({ experiment: 'income', commandLine: 'mlctl train income', task: 'income', tags: { team: 'ml' }, gitCommit: 'abc' });
    expect(run.dir).toBe(join(root, 'income', run.id));
    expect(run.artifactsDir).toBe(join(run.dir, 'artifacts'));
    await run.logParams({ lr: 0.001, optimizer: 'adam' });
    for (let epoch = 0; epoch < 3; epoch += 1) {
      now += 1000;
      await run.logMetrics({ loss: 1 / (epoch + 1), accuracy: 0.7 + epoch / 10 }, epoch);
    }
    await run.updateInfo({ backend: 'cpu', datasetSha256: 'f00' });
    now += 1000;
    await run.end('FINISHED');

    const info = JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8'));
    expect(info).toMatchObject({ id: run.id, experiment: 'income', status: 'FINISHED', user: 'ana', host: 'box', pid: 4242, gitCommit: 'abc', backend: 'cpu', startTime: '2025-06-01T10:00:00.000Z', endTime: '2025-06-01T10:00:04.000Z' });
    expect(info.name).toMatch(/^[a-z]+-[a-z]+-\d+$/);
    expect(JSON.parse(readFileSync(join(run.dir, 'params.json'), 'utf8'))).toEqual({ lr: 0.001, optimizer: 'adam' });
    expect(JSON.parse(readFileSync(join(run.dir, 'tags.json'), 'utf8'))).toEqual({ team: 'ml' });
    expect(readFileSync(join(run.dir, 'metrics', 'loss.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { step: 0, value: 1, timestamp: Date.parse('2025-06-01T10:00:01Z') },
      { step: 1, value: 0.5, timestamp: Date.parse('2025-06-01T10:00:02Z') },
      { step: 2, value: 1 / 3, timestamp: Date.parse('2025-06-01T10:00:03Z') },
    ]);

    const record = await store.getRun(run.id);
    expect(record.params).toEqual({ lr: 0.001, optimizer: 'adam' });
    expect(record.metrics).toEqual({ accuracy: 0.7 + 2 / 10, loss: 1 / 3 });
    expect(record.tags).toEqual({ team: 'ml' });
    expect(record.deleted).toBe(false);
    expect((await store.getMetricHistory(run.id, 'accuracy')).map((p) => p.step)).toEqual([0, 1, 2]);
  });

  it('refuses to change a logged param but accepts the same value again', async () => {
    const { store } = tempStore();
    const run = await store.createRun({ experiment: 'income', commandLine: 'x' });
    await run.logParams({ lr: 0.01 });
    await run.logParams({ lr: 0.01, epochs: 5 });
    const error = await errorOf(run.logParams({ lr: 0.1 }));
    expect(error.code).toBe('PARAM_IMMUTABLE');
    expect((await store.getRun(run.id)).params).toEqual({ epochs: 5, lr: 0.01 });
  });

  it('keeps NaN and infinite metric values and skips a torn last line', async () => {
    const { store } = tempStore();
    const run = await createFakeRun(store, { metrics: { loss: [0.5, Number.NaN, Number.POSITIVE_INFINITY] } });
    const file = join(run.dir, 'metrics', 'loss.jsonl');
    appendFileSync(file, '{"step":3,"value":0.1,"times');
    const history = await store.getMetricHistory(run.id, 'loss');
    expect(history.map((p) => p.value)).toEqual([0.5, Number.NaN, Number.POSITIVE_INFINITY]);
    expect((await store.getRun(run.id)).metrics.loss).toBe(Number.POSITIVE_INFINITY);
    expect(parseMetricLog(readFileSync(file, 'utf8'))).toMatchObject({ tornTail: true, badLines: [4] });
  });

  it('finds runs by unique prefix, and says why an id is refused', async () => {
    const { store } = tempStore();
    const run = await createFakeRun(store);
    expect((await store.getRun(run.id.slice(0, 14))).info.id).toBe(run.id);
    for (const missing of ['0123456789abcdef0123', 'abc', 'no-such-run-1']) {
      const error = await errorOf(store.getRun(missing));
      expect([missing, error.code, error.message]).toEqual([missing, 'RUN_NOT_FOUND', `no run with id or name "${missing}" in ${store.root}`]);
    }
    for (const bad of ['../x', '/etc/passwd', 'income/abc', run.id.toUpperCase(), '']) {
      const error = await errorOf(store.getRun(bad));
      expect([bad, error.code, error.category]).toEqual([bad, 'INVALID_RUN_ID', 'usage']);
      expect(error.message).not.toMatch(/characters other than/);
    }
    expect((await errorOf(store.getRun('../x'))).message).toBe('"../x" is neither a run id nor a run name: it contains a path separator');
  });

  it('finds runs by name, deleted ones too, and names every match of an ambiguous name', async () => {
    const { store } = tempStore();
    const keen = await store.createRun({ experiment: 'income', commandLine: 'x', name: 'keen-shrew-40' });
    await keen.end('FINISHED');
    expect((await store.getRun('keen-shrew-40')).info.id).toBe(keen.id);
    expect((await store.locateRun('keen-shrew-40')).id).toBe(keen.id);
    await store.deleteRun('keen-shrew-40');
    expect((await store.restoreRun('keen-shrew-40')).id).toBe(keen.id);
    // A name that looks like an id prefix but matches no id is still found as a name.
    const hexName = await store.createRun({ experiment: 'housing', commandLine: 'x', name: 'abcdef12' });
    expect((await store.locateRun('abcdef12')).id).toBe(hexName.id);
    await hexName.end('FINISHED');
    const twin = await store.createRun({ experiment: 'housing', commandLine: 'x', name: 'keen-shrew-40' });
    await twin.end('FINISHED');
    const error = await errorOf(store.getRun('keen-shrew-40'));
    expect([error.code, error.category]).toEqual(['AMBIGUOUS_RUN_NAME', 'usage']);
    expect(error.message).toContain(keen.id);
    expect(error.message).toContain(twin.id);
    expect(error.problems).toHaveLength(2);
    expect((await errorOf(store.createRun({ experiment: 'income', commandLine: 'x', name: 'a/b' }))).code).toBe('INVALID_RUN_NAME');
  });

  it('refuses experiment names and keys that could leave the store', async () => {
    const { store } = tempStore();
    for (const experiment of ['../x', '/abs', 'a/b', '.hidden', 'models', '']) {
      expect((await errorOf(store.createRun({ experiment, commandLine: 'x' }))).code).toBe('INVALID_EXPERIMENT_NAME');
    }
    const run = await store.createRun({ experiment: 'ok', commandLine: 'x' });
    expect((await errorOf(run.logMetrics({ '../evil': 1 }, 0))).code).toBe('INVALID_METRIC_KEY');
    expect((await errorOf(run.logParams({ 'a/b': 1 }))).code).toBe('INVALID_PARAM_KEY');
    expect((await errorOf(store.setTags(run.id, { '..': 'x' }))).code).toBe('INVALID_TAG_KEY');
  });

  it('reports a RUNNING run whose process died on this host as FAILED', async () => {
    const probe = { host: 'box', isAlive: (pid: number) => pid === 1 };
    const { store } = tempStore({ host: 'box', pid: 999_999, probe });
    const dead = await createFakeRun(store, { status: 'RUNNING' });
    const record = await store.getRun(dead.id);
    expect(record.info.status).toBe('FAILED');
    expect(record.statusDetail).toMatch(/process 999999 on box/);
    // Another host's run cannot be checked from here: shown as recorded.
    const elsewhere = createFileRunStore({ root: store.root, host: 'other', pid: 999_999, probe });
    const remote = await createFakeRun(elsewhere, { status: 'RUNNING' });
    expect((await store.getRun(remote.id)).info.status).toBe('RUNNING');
    const alive = createFileRunStore({ root: store.root, host: 'box', pid: 1, probe });
    expect((await store.getRun((await createFakeRun(alive, { status: 'RUNNING' })).id)).info.status).toBe('RUNNING');
  });

  it('records KILLED when the trainer ends a run on Ctrl-C, and ignores a second end', async () => {
    const { store } = tempStore();
    const run = await createFakeRun(store, { status: 'RUNNING', metrics: { loss: [1, 0.5] } });
    await run.end('KILLED');
    await run.end('FINISHED');
    expect((await store.getRun(run.id)).info.status).toBe('KILLED');
    expect((await errorOf(run.logMetrics({ loss: 0.1 }, 2))).code).toBe('RUN_ENDED');
  });

  it('sets and removes tags after the run, and soft-deletes and restores', async () => {
    const { store } = tempStore();
    const run = await createFakeRun(store, { tags: { a: '1' } });
    expect(await store.setTags(run.id, { b: '2' })).toEqual({ a: '1', b: '2' });
    expect(await store.setTags(run.id, {}, ['a'])).toEqual({ b: '2' });
    await store.deleteRun(run.id);
    expect((await store.getRun(run.id)).deleted).toBe(true);
    await store.restoreRun(run.id);
    expect((await store.getRun(run.id)).deleted).toBe(false);
  });

  it('flushes metrics logged in a burst by the time end() resolves', async () => {
    const { store } = tempStore();
    const run = await store.createRun({ experiment: 'burst', commandLine: 'x' });
    for (let step = 0; step < 2000; step += 1) await run.logMetrics({ a: step, b: -step }, step);
    await run.end('FINISHED');
    const history = await store.getMetricHistory(run.id, 'a');
    expect(history).toHaveLength(2000);
    expect(history.map((p) => p.step)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(readdirSync(join(run.dir, 'metrics')).sort()).toEqual(['a.jsonl', 'b.jsonl']);
  });

  it('sets a note on an ended run, keeping its final metrics, and refuses while it runs', async () => {
    const { store } = tempStore();
    const run = await createFakeRun(store, { metrics: { auc: [0.5, 0.9] } });
    await store.setNote(run.id, 'baseline');
    const record = await store.getRun(run.id);
    expect(record.info.note).toBe('baseline');
    expect(JSON.parse(readFileSync(join(run.dir, 'run.json'), 'utf8')).finalMetrics).toEqual({ auc: 0.9 });
    const running = await createFakeRun(store, { status: 'RUNNING' });
    expect((await errorOf(store.setNote(running.id, 'x'))).code).toBe('RUN_STILL_RUNNING');
    await running.end('FINISHED');
  });

  it('leaves no temporary files behind', async () => {
    const { store } = tempStore();
    const run = await createFakeRun(store, { params: { x: 1 }, metrics: { m: [1] }, tags: { t: 'v' } });
    await store.setTags(run.id, { u: 'w' });
    expect(readdirSync(run.dir).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
    expect(existsSync(join(run.dir, 'deleted.json'))).toBe(false);
  });
});
