import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getDatasetSpec } from '../../../src/core/datasets/dataset-registry.js';
import { backupDatabase, restoreDatabase } from '../../../src/core/db/backup.js';
import { openDatabase } from '../../../src/core/db/create-database.js';
import type { Database } from '../../../src/core/db/database.js';
import { MIGRATIONS } from '../../../src/core/db/migrations/index.js';
import { migrate } from '../../../src/core/db/migrator.js';
import { populateUsers } from '../../../src/core/db/populate.js';
import { addUser, deleteUser } from '../../../src/core/db/users-repository.js';
import { isMlctlError, type MlctlError } from '../../../src/core/errors.js';

const mirror = process.env.MLCTL_DATA_MIRROR;
let dir: string;
let database: Database;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mlctl-populate-'));
  database = await openDatabase(`sqlite:${join(dir, 'x.db')}`, dir);
  await migrate(database, { migrations: MIGRATIONS });
});

afterEach(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

async function users(): Promise<Record<string, unknown>[]> {
  return database.db.selectFrom('users').selectAll().orderBy('id').execute();
}

async function failure(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    if (isMlctlError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

const HAND_ADDED = {
  age: 50, workclass: 'Private', fnlwgt: 1000, education: 'HS-grad', marital_status: 'Divorced', occupation: 'Sales',
  relationship: 'Unmarried', race: 'Other', sex: 'Female', capital_gain: 0, capital_loss: 0, hours_per_week: 30, native_country: 'Peru',
};

describe('populate', () => {
  it('adds no duplicates when re-run, and --replace keeps users added by hand', async () => {
    const spec = getDatasetSpec('income');
    const options = { spec, split: 'test' as const, dataDir: join(dir, 'data'), mirror };
    const first = await populateUsers(database, { ...options, limit: 200 });
    expect(first).toMatchObject({ inserted: 200, skipped: 0, deleted: 0 });
    const rows = await users();
    expect(rows[0]).toMatchObject({ source: 'income:test:1', age: 25, workclass: 'Private', income: '<=50K' });
    // adult.test labels end in "." in the file; stored without it.
    expect(new Set(rows.map((r) => r.income))).toEqual(new Set(['<=50K', '>50K']));

    const second = await populateUsers(database, { ...options, limit: 300 });
    expect(second).toMatchObject({ inserted: 100, skipped: 200 });
    expect((await users()).slice(0, 200)).toEqual(rows);

    const hand = await addUser(database.db, HAND_ADDED);
    const replaced = await populateUsers(database, { ...options, limit: 50, replace: true });
    expect(replaced).toMatchObject({ deleted: 300, inserted: 50 });
    const after = await users();
    expect(after).toHaveLength(51);
    expect(after.map((u) => u.id)).toContain(hand.id);
  });

  it('refuses a dataset without census columns', async () => {
    const error = await failure(populateUsers(database, { spec: getDatasetSpec('housing'), dataDir: join(dir, 'data'), mirror }));
    expect(error.code).toBe('POPULATE_DATASET_UNSUITABLE');
    expect(await users()).toEqual([]);
  });
});

describe('backup and restore', () => {
  it('round-trips: restoring a backup brings back exactly the backed-up rows, after saving the current database', async () => {
    const first = await addUser(database.db, HAND_ADDED);
    await addUser(database.db, { ...HAND_ADDED, age: 22 });
    const snapshot = await users();
    const file = join(dir, 'copies', 'snapshot.db');
    const backup = await backupDatabase(database, file);
    expect(backup.bytes).toBeGreaterThan(0);

    await deleteUser(database.db, first.id);
    await addUser(database.db, { ...HAND_ADDED, age: 80 });
    expect(await users()).not.toEqual(snapshot);

    const backupDir = join(dir, 'backups');
    const result = await restoreDatabase(database, file, { migrations: MIGRATIONS, backupDir, cwd: dir });
    expect(result.status.counts.applied).toBe(MIGRATIONS.length);
    expect(await users()).toEqual(snapshot);
    expect(readdirSync(backupDir)).toEqual([expect.stringMatching(/before-restore\.db$/)]);
    // The safety copy holds the state just before the restore.
    const saved = await openDatabase(`sqlite:${result.backup!.path}`, dir, { readonly: true });
    try {
      expect((await saved.db.selectFrom('users').select('age').orderBy('id').execute()).map((r) => r.age)).toEqual([22, 80]);
    } finally {
      await saved.close();
    }
  });

  it('refuses a file that is not an mlctl SQLite database and changes nothing', async () => {
    await addUser(database.db, HAND_ADDED);
    const before = await users();
    writeFileSync(join(dir, 'notes.txt'), 'not a database at all, just some text long enough');
    expect((await failure(restoreDatabase(database, 'notes.txt', { migrations: MIGRATIONS, cwd: dir }))).code).toBe('RESTORE_NOT_SQLITE');
    const other = await openDatabase(`sqlite:${join(dir, 'other.db')}`, dir);
    await other.db.schema.createTable('t').addColumn('x', 'integer').execute();
    await other.close();
    expect((await failure(restoreDatabase(database, 'other.db', { migrations: MIGRATIONS, cwd: dir }))).code).toBe('RESTORE_NOT_MLCTL');
    expect((await failure(restoreDatabase(database, 'missing.db', { migrations: MIGRATIONS, cwd: dir }))).category).toBe('not-found');
    expect(await users()).toEqual(before);
  });
});
