import { cpSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/core/errors.js';
import { listFileRuns as listRuns } from '../../../src/core/tracking/file-tracking-store.js';
import { FULL_SWEEP_INTERVAL_MS, likeToGlob, openRunIndex } from '../../../src/core/tracking/run-index.js';
import { parseRunFilter } from '../../../src/core/tracking/run-filter.js';
import { createFakeRun, createTempStore } from '../../helpers/run-fixtures.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function tempStore() {
  const t = createTempStore();
  cleanups.push(t.cleanup);
  return t;
}

async function seed() {
  const t = tempStore();
  const a = await createFakeRun(t.store, { params: { lr: 0.001, optimizer: 'adam' }, metrics: { accuracy: [0.7, 0.85], auc: [0.8, 0.91] }, tags: { team: 'ml' } });
  const b = await createFakeRun(t.store, { params: { lr: 0.01, optimizer: 'Adam' }, metrics: { accuracy: [0.9], auc: [0.95] } });
  const c = await createFakeRun(t.store, { params: { lr: '0.001', optimizer: 'sgd' }, metrics: { accuracy: [0.82], auc: [0.88] }, status: 'FAILED' });
  const d = await createFakeRun(t.store, { experiment: 'housing', params: { lr: 0.001 }, metrics: { rmse: [3.2] } });
  return { ...t, a: a.id, b: b.id, c: c.id, d: d.id };
}

const ids = (result: ReturnType<typeof listRuns>): string[] => result.runs.map((r) => r.info.id);

