import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/core/db/create-database.js';
import type { Database } from '../../../src/core/db/database.js';
import { MIGRATIONS } from '../../../src/core/db/migrations/index.js';
import { migrate } from '../../../src/core/db/migrator.js';
import { OUTPUT_KEY, type HistogramWindow } from '../../../src/core/monitoring/histogram-store.js';
import { appendHistogramWindow, createSqlHistogramStore, pruneHistograms } from '../../../src/core/monitoring/sql-histogram-store.js';
import { locateTool, missingTool } from '../../helpers/tools.js';

/**
 * The drift_histograms table behind HistogramStore, on SQLite and (when
 * MLCTL_TEST_POSTGRES_URL names a server) PostgreSQL: sparse rows read back whole, two
 * writers of one window add up, queries by version and time, and the retention.
 */

const T0 = new Date('2026-06-30T12:00:00.000Z');
const MINUTE = 60_000;

function window(startMinute: number, counts: Record<string, number[]>, version = '3'): HistogramWindow {
  const rows = counts[OUTPUT_KEY]!.reduce((a, b) => a + b, 0);
  return { model: 'income', version, start: new Date(T0.getTime() + startMinute * MINUTE), end: new Date(T0.getTime() + (startMinute + 5) * MINUTE), rows, counts };
}

function contract(open: () => Promise<Database>): void {
  let database: Database;
  beforeAll(async () => {
    database = await open();
    await migrate(database, { migrations: MIGRATIONS });
  });
  afterAll(async () => {
    await database?.close();
  });

  it('stores non-zero bins only and reads every window back whole, zeros included', async () => {
    const store = createSqlHistogramStore(database.db);
    await store.append(window(0, { age: [2, 0, 1, 0], workclass: [0, 3, 0], [OUTPUT_KEY]: [1, 2] }));
    const stored = await database.db.selectFrom('drift_histograms').selectAll().where('window_start', '=', T0.toISOString()).execute();
    expect(stored).toHaveLength(5);
    expect(stored.every((row) => Number(row.records) > 0)).toBe(true);
    const [read] = await store.windows({ model: 'income', version: '3', from: T0, to: new Date(T0.getTime() + MINUTE) });
    expect(read).toEqual(window(0, { age: [2, 0, 1, 0], workclass: [0, 3, 0], [OUTPUT_KEY]: [1, 2] }));
  });

  it('adds a second writer of the same window into the same rows (workers, a restarted server)', async () => {
    const store = createSqlHistogramStore(database.db);
    await store.append(window(5, { age: [1, 0, 0, 0], workclass: [1, 0, 0], [OUTPUT_KEY]: [0, 1] }));
    await store.append(window(5, { age: [0, 0, 0, 2], workclass: [1, 1, 0], [OUTPUT_KEY]: [2, 0] }));
    const [read] = await store.windows({ model: 'income', version: '3', from: new Date(T0.getTime() + 5 * MINUTE), to: new Date(T0.getTime() + 6 * MINUTE) });
    expect(read!.counts).toEqual({ age: [1, 0, 0, 2], workclass: [2, 1, 0], [OUTPUT_KEY]: [2, 1] });
    expect(read!.rows).toBe(3);
  });

  it('selects by version and by window start, oldest first', async () => {
    const store = createSqlHistogramStore(database.db);
    await store.append(window(10, { age: [1, 0, 0, 0], [OUTPUT_KEY]: [1, 0] }, '4'));
    await store.append(window(20, { age: [0, 1, 0, 0], [OUTPUT_KEY]: [1, 0] }));
    const all = await store.windows({ model: 'income', from: T0, to: new Date(T0.getTime() + 60 * MINUTE) });
    expect(all.map((w) => [w.version, (w.start.getTime() - T0.getTime()) / MINUTE])).toEqual([
      ['3', 0],
      ['3', 5],
      ['4', 10],
      ['3', 20],
    ]);
    const three = await store.windows({ model: 'income', version: '3', from: new Date(T0.getTime() + 5 * MINUTE), to: new Date(T0.getTime() + 20 * MINUTE) });
    expect(three.map((w) => w.start.getTime())).toEqual([T0.getTime() + 5 * MINUTE]);
    expect(await store.windows({ model: 'housing', from: T0, to: new Date(T0.getTime() + 60 * MINUTE) })).toEqual([]);
  });

  it('prunes whole windows older than the retention, in batches', async () => {
    for (let i = 0; i < 30; i++) await appendHistogramWindow(database.db, window(100 + i * 5, { age: [1, 1, 1, 1], [OUTPUT_KEY]: [2, 2] }, 'prune'));
    const now = () => new Date(T0.getTime() + (100 + 30 * 5) * MINUTE);
    let pauses = 0;
    // Windows starting more than an hour before `now`: 18 of the 30, 6 rows each.
    const deleted = await pruneHistograms(database.db, 60 * MINUTE, { now, batchRows: 10, between: async () => void pauses++ });
    expect(deleted).toBeGreaterThanOrEqual(18 * 6);
    expect(pauses).toBeGreaterThan(0);
    const left = await database.db.selectFrom('drift_histograms').select('window_start').where('model_version', '=', 'prune').execute();
    expect(left).toHaveLength(12 * 6);
    expect(left.every((row) => row.window_start >= new Date(now().getTime() - 60 * MINUTE).toISOString())).toBe(true);
    expect(await pruneHistograms(database.db, 60 * MINUTE, { now })).toBe(0);
  });

  it('refuses a count that is not a positive number of records', async () => {
    await expect(
      database.db
        .insertInto('drift_histograms')
        .values({ model_name: 'x', model_version: '1', window_start: 'a', window_end: 'b', feature: 'age', bin: 4, feature_bins: 4, records: 1 })
        .execute(),
    ).rejects.toThrow();
  });
}

describe('SQL histogram store on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlctl-histograms-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  contract(() => openDatabase(`sqlite:${join(dir, 'x.db')}`, dir));
});

const noPostgres = missingTool('postgres');

describe.skipIf(noPostgres)('SQL histogram store on PostgreSQL', () => {
  const name = `mlctl_test_${randomBytes(4).toString('hex')}`;
  let admin: Database | undefined;
  afterAll(async () => {
    if (admin === undefined) return;
    await sql.raw(`drop database if exists ${name} with (force)`).execute(admin.db);
    await admin.close();
  });
  contract(async () => {
    const adminUrl = locateTool('postgres') as string;
    admin = await openDatabase(adminUrl, process.cwd());
    await sql.raw(`create database ${name}`).execute(admin.db);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return openDatabase(url.toString(), process.cwd());
  });
});
