import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/core/db/create-database.js';
import type { Database } from '../../../src/core/db/database.js';
import { MIGRATIONS } from '../../../src/core/db/migrations/index.js';
import { migrate } from '../../../src/core/db/migrator.js';
import { describeRetention, parseRetention, prunePredictions, recordPredictions } from '../../../src/core/db/predictions-repository.js';

const DAY = 86_400_000;
const NOW = new Date('2026-06-30T12:00:00.000Z');
let dir: string;
let database: Database;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mlctl-prune-'));
  database = await openDatabase(`sqlite:${join(dir, 'x.db')}`, dir);
  await migrate(database, { migrations: MIGRATIONS });
});

afterEach(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `count` predictions, one per hour going back from `newest`, oldest first (as a daemon appends them). */
async function seed(count: number, newest = NOW): Promise<void> {
  const rows = Array.from({ length: count }, (_, i) => ({
    modelName: 'income',
    modelVersion: '1',
    inputHash: 'x'.repeat(64),
    label: '>50K',
    probability: 0.5,
    latencyMs: 1,
    createdAt: new Date(newest.getTime() - (count - 1 - i) * 3_600_000).toISOString(),
  }));
  await recordPredictions(database.db, rows);
}

async function remaining(): Promise<{ count: number; oldest: string | undefined }> {
  const rows = await database.db.selectFrom('predictions').select('created_at').orderBy('id').execute();
  return { count: rows.length, oldest: rows[0]?.created_at };
}

describe('prunePredictions', () => {
  it('removes rows older than the age limit in small batches, keeping the rest', async () => {
    await seed(24 * 40); // 40 days, hourly
    let pauses = 0;
    const result = await prunePredictions(database.db, { maxAgeMs: 30 * DAY }, { now: () => NOW, batchRows: 100, between: async () => void pauses++ });
    const left = await remaining();
    expect(result).toEqual({ byAge: 24 * 10 - 1, byCount: 0 });
    expect(left.count).toBe(24 * 30 + 1);
    expect(new Date(left.oldest!).getTime()).toBeGreaterThanOrEqual(NOW.getTime() - 30 * DAY);
    expect(pauses).toBeGreaterThan(0);
    // Nothing more to do the second time.
    expect(await prunePredictions(database.db, { maxAgeMs: 30 * DAY }, { now: () => NOW })).toEqual({ byAge: 0, byCount: 0 });
  });

  it('finds old rows wherever their ids are, unless told they are the oldest ids (the daemon appends in time order)', async () => {
    await seed(300);
    await seed(200, new Date(NOW.getTime() - 400 * DAY)); // imported later: old rows with high ids
    expect(await prunePredictions(database.db, { maxAgeMs: 30 * DAY }, { now: () => NOW, batchRows: 100, scan: 'oldest-first' })).toEqual({ byAge: 0, byCount: 0 });
    expect(await prunePredictions(database.db, { maxAgeMs: 30 * DAY }, { now: () => NOW, batchRows: 100 })).toEqual({ byAge: 200, byCount: 0 });
    expect((await remaining()).count).toBe(300);
  });

  it('keeps the newest rows under a row limit, and both limits together', async () => {
    await seed(2_500);
    expect(await prunePredictions(database.db, { maxRows: 1_000 }, { batchRows: 300 })).toEqual({ byAge: 0, byCount: 1_500 });
    expect((await remaining()).count).toBe(1_000);
    const both = await prunePredictions(database.db, { maxAgeMs: 10 * 3_600_000, maxRows: 5 }, { now: () => NOW });
    expect(both.byAge + both.byCount).toBe(995);
    expect((await remaining()).count).toBe(5);
    expect(await prunePredictions(database.db, {})).toEqual({ byAge: 0, byCount: 0 });
  });
});

describe('parseRetention', () => {
  it('reads a duration, a row count, both, or forever', () => {
    expect(parseRetention('30d')).toEqual({ maxAgeMs: 30 * DAY });
    expect(parseRetention('12h')).toEqual({ maxAgeMs: 12 * 3_600_000 });
    expect(parseRetention('1_000_000')).toEqual({ maxRows: 1_000_000 });
    expect(parseRetention('30d, 1000000')).toEqual({ maxAgeMs: 30 * DAY, maxRows: 1_000_000 });
    expect(parseRetention('forever')).toEqual({});
    expect(parseRetention('30x')).toMatch(/neither a duration/);
    expect(parseRetention('0')).toMatch(/neither a duration/);
    expect(parseRetention('1d,2d')).toMatch(/two durations/);
    expect(describeRetention({ maxAgeMs: 30 * DAY, maxRows: 1_000_000 })).toBe('30d, 1000000 rows');
    expect(describeRetention({ maxAgeMs: 14 * DAY })).toBe('2w');
    expect(describeRetention({})).toBe('forever');
  });
});