describe('listRuns over the derived index', () => {
  it('filters by metrics, params (numeric or text), tags and attributes, with AND, OR and parentheses', async () => {
    const { store, a, b, c, d } = await seed();
    const q = (filter: string, orderBy?: string) => ids(listRuns(store, { filter, ...(orderBy === undefined ? {} : { orderBy }) }));
    expect(q('metrics.accuracy > 0.8 and params.lr = 0.001', 'metrics.auc desc')).toEqual([a, c]);
    // A number compares numerically (1e-3 = 0.001), quoted text compares the spelling.
    expect(q('params.lr = 1e-3', 'start_time')).toEqual([a, c, d]);
    expect(q("params.lr = '0.001'", 'start_time')).toEqual([a, c, d]);
    expect(q("params.lr = '1e-3'")).toEqual([]);
    expect(q("params.optimizer LIKE 'a%'")).toEqual([a]);
    expect(q("params.optimizer ILIKE 'a%'", 'metrics.auc')).toEqual([a, b]);
    expect(q("params.optimizer NOT LIKE 'a%'", 'start_time')).toEqual([b, c]);
    expect(q("tags.team = 'ml' or status = 'failed'", 'start_time')).toEqual([a, c]);
    expect(q("(status = 'FINISHED' or status = 'FAILED') and experiment != 'housing'", 'metrics.accuracy desc')).toEqual([b, a, c]);
    expect(q('metrics.rmse < 4')).toEqual([d]);
    expect(q("start_time >= '2000-01-01' and duration >= 0", 'start_time')).toEqual([a, b, c, d]);
    expect(q('metrics.auc >= 0.91', 'metrics.auc asc')).toEqual([a, b]);
  });

  it('orders missing values last and honours --limit with the total', async () => {
    const { store, a, b, c, d } = await seed();
    const result = listRuns(store, { orderBy: 'metrics.auc desc', limit: 2 });
    expect(result.total).toBe(4);
    expect(ids(result)).toEqual([b, a]);
    expect(ids(listRuns(store, { orderBy: 'metrics.auc desc' }))).toEqual([b, a, c, d]);
    expect(ids(listRuns(store, { experiment: 'housing' }))).toEqual([d]);
  });

  it('points at the error in a filter that only the compiler can judge', async () => {
    const { store } = await seed();
    const error = (() => {
      try {
        listRuns(store, { filter: "metrics.auc > 0.5 and start_time > 'yesterday'" });
      } catch (e) {
        return e as UsageError;
      }
      throw new Error('no error');
    })();
    expect(error.code).toBe('INVALID_RUN_FILTER');
    expect(error.problems[1]!.indexOf('^')).toBe(35);
  });

  it('notices runs added by copying folders in, removed by hand, re-tagged and deleted', async () => {
    const { store, root, a, b } = await seed();
    expect(listRuns(store, {}).total).toBe(4);
    // A run arriving from elsewhere (git pull, sync): a folder copied in under a new id.
    const copiedId = `${a.slice(0, 12)}ffffffff`;
    cpSync(join(root, 'income', a), join(root, 'income', copiedId), { recursive: true });
    const runJson = join(root, 'income', copiedId, 'run.json');
    writeFileSync(runJson, readFileSync(runJson, 'utf8').replace(a, copiedId));
    expect(ids(listRuns(store, { filter: `id = '${copiedId}'` }))).toEqual([copiedId]);
    // Removed by hand.
    rmSync(join(root, 'income', b), { recursive: true });
    expect(listRuns(store, {}).total).toBe(4);
    expect(ids(listRuns(store, {}))).not.toContain(b);
    await store.setTags(a, { stage: 'prod' });
    expect(ids(listRuns(store, { filter: "tags.stage = 'prod'" }))).toEqual([a]);
    await store.deleteRun(a);
    expect(ids(listRuns(store, {}))).not.toContain(a);
    expect(ids(listRuns(store, { lifecycle: 'deleted' }))).toEqual([a]);
    expect(listRuns(store, { lifecycle: 'all' }).total).toBe(4);
  });

  it('rebuilds an index that is corrupt or missing', async () => {
    const { store, root } = await seed();
    listRuns(store, {});
    writeFileSync(join(root, '.index', 'runs.sqlite'), 'not a database at all, just garbage bytes'.repeat(100));
    rmSync(join(root, '.index', 'runs.sqlite-wal'), { force: true });
    rmSync(join(root, '.index', 'runs.sqlite-shm'), { force: true });
    expect(listRuns(store, {}).total).toBe(4);
    rmSync(join(root, '.index'), { recursive: true });
    const again = listRuns(store, {});
    expect(again.total).toBe(4);
    expect(again.index?.rebuilt).toBe(true);
  });

  it('stops re-reading a RUNNING run once its process is known to be dead', async () => {
    const t = createTempStore({ host: 'box', pid: 999_999, probe: { host: 'box', isAlive: () => false } });
    cleanups.push(t.cleanup);
    await createFakeRun(t.store, { status: 'RUNNING', metrics: { loss: [1] } });
    let now = Date.now() + 10_000;
    const index = openRunIndex({ root: t.root, effectiveStatus: t.store.effectiveStatus, now: () => now });
    try {
      index.refresh();
      expect(index.query({}).runs[0]!.info.status).toBe('FAILED');
      now += 1000;
      expect(index.refresh()).toMatchObject({ updated: 0 });
    } finally {
      index.close();
    }
  });

  it('re-reads a run whose metrics grow while it is RUNNING', async () => {
    const { store } = tempStore();
    const run = await createFakeRun(store, { status: 'RUNNING', metrics: { loss: [1] } });
    expect(listRuns(store, {}).runs[0]!.metrics).toEqual({ loss: 1 });
    await run.logMetrics({ loss: 0.25 }, 1);
    await run.end('FINISHED');
    const [record] = listRuns(store, {}).runs;
    expect(record!.metrics).toEqual({ loss: 0.25 });
    expect(record!.info.status).toBe('FINISHED');
  });

  it('sees mlctl changes at once and foreign in-place edits at the next full sweep', async () => {
    const { store, root, a, b } = await seed();
    // A clock ahead of the files' mtimes, so that none of them is too recent to be trusted.
    let now = Date.now() + 10_000;
    const index = openRunIndex({ root, effectiveStatus: store.effectiveStatus, now: () => now });
    try {
      expect(index.refresh().rebuilt).toBe(true);
      const tagged = (): string[] => index.query({ filter: parseRunFilter("tags.stage = 'prod'")! }).runs.map((r) => r.info.id);
      await store.setTags(a, { stage: 'prod' });
      index.refresh();
      expect(tagged()).toEqual([a]);

      // Another tool rewrites b's tags.json in place (a git pull would): the experiment's mtime stays.
      writeFileSync(join(root, 'income', b, 'tags.json'), '{"stage": "prod"}\n');
      utimesSync(join(root, 'income', b), new Date(), new Date(Date.now() + 3_000));
      expect(index.refresh()).toMatchObject({ updated: 0 });
      expect(tagged()).toEqual([a]);
      now += FULL_SWEEP_INTERVAL_MS;
      expect(index.refresh()).toMatchObject({ updated: 1 });
      expect(tagged().sort()).toEqual([a, b].sort());

      // A run.json damaged in place: out of results, counted as broken.
      writeFileSync(join(root, 'income', a, 'run.json'), '{"id": "torn');
      utimesSync(join(root, 'income', a), new Date(), new Date(Date.now() + 6_000));
      now += FULL_SWEEP_INTERVAL_MS;
      expect(index.refresh().broken).toBe(1);
      expect(index.query({}).total).toBe(3);
    } finally {
      index.close();
    }
  });

  it('brings back a run whose damaged run.json is repaired in place, without a full sweep', async () => {
    const { store, root, a } = await seed();
    const runDir = join(root, 'income', a);
    const runJson = join(runDir, 'run.json');
    const good = readFileSync(runJson, 'utf8');
    const past = new Date(Date.now() - 60_000);
    const now = Date.now() + 10_000;
    const index = openRunIndex({ root, effectiveStatus: store.effectiveStatus, now: () => now });
    try {
      index.refresh();
      writeFileSync(runJson, 'garbage');
      utimesSync(runDir, past, past);
      utimesSync(join(root, 'income'), past, past);
      expect(index.refresh().broken).toBe(1);
      expect(index.query({}).total).toBe(3);
      // Repaired by writing into the same file: no folder's mtime moves, no full sweep is due.
      writeFileSync(runJson, good);
      utimesSync(runDir, past, past);
      expect(index.refresh().broken).toBe(0);
      expect(index.query({}).runs.map((r) => r.info.id)).toContain(a);
    } finally {
      index.close();
    }
  });
});

describe('likeToGlob', () => {
  it('translates wildcards and escapes GLOB specials', () => {
    expect(likeToGlob('a%b_c')).toBe('a*b?c');
    expect(likeToGlob('100\\%*?[x')).toBe('100%[*][?][[]x');
  });
});
