import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/core/db/create-database.js';
import { migrate } from '../../../src/core/db/migrator.js';
import { MlctlError } from '../../../src/core/errors.js';
import { createFileTrackingStore } from '../../../src/core/tracking/file-tracking-store.js';
import { openTrackingStore } from '../../../src/core/tracking/open-tracking-store.js';
import { listRuns } from '../../../src/core/tracking/run-operations.js';
import type { RunRecord } from '../../../src/core/tracking/run-store.js';
import { TRACKING_MIGRATIONS, TRACKING_MIGRATION_TABLES } from '../../../src/core/tracking/sql/migrations/index.js';
import { importFileStore } from '../../../src/core/tracking/tracking-import.js';
import type { TrackingStore } from '../../../src/core/tracking/tracking-store.js';
import { createFakeRun } from '../../helpers/run-fixtures.js';
import { createTestDatabase, describeWithPostgres } from '../../helpers/postgres.js';

async function errorOf(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MlctlError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

/** A database for one suite: a fresh PostgreSQL database, or a SQLite file. */
interface Backend {
  readonly name: string;
  readonly describe: (name: string, body: () => void) => void;
  create(dir: string): Promise<{ url: string; drop: () => Promise<void> }>;
  /**
   * Whether several stores (several connections) may write at once in one process. SQLite's
   * lock wait blocks the process (better-sqlite3 is synchronous), so one process uses one
   * store, whose connection queues its transactions; processes share a file as they should.
   */
  readonly connectionsPerProcess: 'many' | 'one';
}

const BACKENDS: readonly Backend[] = [
  { name: 'PostgreSQL', describe: describeWithPostgres, create: () => createTestDatabase('mlctl_tracking'), connectionsPerProcess: 'many' },
  { name: 'SQLite', describe, create: async (dir) => ({ url: `sqlite:${join(dir, 'tracking.db')}`, drop: async () => undefined }), connectionsPerProcess: 'one' },
];

for (const backend of BACKENDS) {
  backend.describe(`the SQL tracking store on ${backend.name}`, () => {
    let dir: string;
    let url: string;
    let drop: () => Promise<void>;
    const open: TrackingStore[] = [];

    /** Stores that write at once: one per "machine" on PostgreSQL, one shared on SQLite (see Backend). */
    async function openWriters(names: readonly string[]): Promise<TrackingStore[]> {
      if (backend.connectionsPerProcess === 'many') return Promise.all(names.map((name) => openStore(name)));
      const shared = await openStore(names[0]);
      return names.map(() => shared);
    }

    /** A store on the suite's database, with artifacts in a folder (the default layout) and its own cache. */
    async function openStore(name = 'a'): Promise<TrackingStore> {
      const store = await openTrackingStore({ trackingUri: url, artifactUri: join(dir, 'artifacts'), cwd: dir, dataDir: join(dir, `data-${name}`), aws: {} as never });
      open.push(store);
      return store;
    }

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mlctl-sql-tracking-'));
      ({ url, drop } = await backend.create(dir));
      const database = await openDatabase(url, dir);
      try {
        await migrate(database, { migrations: TRACKING_MIGRATIONS, tables: TRACKING_MIGRATION_TABLES });
      } finally {
        await database.close();
      }
    });
    afterAll(async () => {
      for (const store of open) await store.close();
      await drop?.();
      rmSync(dir, { recursive: true, force: true });
    });

    it('refuses a database whose tracking tables were never created, naming the command (exit 2)', async () => {
      const other = join(dir, 'empty.db');
      const error = await errorOf(openTrackingStore({ trackingUri: `sqlite:${other}`, artifactUri: dir, cwd: dir, dataDir: dir, aws: {} as never }));
      expect([error.code, error.category, error.hint]).toEqual(['TRACKING_NOT_MIGRATED', 'usage', 'run `mlctl tracking migrate` (once per database; safe to run again)']);
    });

    it('answers the filter language as the file store index does', async () => {
      const store = await openStore();
      const a = await createFakeRun(store, { experiment: 'filters', params: { lr: 0.001, optimizer: 'adam' }, metrics: { accuracy: [0.7, 0.85], auc: [0.8, 0.91] }, tags: { team: 'ml' } });
      const b = await createFakeRun(store, { experiment: 'filters', params: { lr: 0.01, optimizer: 'Adam' }, metrics: { accuracy: [0.9], auc: [0.95] } });
      const c = await createFakeRun(store, { experiment: 'filters', params: { lr: '0.001', optimizer: 'sgd' }, metrics: { accuracy: [0.82], auc: [0.88] }, status: 'FAILED' });
      const d = await createFakeRun(store, { experiment: 'filters-housing', params: { lr: 0.001 }, metrics: { rmse: [3.2] } });
      const scope = "(experiment = 'filters' or experiment = 'filters-housing')";
      const q = async (filter: string, orderBy?: string) =>
        (await listRuns(store, { filter: `${scope} and (${filter})`, ...(orderBy === undefined ? {} : { orderBy }) })).runs.map((r) => r.info.id);
      expect(await q('metrics.accuracy > 0.8 and params.lr = 0.001', 'metrics.auc desc')).toEqual([a.id, c.id]);
      expect(await q('params.lr = 1e-3', 'start_time')).toEqual([a.id, c.id, d.id]);
      expect(await q("params.lr = '0.001'", 'start_time')).toEqual([a.id, c.id, d.id]);
      expect(await q("params.lr = '1e-3'")).toEqual([]);
      expect(await q("params.optimizer LIKE 'a%'")).toEqual([a.id]);
      expect(await q("params.optimizer ILIKE 'a%'", 'metrics.auc')).toEqual([a.id, b.id]);
      expect(await q("params.optimizer NOT LIKE 'a%'", 'start_time')).toEqual([b.id, c.id]);
      expect(await q("tags.team = 'ml' or status = 'failed'", 'start_time')).toEqual([a.id, c.id]);
      expect(await q("(status = 'FINISHED' or status = 'FAILED') and experiment != 'filters-housing'", 'metrics.accuracy desc')).toEqual([b.id, a.id, c.id]);
      expect(await q('metrics.rmse < 4')).toEqual([d.id]);
      expect(await q("start_time >= '2000-01-01' and duration >= 0", 'start_time')).toEqual([a.id, b.id, c.id, d.id]);
      const page = await listRuns(store, { filter: scope, orderBy: 'metrics.auc desc', limit: 2 });
      expect([page.total, page.runs.map((r) => r.info.id)]).toEqual([4, [b.id, a.id]]);
      expect((await errorOf(listRuns(store, { filter: "metrics.auc > 0.5 and start_time > 'yesterday'" }))).code).toBe('INVALID_RUN_FILTER');
      // A key no run has is a typo more often than not, as on the file store.
      const typo = await errorOf(listRuns(store, { filter: 'metrics.acuracy > 0.8', orderBy: 'params.auc' }));
      expect([typo.code, typo.problems]).toEqual(['UNKNOWN_RUN_KEY', ['metrics.acuracy: no run has it; did you mean metrics.accuracy?', 'params.auc: no run has it; did you mean metrics.auc?']]);
    });

    it('keeps params immutable, histories whole, tags and notes editable, deletes soft, and finds runs by prefix or name', async () => {
      const store = await openStore();
      const run = await createFakeRun(store, { experiment: 'edits', params: { lr: 0.1 }, metrics: { loss: [1, 0.5, Number.NaN, 0.25] }, status: 'RUNNING' });
      await expect(run.logParams({ lr: 0.2 })).rejects.toMatchObject({ code: 'PARAM_IMMUTABLE' });
      expect((await errorOf(store.setNote(run.id, 'x'))).code).toBe('RUN_STILL_RUNNING');
      await run.end('FINISHED');
      const history = await store.getMetricHistory(run.id.slice(0, 17), 'loss');
      expect(history.map((p) => [p.step, p.value])).toEqual([[0, 1], [1, 0.5], [2, Number.NaN], [3, 0.25]]);
      expect(Object.keys(await store.getMetricHistories(run.id))).toEqual(['loss']);
      expect((await errorOf(store.getMetricHistory(run.id, 'nope'))).code).toBe('METRIC_NOT_FOUND');
      expect((await store.setTags(run.id, { stage: 'candidate', owner: 'ana' })).tags).toEqual({ owner: 'ana', stage: 'candidate' });
      expect((await store.setTags(run.id, {}, ['owner'])).tags).toEqual({ stage: 'candidate' });
      await store.setNote(run.id, 'baseline');
      const record = await store.getRun(run.id);
      expect([record.info.note, record.info.status, record.metrics.loss, record.params]).toEqual(['baseline', 'FINISHED', 0.25, { lr: 0.1 }]);
      await store.deleteRun(run.id);
      expect((await listRuns(store, { experiment: 'edits' })).total).toBe(0);
      expect((await listRuns(store, { experiment: 'edits', lifecycle: 'deleted' })).total).toBe(1);
      await store.restoreRun(run.id);
      expect((await errorOf(store.getRun('0123456789abcdef0123'))).code).toBe('RUN_NOT_FOUND');
      // Runs are found by name too, as on the file store; an id typed in capitals is refused.
      const named = await store.createRun({ experiment: 'edits', commandLine: 'test', name: `baseline ${run.id}` });
      await named.end('FINISHED');
      expect((await store.getRun(`baseline ${run.id}`)).info.id).toBe(named.id);
      expect((await errorOf(store.getRun(run.id.toUpperCase()))).code).toBe('INVALID_RUN_ID');
      expect((await errorOf(store.getRun('no-such-run'))).code).toBe('RUN_NOT_FOUND');
    });

    it('writes metric points in batches that lose nothing, even logged in a burst', async () => {
      const store = await openStore();
      const run = await store.createRun({ experiment: 'burst', commandLine: 'test' });
      await Promise.all(Array.from({ length: 500 }, (_, step) => run.logMetrics({ a: step, b: -step }, step)));
      await run.end('FINISHED');
      const histories = await store.getMetricHistories(run.id);
      expect(histories.a?.map((p) => p.value)).toEqual(Array.from({ length: 500 }, (_, i) => i));
      expect((await store.getRun(run.id)).metrics).toEqual({ a: 499, b: -499 });
      expect((await store.verify()).damage).toEqual([]);
    });

    it('stores a bundle under its run before the row names it, and verifies it on download', async () => {
      const store = await openStore();
      const run = await createFakeRun(store, { experiment: 'bundles', bundle: true });
      const record = await store.getRun(run.id);
      expect(record.artifactUri).toBe(`${join(dir, 'artifacts')}/bundles/${run.id}/artifacts`);
      expect(existsSync(join(dir, 'artifacts', 'bundles', run.id, 'artifacts', 'model', 'manifest.json'))).toBe(true);
      // Another machine (another cache) downloads it, checked file by file.
      const elsewhere = await openStore('b');
      const fetched = await elsewhere.fetchBundle(run.id);
      expect(fetched).toContain(join('data-b', 'cache', 'artifacts'));
      expect(readFileSync(join(fetched, 'weights.bin'), 'utf8')).toBe('weights-v1');
      expect((await elsewhere.listArtifacts(run.id)).map((a) => a.path)).toEqual(['model/manifest.json', 'model/weights.bin']);
      // Half of a bundle (a weights file missing or changed) is never used.
      const third = await openStore('c');
      const weights = join(dir, 'artifacts', 'bundles', run.id, 'artifacts', 'model', 'weights.bin');
      writeFileSync(weights, 'weights-v2');
      const tampered = await errorOf(third.fetchBundle(run.id));
      expect([tampered.code, tampered.category]).toEqual(['BUNDLE_INCOMPLETE', 'gate']);
      expect(tampered.problems[0]).toMatch(/^weights\.bin: SHA-256 is/);
      expect((await store.verify()).damage.map((d) => d.problem)).toEqual([expect.stringMatching(/^weights\.bin has SHA-256/)]);
      rmSync(weights);
      expect((await errorOf(third.fetchBundle(run.id))).problems).toEqual(['weights.bin: missing']);
      writeFileSync(weights, 'weights-v1');
      expect((await errorOf(third.fetchBundle(run.id, { expectedManifestSha256: '0'.repeat(64) }))).code).toBe('BUNDLE_CHANGED');
      const none = await createFakeRun(store, { experiment: 'bundles' });
      expect((await errorOf(store.fetchBundle(none.id))).code).toBe('RUN_HAS_NO_BUNDLE');
    });

    it('hands out versions in transactions from concurrent stores: no gap, no duplicate, never reused', async () => {
      const stores = await openWriters(['r1', 'r2', 'r3', 'r4']);
      const run = await createFakeRun(stores[0]!, { experiment: 'registry', bundle: true });
      const versions = await Promise.all(Array.from({ length: 16 }, (_, i) => stores[i % 4]!.registry.register({ runId: run.id, name: 'conc' })));
      expect(versions.map((v) => v.version).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      await stores[0]!.registry.deleteVersion('conc', 16);
      expect((await stores[1]!.registry.register({ runId: run.id, name: 'conc' })).version).toBe(17);
      expect((await stores[0]!.registry.auditLog('conc')).filter((e) => e.action === 'register')).toHaveLength(17);
    });

    it('moves an alias with its audit row in one transaction, and refuses a stale move (exit 4)', async () => {
      const stores = await openWriters(['m1', 'm2', 'm3']);
      const run = await createFakeRun(stores[0]!, { experiment: 'aliases', bundle: true });
      for (let i = 0; i < 6; i += 1) await stores[0]!.registry.register({ runId: run.id, name: 'cas' });
      const registry = stores[0]!.registry;
      expect(await registry.setAlias('cas', 'production', 1, { expect: null })).toEqual({ previous: null });
      const stale = await errorOf(registry.setAlias('cas', 'production', 3, { expect: 2 }));
      expect([stale.code, stale.category, stale.message]).toEqual(['MODEL_ALIAS_MOVED', 'gate', 'cas@production is version 1, not version 2 as expected; nothing was changed']);
      // Concurrent compare-and-set moves from the same version: exactly one wins.
      const outcomes = await Promise.allSettled(stores.map((s, i) => s.registry.setAlias('cas', 'production', i + 2, { expect: 1 })));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      // Unconditional moves all land, each with its audit row, in one unbroken chain.
      await Promise.all(stores.flatMap((s) => [4, 5, 6].map((v) => s.registry.setAlias('cas', 'production', v))));
      const moves = (await registry.auditLog('cas')).filter((e) => e.action === 'alias-set');
      expect(moves).toHaveLength(1 + 1 + 9);
      for (let i = 1; i < moves.length; i += 1) expect(moves[i]!.old).toBe(moves[i - 1]!.new);
      expect((await registry.get('cas')).aliases.production).toBe(moves.at(-1)!.new);
      expect((await registry.resolve('cas', { alias: 'production' })).version).toBe(moves.at(-1)!.new);
      expect((await stores[0]!.verify()).damage).toEqual([]);
    });

    it('imports a file store with identical listings and registry, and adds nothing the second time', async () => {
      const files = createFileTrackingStore({ root: join(dir, 'file-store') });
      const x = await createFakeRun(files.files, { experiment: 'imported', params: { lr: 0.001, optimizer: 'adam', flag: true, none: null }, metrics: { auc: [0.8, 0.9], loss: [1, Number.POSITIVE_INFINITY] }, tags: { team: 'ml' }, bundle: true });
      const y = await createFakeRun(files.files, { experiment: 'imported', params: { lr: 0.01 }, metrics: { auc: [0.95] }, status: 'FAILED' });
      const z = await createFakeRun(files.files, { experiment: 'imported-too', bundle: true });
      await files.setNote(y.id, 'diverged');
      await files.registry.register({ runId: x.id, name: 'imported-model', description: 'first' });
      await files.registry.register({ runId: z.id, name: 'imported-model' });
      await files.deleteRun(z.id);
      await files.registry.setAlias('imported-model', 'production', 2);
      await files.registry.setAlias('imported-model', 'production', 1);
      await files.registry.deleteAlias('imported-model', 'production');
      await files.registry.setAlias('imported-model', 'production', 2);

      const store = await openStore();
      const first = await importFileStore(files, store);
      expect([first.runs, first.models]).toEqual([{ imported: 3, present: 0, total: 3 }, { imported: ['imported-model'], present: [] }]);
      const again = await importFileStore(files, store);
      expect([again.runs, again.models, again.metricPoints]).toEqual([{ imported: 0, present: 3, total: 3 }, { imported: [], present: ['imported-model'] }, 0]);

      // Everything but where each store keeps the files (the file store's records also carry their folder).
      const shown = (runs: readonly RunRecord[]) => JSON.stringify(runs.map(({ artifactUri: _, ...rest }) => ({ ...rest, dir: undefined })));
      const filter = "experiment LIKE 'imported%'";
      expect(shown((await listRuns(store, { filter, lifecycle: 'all', limit: 0 })).runs)).toBe(shown((await listRuns(files, { filter, lifecycle: 'all', limit: 0 })).runs));
      expect(await store.getMetricHistories(x.id)).toEqual(await files.getMetricHistories(x.id));
      expect(JSON.stringify(await store.registry.get('imported-model'))).toBe(JSON.stringify(await files.registry.get('imported-model')));
      expect(JSON.stringify(await store.registry.auditLog('imported-model'))).toBe(JSON.stringify(await files.registry.auditLog('imported-model')));
      expect(readFileSync(join(await store.fetchBundle(x.id), 'weights.bin'), 'utf8')).toBe('weights-v1');
      expect((await store.verify()).damage).toEqual([]);
    });

    it('purges deleted runs with their artifacts unless a version uses them', async () => {
      const store = await openStore();
      const used = await createFakeRun(store, { experiment: 'gc', bundle: true });
      const unused = await createFakeRun(store, { experiment: 'gc', bundle: true });
      await store.registry.register({ runId: used.id, name: 'gc-model' });
      await store.deleteRun(used.id);
      await store.deleteRun(unused.id);
      const dry = await store.gc({ dryRun: true });
      expect(dry.purged.map((r) => r.id)).toContain(unused.id);
      expect(existsSync(join(dir, 'artifacts', 'gc', unused.id))).toBe(true);
      const done = await store.gc();
      expect(done.purged.map((r) => r.id)).toContain(unused.id);
      expect(done.kept.map((r) => [r.id, r.reason])).toContainEqual([used.id, 'a registered model version uses it']);
      expect(existsSync(join(dir, 'artifacts', 'gc', unused.id, 'artifacts', 'model', 'manifest.json'))).toBe(false);
      expect((await errorOf(store.getRun(unused.id))).code).toBe('RUN_NOT_FOUND');
    });
  });
}
