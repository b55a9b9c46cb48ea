import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'vitest';

/**
 * A real PostgreSQL server for tests: MLCTL_TEST_POSTGRES_URL names it (any database on it;
 * each test file creates and drops its own). `.ci/run` starts one. Without it a suite is
 * skipped with one line saying so on a developer machine, and fails under CI=true, where a
 * skipped database test would hide a regression.
 */
export const POSTGRES_URL = process.env.MLCTL_TEST_POSTGRES_URL;
const IN_CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false' && process.env.CI !== '0';

/** `describe` for a suite that needs PostgreSQL (see above). */
export function describeWithPostgres(name: string, body: () => void): void {
  if (POSTGRES_URL !== undefined) {
    describe(name, body);
    return;
  }
  if (IN_CI) {
    describe(name, () => {
      it('has a PostgreSQL server to test against', () => {
        throw new Error('MLCTL_TEST_POSTGRES_URL is not set: CI must provide PostgreSQL (.ci/run starts one on 127.0.0.1:55432)');
      });
    });
    return;
  }
  process.stderr.write(`skipped "${name}": no PostgreSQL server (set MLCTL_TEST_POSTGRES_URL=postgres://user@host:port/db to run it)\n`);
  describe.skip(name, body);
}

interface PgPool {
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
}

/** A fresh, empty database on the test server; `drop()` removes it (closing any connection left). */
export async function createTestDatabase(prefix = 'mlctl_test'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const { Pool } = createRequire(import.meta.url)('pg') as { Pool: new (options: { connectionString: string; max: number }) => PgPool };
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new Pool({ connectionString: POSTGRES_URL as string, max: 1 });
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL as string);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const pool = new Pool({ connectionString: POSTGRES_URL as string, max: 1 });
      try {
        await pool.query(`drop database if exists ${name} with (force)`);
      } finally {
        await pool.end();
      }
    },
  };
}
