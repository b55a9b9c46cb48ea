import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { DialectName } from '../../db/db-url.js';
import { likeToGlob } from '../run-index.js';
import type { MetricPointsTable, TrackingSchema } from './tracking-schema.js';

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
  /** Rows per multi-row INSERT (bound parameters per statement are limited). */
  readonly insertBatch: number;
  /**
   * Appends metric points (a point already there, by run, key and seq, is kept): the bulk of
   * every write and of an import. PostgreSQL takes them as seven arrays in one statement.
   */
  insertPoints(connection: Kysely<TrackingSchema>, points: readonly MetricPointsTable[]): Promise<void>;
}

/** Metric points as rows of a multi-row INSERT, `batch` rows per statement. */
async function insertPointRows(connection: Kysely<TrackingSchema>, points: readonly MetricPointsTable[], batch: number): Promise<void> {
  for (let start = 0; start < points.length; start += batch) {
    await connection
      .insertInto('tracking_metric_points')
      .values(points.slice(start, start + batch))
      .onConflict((oc) => oc.columns(['run_id', 'key', 'seq']).doNothing())
      .execute();
  }
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
    async insertPoints(connection, points) {
      for (let start = 0; start < points.length; start += 100_000) {
        const part = points.slice(start, start + 100_000);
        const column = <K extends keyof MetricPointsTable>(key: K) => part.map((p) => p[key]);
        await sql`INSERT INTO tracking_metric_points (run_id, key, seq, step, value, special, timestamp)
          SELECT * FROM unnest(${column('run_id')}::text[], ${column('key')}::text[], ${column('seq')}::integer[], ${column('step')}::bigint[],
            ${column('value')}::double precision[], ${column('special')}::text[], ${column('timestamp')}::double precision[])
          ON CONFLICT (run_id, key, seq) DO NOTHING`.execute(connection);
      }
    },
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
    insertPoints: (connection, points) => insertPointRows(connection, points, 4000),
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
