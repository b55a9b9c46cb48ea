import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/core/db/create-database.js';
import type { Database } from '../../../src/core/db/database.js';
import { MIGRATIONS } from '../../../src/core/db/migrations/index.js';
import { migrate } from '../../../src/core/db/migrator.js';
import { hashPredictionInput, listPredictions, recordPredictions } from '../../../src/core/db/predictions-repository.js';
import { validateNewUser, validateUserPatch } from '../../../src/core/db/user-validation.js';
import {
  addUser,
  deleteUser,
  getUser,
  listUsers,
  parseUserFilters,
  parseUserId,
  updateUser,
  userAttributes,
} from '../../../src/core/db/users-repository.js';
import { isMlctlError, type MlctlError } from '../../../src/core/errors.js';

/** The first row of adult.data. */
const ADULT_FIRST = {
  age: '39',
  workclass: 'State-gov',
  fnlwgt: '77516',
  education: 'Bachelors',
  education_num: '13',
  marital_status: 'Never-married',
  occupation: 'Adm-clerical',
  relationship: 'Not-in-family',
  race: 'White',
  sex: 'Male',
  capital_gain: '2174',
  capital_loss: '0',
  hours_per_week: '40',
  native_country: 'United-States',
};

let dir: string;
let database: Database;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mlctl-users-'));
  database = await openDatabase(`sqlite:${join(dir, 'x.db')}`, dir);
  await migrate(database, { migrations: MIGRATIONS });
});

afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    if (isMlctlError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

async function tableSnapshot(): Promise<unknown[]> {
  return database.db.selectFrom('users').selectAll().orderBy('id').execute();
}

describe('user validation', () => {
  it('reports every problem at once', () => {
    const result = validateNewUser({ ...ADULT_FIRST, age: '150', hours_per_week: '0', sex: 'M', education_num: '9', colour: 'blue', race: undefined });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems.map((p) => p.split(':')[0])).toEqual(['colour', 'age', 'race', 'sex', 'hours_per_week', 'education_num']);
    expect(problems.find((p) => p.startsWith('education_num'))).toContain('does not match education "Bachelors"');
  });

  it('parses numbers, canonicalises letter case, derives education_num and treats "?" as missing', () => {
    const { education_num: _, ...withoutNum } = ADULT_FIRST;
    const result = validateNewUser({ ...withoutNum, sex: 'male', occupation: '?' });
    expect(result).toEqual({
      ok: true,
      value: expect.objectContaining({ age: 39, sex: 'Male', education_num: 13, occupation: null, income: null }),
    });
    expect(validateUserPatch({})).toMatchObject({ ok: false });
    expect(validateUserPatch({ education: 'Masters' })).toEqual({ ok: true, value: { education: 'Masters', education_num: 14 } });
  });
});

describe('whole-number fields', () => {
  it('accept decimal digits only: no hex, exponent, binary or octal spelling', () => {
    for (const age of ['0x20', '3e1', '0b11', '0o40', '1_0', '30.0', ' ', 'Infinity']) {
      const result = validateNewUser({ ...ADULT_FIRST, age });
      expect(result.ok, age).toBe(false);
      if (!result.ok) expect(result.problems[0], age).toMatch(/^age: /);
    }
    for (const [age, value] of [['30', 30], [' 030 ', 30], ['+41', 41]] as const) {
      expect(validateNewUser({ ...ADULT_FIRST, age })).toMatchObject({ ok: true, value: { age: value } });
    }
    // JSON numbers (the HTTP route) are numbers already: 30 is 30, 30.5 is not whole.
    expect(validateUserPatch({ age: 30 })).toEqual({ ok: true, value: { age: 30 } });
    expect(validateUserPatch({ age: 30.5 })).toMatchObject({ ok: false });
    expect(validateUserPatch({ age: '0x20' })).toEqual({ ok: false, problems: ['age: must be a whole number in decimal digits, got "0x20"'] });
  });

  it('user ids likewise', () => {
    expect(parseUserId('32')).toBe(32);
    for (const id of ['0x20', '3e1', '1_0', '0']) expect(() => parseUserId(id), id).toThrow(/user id must be a whole number/);
  });
});

