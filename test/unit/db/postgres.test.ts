import { randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/core/db/create-database.js';
import type { Database } from '../../../src/core/db/database.js';
import { defineMigration } from '../../../src/core/db/migration.js';
import { MIGRATIONS } from '../../../src/core/db/migrations/index.js';
import { getMigrationStatus, migrate, rollback } from '../../../src/core/db/migrator.js';
import { prunePredictions, recordPredictions } from '../../../src/core/db/predictions-repository.js';
import { addUser, deleteUser, getUser, listUsers, parseUserFilters } from '../../../src/core/db/users-repository.js';
import { locateTool, missingTool } from '../../helpers/tools.js';

/**
 * The same migrator and repositories against a real PostgreSQL server. Runs when
 * MLCTL_TEST_POSTGRES_URL names a server (any database on it; a fresh database is created
 * and dropped), e.g. postgres://postgres@localhost:5432/postgres; .ci/run starts one.
 * Skipped otherwise (a failure with CI=true: see test/helpers/tools.ts).
 */
const noPostgres = missingTool('postgres');
const adminUrl = noPostgres ? undefined : locateTool('postgres');

describe.skipIf(noPostgres)('PostgreSQL dialect', () => {
  const name = `mlctl_test_${randomBytes(4).toString('hex')}`;
  let admin: Database;
  let database: Database;
  let url: string;

  beforeAll(async () => {
    admin = await openDatabase(adminUrl as string, process.cwd());
    await sql.raw(`create database ${name}`).execute(admin.db);
    const parsed = new URL(adminUrl as string);
    parsed.pathname = `/${name}`;
    url = parsed.toString();
    database = await openDatabase(url, process.cwd());
  });

  afterAll(async () => {
    await database?.close();
    await sql.raw(`drop database if exists ${name}`).execute(admin.db);
    await admin?.close();
  });

  it('two migrators at once: one applies everything, the other finds nothing left', async () => {
    const other = await openDatabase(url, process.cwd());
    try {
      const results = await Promise.all([migrate(database, { migrations: MIGRATIONS }), migrate(other, { migrations: MIGRATIONS })]);
      expect(results.map((r) => r.steps.length).sort()).toEqual([0, MIGRATIONS.length]);
    } finally {
      await other.close();
    }
  });

  it('round-trips the schema and rolls a failing migration back', async () => {
    const migrated = await database.listSchema();
    await rollback(database, { migrations: MIGRATIONS, to: 'base' });
    expect((await database.listSchema()).filter((o) => !o.name.startsWith('mlctl_'))).toEqual([]);
    await migrate(database, { migrations: MIGRATIONS });
    expect(await database.listSchema()).toEqual(migrated);

    const failing = defineMigration('0099_fails', {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('users').addColumn('nickname', 'text').execute();
        await sql`select * from no_such_table`.execute(db);
      },
      async down() {},
    });
    await expect(migrate(database, { migrations: [...MIGRATIONS, failing] })).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    expect(await database.listSchema()).toEqual(migrated);
    expect((await getMigrationStatus(database, [...MIGRATIONS, failing])).counts.pending).toBe(1);
  });

  it('stores, filters and deletes users; predictions keep their rows', async () => {
    const user = await addUser(database.db, {
      age: 39, workclass: 'State-gov', fnlwgt: 77516, education: 'Bachelors', marital_status: 'Never-married', occupation: 'Adm-clerical',
      relationship: 'Not-in-family', race: 'White', sex: 'Male', capital_gain: 2174, capital_loss: 0, hours_per_week: 40, native_country: 'United-States',
    });
    expect(await getUser(database.db, user.id)).toEqual(user);
    const page = await listUsers(database.db, { where: parseUserFilters(['age>=30', 'native_country=United-States']) });
    expect(page).toMatchObject({ total: 1 });
    expect(await recordPredictions(database.db, [{ userId: user.id, modelName: 'income', modelVersion: '1', inputHash: 'h', label: '<=50K', probability: 0.1, latencyMs: 1 }])).toBe(1);
    await deleteUser(database.db, user.id);
    const rows = await database.db.selectFrom('predictions').select('user_id').execute();
    expect(rows).toEqual([{ user_id: null }]);
  });
  it('prunes predictions by age and by count in primary-key windows', async () => {
    const old = Array.from({ length: 250 }, () => ({ modelName: 'income', modelVersion: 'old', inputHash: 'h', label: '<=50K', probability: 0.1, latencyMs: 1, createdAt: '2020-01-01T00:00:00.000Z' }));
    const recent = Array.from({ length: 30 }, () => ({ modelName: 'income', modelVersion: 'new', inputHash: 'h', label: '<=50K', probability: 0.1, latencyMs: 1 }));
    await recordPredictions(database.db, [...old, ...recent]);
    const before = Number((await database.db.selectFrom('predictions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    expect(await prunePredictions(database.db, { maxAgeMs: 30 * 86_400_000 }, { batchRows: 100 })).toEqual({ byAge: 250, byCount: 0 });
    expect(await prunePredictions(database.db, { maxRows: 10 }, { batchRows: 7 })).toEqual({ byAge: 0, byCount: before - 250 - 10 });
    const left = await database.db.selectFrom('predictions').select('model_version').execute();
    expect(left).toHaveLength(10);
    expect(new Set(left.map((r) => r.model_version))).toEqual(new Set(['new']));
  });
});
