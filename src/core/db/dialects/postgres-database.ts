import { Kysely, PostgresDialect, sql, type PostgresPool } from 'kysely';
import { ExternalError, UsageError } from '../../errors.js';
import { redactDatabaseUrl } from '../db-url.js';
import type { Database, OpenDatabaseOptions, SchemaObject } from '../database.js';
import type { MlctlSchema } from '../schema.js';
import { requirePg } from './pg-driver.js';

/** Any fixed 64-bit key: every mlctl process migrating this database takes the same one. */
const MIGRATION_LOCK_KEY = 7_362_811_905;

/** The part of node-postgres that mlctl uses: its Pool, as Kysely's dialect needs it. */
type PgModule = { Pool: new (config: { connectionString: string; max?: number; allowExitOnIdle?: boolean }) => PostgresPool };

/**
 * node-postgres is an optional dependency, loaded only for postgres:// URLs so that
 * SQLite users neither install nor load it.
 */
async function loadPg(): Promise<PgModule> {
  try {
    // CommonJS: required, as every CommonJS package mlctl loads on demand.
    return requirePg() as PgModule;
  } catch (error) {
    throw new UsageError('POSTGRES_DRIVER_MISSING', 'DATABASE_URL names PostgreSQL but the "pg" package is not installed', {
      hint: 'run `npm install pg` next to mlctl, or use a sqlite: DATABASE_URL',
      cause: error,
    });
  }
}

/** Opens PostgreSQL through Kysely's PostgresDialect on a small node-postgres pool. */
export async function openPostgresDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  const { Pool } = await loadPg();
  // Idle connections do not keep the process alive: a command ends when its work is done.
  const pool = new Pool({ connectionString: url, max: options.poolSize ?? 4, allowExitOnIdle: true });
  // An idle connection the server closes (a restart, a failover, DROP DATABASE … FORCE) is
  // reported on the pool; without a listener that would end the process. The pool drops it
  // and the next query opens a new one: a serve replica outlives a database restart.
  (pool as unknown as { on(event: 'error', listener: (error: Error) => void): void }).on('error', () => undefined);
  const db = new Kysely<MlctlSchema>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy();
    throw new ExternalError('DATABASE_OPEN_FAILED', `cannot connect to ${redactDatabaseUrl(url)}: ${(error as Error).message}`, {
      hint: 'check DATABASE_URL and that the server is running',
      cause: error,
    });
  }
  return {
    dialect: 'postgres',
    target: redactDatabaseUrl(url),
    db,
    async beginLocked(connection) {
      await sql`begin`.execute(connection);
      await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`.execute(connection);
    },
    async insertRows(transaction, table, rows, options = {}) {
      let inserted = 0;
      // 500 rows × a few dozen columns stays below PostgreSQL's 65,535 parameters.
      for (let start = 0; start < rows.length; start += 500) {
        let query = transaction.insertInto(table).values(rows.slice(start, start + 500) as never);
        if (options.skipConflictsOn !== undefined) query = query.onConflict((oc) => oc.column(options.skipConflictsOn as never).doNothing());
        const result = await query.executeTakeFirst();
        inserted += Number(result.numInsertedOrUpdatedRows ?? 0n);
      }
      return inserted;
    },
    backupTo: undefined,
    restoreFrom: undefined,
    async listSchema(executor = db) {
      const result = await sql<SchemaObject>`
        select 'table' as type, table_name as name, null as sql from information_schema.tables
        where table_schema = current_schema()
        union all
        select 'column', table_name || '.' || column_name,
          data_type || case when is_nullable = 'NO' then ' not null' else '' end || coalesce(' default ' || column_default, '')
        from information_schema.columns where table_schema = current_schema()
        union all
        select 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid) from pg_constraint
        where connamespace = current_schema()::regnamespace
        union all
        select 'index' as type, indexname as name, indexdef as sql from pg_indexes
        where schemaname = current_schema()
        order by type, name`.execute(executor);
      return result.rows;
    },
    async close() {
      await db.destroy();
    },
  };
}