describe('users repository', () => {
  it('adds, gets, updates and deletes a user', async () => {
    const added = await addUser(database.db, ADULT_FIRST, new Date('2026-01-01T00:00:00Z'));
    expect(added).toMatchObject({ age: 39, workclass: 'State-gov', source: null, created_at: '2026-01-01T00:00:00.000Z' });
    expect(await getUser(database.db, added.id)).toEqual(added);
    expect(Object.keys(userAttributes(added))).toHaveLength(14);

    const updated = await updateUser(database.db, added.id, { hours_per_week: '45', education: 'Masters' }, new Date('2026-02-01T00:00:00Z'));
    expect(updated).toMatchObject({ hours_per_week: 45, education: 'Masters', education_num: 14, updated_at: '2026-02-01T00:00:00.000Z' });

    await recordPredictions(database.db, [
      { userId: added.id, modelName: 'income', modelVersion: '1', inputHash: hashPredictionInput(userAttributes(added)), label: '<=50K', probability: 0.2, latencyMs: 1.5 },
    ]);
    expect((await deleteUser(database.db, added.id)).id).toBe(added.id);
    expect((await failure(getUser(database.db, added.id))).code).toBe('USER_NOT_FOUND');
    expect((await failure(deleteUser(database.db, added.id))).category).toBe('not-found');
    // The prediction outlives its user.
    expect((await listPredictions(database.db, { modelName: 'income' }))[0]?.user_id).toBeNull();
  });

  it('writes nothing when an add or update is invalid', async () => {
    const kept = await addUser(database.db, ADULT_FIRST);
    const before = await tableSnapshot();
    const addError = await failure(addUser(database.db, { ...ADULT_FIRST, age: '-1', fnlwgt: 'lots' }));
    expect(addError.code).toBe('USER_INVALID');
    expect(addError.problems).toHaveLength(2);
    const updateError = await failure(updateUser(database.db, kept.id, { age: '39', capital_loss: '-5' }));
    expect(updateError.problems).toEqual(['capital_loss: must be between 0 and 1000000, got -5']);
    expect((await failure(updateUser(database.db, kept.id, { education_num: '3' }))).problems[0]).toContain('does not match');
    expect(await tableSnapshot()).toEqual(before);
  });

  it('filters and pages', async () => {
    await addUser(database.db, { ...ADULT_FIRST, age: '60', sex: 'Female', occupation: '' });
    const older = await listUsers(database.db, { where: parseUserFilters(['age>=50', 'sex=female']) });
    expect(older.total).toBe(0); // values are compared as stored: 'Female'
    const women = await listUsers(database.db, { where: parseUserFilters(['age>=50', 'sex=Female', 'occupation=null']) });
    expect(women.users.map((u) => u.age)).toEqual([60]);
    const page = await listUsers(database.db, { limit: 1, offset: 1 });
    expect(page.users).toHaveLength(1);
    expect(page.total).toBeGreaterThanOrEqual(2);
    const error = (() => {
      try {
        parseUserFilters(['height=3', 'age>=old', 'nonsense']);
      } catch (e) {
        return e as MlctlError;
      }
      return undefined;
    })();
    expect(error?.problems).toHaveLength(3);
  });

  it('rejects predictions outside the CHECK constraints and writes none of the batch', async () => {
    const count = async () => (await listPredictions(database.db, { limit: 1000 })).length;
    const before = await count();
    const good = { modelName: 'm', modelVersion: '1', inputHash: 'h', label: '>50K', probability: 0.9, latencyMs: 2 };
    await expect(recordPredictions(database.db, [good, { ...good, probability: 1.5 }])).rejects.toThrow();
    expect(await count()).toBe(before);
    expect(await recordPredictions(database.db, Array.from({ length: 1200 }, () => good))).toBe(1200);
  });
});
