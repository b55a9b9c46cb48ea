import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/core/db/create-database.js';
import type { Database } from '../../../src/core/db/database.js';
import { defineMigration, type Migration } from '../../../src/core/db/migration.js';
import { MIGRATIONS } from '../../../src/core/db/migrations/index.js';
import { getMigrationHistory, getMigrationStatus, migrate, rollback } from '../../../src/core/db/migrator.js';
import { isMlctlError } from '../../../src/core/errors.js';

let dir: string;
let database: Database;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mlctl-migrator-'));
  database = await openDatabase(`sqlite:${join(dir, 'x.db')}`, dir);
});

afterEach(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Everything but the migrator's own bookkeeping. */
async function userSchema(): Promise<unknown[]> {
  return (await database.listSchema()).filter((o) => !o.name.startsWith('mlctl_'));
}

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; category: string; problems: readonly string[] }> {
  try {
    await promise;
  } catch (error) {
    if (isMlctlError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('migrator', () => {
  it('round-trips every migration: up, down to base, up again leaves sqlite_master identical', async () => {
    const empty = await userSchema();
    expect(empty).toEqual([]);
    const first = await migrate(database, { migrations: MIGRATIONS });
    expect(first.steps.map((s) => s.name)).toEqual(MIGRATIONS.map((m) => m.name));
    const migrated = await database.listSchema();
    expect(migrated.map((o) => o.name)).toEqual(expect.arrayContaining(['users', 'predictions']));

    // Down one at a time, checking each step lands on the schema of the step before.
    const snapshots: unknown[][] = [];
    await rollback(database, { migrations: MIGRATIONS, to: 'base' });
    expect(await userSchema()).toEqual(empty);
    for (const migration of MIGRATIONS) {
      await migrate(database, { migrations: MIGRATIONS, to: migration.name });
      snapshots.push(await userSchema());
    }
    for (let i = MIGRATIONS.length - 1; i >= 0; i -= 1) {
      expect(await userSchema()).toEqual(snapshots[i]);
      await rollback(database, { migrations: MIGRATIONS, steps: 1 });
    }
    expect(await userSchema()).toEqual(empty);
    await migrate(database, { migrations: MIGRATIONS });
    expect(await database.listSchema()).toEqual(migrated);
    const status = await getMigrationStatus(database, MIGRATIONS);
    expect(status.counts).toEqual({ applied: MIGRATIONS.length, pending: 0, changed: 0, unknown: 0 });
  });

  it('rolls a failing migration back completely and keeps the ones before it', async () => {
    const failing = defineMigration('9999_half_done', {
      async up(db: Kysely<any>) {
        await db.schema.createTable('half').addColumn('x', 'integer').execute();
        await db.schema.alterTable('users').addColumn('nickname', 'text').execute();
        await sql`select * from no_such_table`.execute(db);
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('half').execute();
      },
    });
    await migrate(database, { migrations: MIGRATIONS.slice(0, 1) });
    const before = await database.listSchema();
    const error = await errorOf(migrate(database, { migrations: [...MIGRATIONS, failing] }));
    expect(error.code).toBe('MIGRATION_FAILED');
    // What the migrations after the first created (they applied before the failing one) is kept.
    const later = /^(predictions|drift_histograms)/;
    const after = (await database.listSchema()).filter((o) => !later.test(o.name));
    expect(after).toEqual(before);
    const status = await getMigrationStatus(database, [...MIGRATIONS, failing]);
    expect(status.migrations.map((m) => m.state)).toEqual([...MIGRATIONS.map(() => 'applied'), 'pending']);
  });

  it('detects a migration edited after it was applied, and --force records the new code', async () => {
    await migrate(database, { migrations: MIGRATIONS });
    const edited: Migration[] = [
      ...MIGRATIONS.slice(0, -1),
      defineMigration(MIGRATIONS.at(-1)!.name, {
        up: async (db) => {
          await db.schema.createTable('predictions').addColumn('id', 'integer').execute();
        },
        down: MIGRATIONS.at(-1)!.down,
      }),
    ];
    const status = await getMigrationStatus(database, edited);
    expect(status.migrations.at(-1)?.state).toBe('changed');
    const error = await errorOf(migrate(database, { migrations: edited }));
    expect(error.code).toBe('MIGRATION_CHECKSUM_MISMATCH');
    expect(error.category).toBe('usage');
    expect(error.problems[0]).toContain(MIGRATIONS.at(-1)!.name);

    const forced = await migrate(database, { migrations: edited, force: true });
    expect(forced.checksumsAccepted).toEqual([MIGRATIONS.at(-1)!.name]);
    expect((await getMigrationStatus(database, edited)).counts.changed).toBe(0);
    expect((await getMigrationHistory(database)).map((e) => e.action)).toContain('checksum-accepted');
  });

  it('backs the database up before a schema change, not on a fresh database', async () => {
    const backupDir = join(dir, 'backups');
    await migrate(database, { migrations: MIGRATIONS.slice(0, 1), backupDir });
    expect(existsSync(backupDir)).toBe(false);
    const result = await migrate(database, { migrations: MIGRATIONS, backupDir });
    expect(result.backup?.path).toMatch(/before-migrate\.db$/);
    expect(readdirSync(backupDir)).toHaveLength(1);
    const copy = await openDatabase(`sqlite:${result.backup!.path}`, dir);
    try {
      expect((await copy.listSchema()).map((o) => o.name)).not.toContain('predictions');
    } finally {
      await copy.close();
    }
    // Nothing to do: no backup.
    expect((await migrate(database, { migrations: MIGRATIONS, backupDir })).backup).toBeNull();
  });
});

describe('built-in migrations', () => {
  it('are frozen: their checksums match the ones databases recorded when they were applied', async () => {
    // If this fails you edited an applied migration: every database migrated with the old
    // code will refuse to migrate. Undo the edit and add a new migration (`mlctl db new`).
    const { migrationChecksum } = await import('../../../src/core/db/migration.js');
    expect(Object.fromEntries(MIGRATIONS.map((m) => [m.name, migrationChecksum(m)]))).toMatchObject({
      '0001_create_users': '7329b546f31d6c78b322a901f1b5b588427d9cf90251e549ae302815f6d7ddb2',
      '0002_create_predictions': 'f5899df82dc577bbbcd6ae21cd72a6d65740c7c7956c69a648f87b339a7b8e03',
      '0003_create_drift_histograms': 'bb9918d986da8104289fe631b86fde77f72a4f85345879ce28087db32dc6899b',
    });
    expect(MIGRATIONS.map((m) => m.name)).toEqual([...MIGRATIONS.map((m) => m.name)].sort());
  });
});
