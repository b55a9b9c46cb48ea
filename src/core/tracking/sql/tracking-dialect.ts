import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DialectName } from '../../db/db-url.js';
import { likeToGlob } from '../run-index.js';
import type { TrackingSchema } from './tracking-schema.js';

/**
 * What the SQL tracking store does differently on each database, in one place (the queries
 * themselves are Kysely's, the same everywhere).
 */
export interface TrackingDialect {
  readonly name: DialectName;
  /**
   * Starts a transaction that will write. SQLite takes the write lock at once (BEGIN
   * IMMEDIATE), so concurrent writers queue under the busy timeout instead of failing when a
   * read turns into a write; PostgreSQL locks the rows each statement touches.
   */
  begin(connection: Kysely<TrackingSchema>): Promise<void>;
  /** `column LIKE pattern`, case-sensitive, with `%`, `_` and backslash escapes. */
  like(column: RawBuilder<unknown>, pattern: string, negate: boolean): RawBuilder<unknown>;
  /** `column ILIKE pattern`: the same, ignoring case. */
  ilike(column: RawBuilder<unknown>, pattern: string): RawBuilder<unknown>;
  /** Rows per multi-row INSERT of metric points (bound parameters per statement are limited). */
  readonly insertBatch: number;
}

export const TRACKING_DIALECTS: Readonly<Record<DialectName, TrackingDialect>> = {
  postgres: {
    name: 'postgres',
    async begin(connection) {
      await sql`begin`.execute(connection);
    },
    like: (column, pattern, negate) => (negate ? sql`${column} NOT LIKE ${pattern}` : sql`${column} LIKE ${pattern}`),
    ilike: (column, pattern) => sql`${column} ILIKE ${pattern}`,
    insertBatch: 5000,
  },
  sqlite: {
    name: 'sqlite',
    async begin(connection) {
      await sql`begin immediate`.execute(connection);
    },
    // SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive match.
    like: (column, pattern, negate) => (negate ? sql`${column} NOT GLOB ${likeToGlob(pattern)}` : sql`${column} GLOB ${likeToGlob(pattern)}`),
    ilike: (column, pattern) => sql`${column} LIKE ${pattern} ESCAPE '\\'`,
    insertBatch: 4000,
  },
};

/**
 * Runs `fn` in one write transaction on one connection: committed when it returns, rolled
 * back when it throws. Every change the store makes goes through here.
 */
export async function inTransaction<T>(db: Kysely<TrackingSchema>, dialect: TrackingDialect, fn: (trx: Kysely<TrackingSchema>) => Promise<T>): Promise<T> {
  return db.connection().execute(async (connection) => {
    await dialect.begin(connection);
    let result: T;
    try {
      result = await fn(connection);
    } catch (error) {
      await sql`rollback`.execute(connection).catch(() => undefined);
      throw error;
    }
    await sql`commit`.execute(connection);
    return result;
  });
}
