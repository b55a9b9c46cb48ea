import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe } from 'vitest';
import { missingTool } from './tools.js';

/**
 * A real PostgreSQL server for tests: MLCTL_TEST_POSTGRES_URL names it (any database on it;
 * each test file creates and drops its own). `.ci/run` starts one. Whether it is there is
 * decided by test/helpers/tools.ts: skipped with the run's summary line on a developer
 * machine, a failure under CI=true.
 */
export const POSTGRES_URL = process.env.MLCTL_TEST_POSTGRES_URL;

/** `describe` for a suite that needs PostgreSQL (see above). */
export function describeWithPostgres(name: string, body: () => void): void {
  describe.skipIf(missingTool('postgres'))(name, body);
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
