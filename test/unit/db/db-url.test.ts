import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl, redactDatabaseUrl } from '../../../src/core/db/db-url.js';
import { migrationChecksum } from '../../../src/core/db/migration.js';

describe('parseDatabaseUrl', () => {
  it('reads the SQLite spellings, relative to the working folder', () => {
    expect(parseDatabaseUrl('sqlite:./data/mlctl.db', '/w')).toEqual({ dialect: 'sqlite', path: '/w/data/mlctl.db', memory: false });
    expect(parseDatabaseUrl('sqlite:/abs/x.db', '/w')).toMatchObject({ path: '/abs/x.db' });
    expect(parseDatabaseUrl('sqlite:///generated-user.db', '/w')).toMatchObject({ path: '/w/generated-user.db' });
    expect(parseDatabaseUrl('sqlite:////abs/x.db', '/w')).toMatchObject({ path: '/abs/x.db' });
    expect(parseDatabaseUrl('sqlite::memory:', '/w')).toEqual({ dialect: 'sqlite', path: ':memory:', memory: true });
    expect(parseDatabaseUrl('postgresql://u:p@h:5432/db', '/w')).toEqual({ dialect: 'postgres', url: 'postgresql://u:p@h:5432/db' });
  });

  it('rejects what it cannot read with a usage error that hides the password', () => {
    for (const url of ['mysql://u:secret@h/db', 'sqlite:', 'sqlite://host/x.db']) {
      expect(() => parseDatabaseUrl(url, '/w')).toThrow(expect.objectContaining({ code: 'DATABASE_URL_INVALID', category: 'usage' }));
    }
    expect(() => parseDatabaseUrl('mysql://u:secret@h/db', '/w')).toThrow(/u:\*\*\*@h/);
    expect(redactDatabaseUrl('postgres://me:pw@db:5432/x')).toBe('postgres://me:***@db:5432/x');
  });
});

describe('migrationChecksum', () => {
  const up = async (db: any): Promise<void> => {
    await db.schema.createTable('t').addColumn('x', 'integer').execute();
  };
  const down = async (db: any): Promise<void> => {
    await db.schema.dropTable('t').execute();
  };

  it('ignores how the code is printed but not what it does', () => {
    const reformatted = {
      up: { toString: () => 'async (db) => {\n  await db.schema.createTable("t").addColumn("x", "integer",).execute()\n}' },
      down,
    } as unknown as Parameters<typeof migrationChecksum>[0];
    const base = migrationChecksum({ up, down });
    expect(migrationChecksum(reformatted)).toBe(base);
    const edited = { up: async (db: any) => db.schema.createTable('t').addColumn('y', 'integer').execute(), down };
    expect(migrationChecksum(edited)).not.toBe(base);
  });
});
